"""Does it really learn? Every task trained with the defaults of ``minirnn train``, against its baseline.

    python benchmarks/learning.py                     # everything (about an hour on 2 busy cores)
    python benchmarks/learning.py --rows adding-T50   # some rows; results accumulate in --results
    python benchmarks/learning.py --table             # print the table and draw the figure from saved results

Rows (task, T, cells, steps):
    adding-T50   adding problem, T=50,  LSTM / GRU / tanh RNN, 5000 steps   bar: LSTM and GRU test MSE < 0.01
    adding-T100  adding problem, T=100, LSTM / GRU / tanh RNN, 5000 steps   the tanh RNN stays near 0.167
    char         character LM on the stdlib corpus, LSTM, 2000 steps        bar: below the bigram model's loss
    forecast     Nino 3.4 SST next month, LSTM, 1500 steps                  bar: below "repeat the last value"
    classify     frequency bands, LSTM / GRU, 1500 steps                     bar: far above the majority class
    video        moving digits, 5 seeds with controls: ``--video`` runs benchmarks/video.py (its own table)

Settings are those of ``minirnn train`` (H=64 for adding, batch 32, Adam lr 1e-3, gradient norm clipped to 1).
The figure (``--figure``) shows the held-out MSE of the adding problem against steps, per cell, at T=50 and T=100.
This is not a timed test: it prints numbers, the README quotes them.
"""
from __future__ import annotations

import os

# Tiny matrices: OpenBLAS threads only fight over the cores (measured 7x slower per step on a loaded 2-core machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

from minirnn import experiments, train  # noqa: E402
from minirnn.optim import Adam  # noqa: E402

ROWS = {
    "adding-T50": [("adding", c, 50, 5000) for c in ("lstm", "gru", "rnn")],
    "adding-T100": [("adding", c, 100, 5000) for c in ("rnn", "gru", "lstm")],
    "char": [("char", "lstm", None, 2000)],
    "forecast": [("forecast", "lstm", None, 1500)],
    "classify": [("classify", c, None, 1500) for c in ("lstm", "gru")],
}


def run(task, cell, T, steps, seed=0):
    """Train one model with the command line's defaults; returns a JSON-able result row."""
    exp = experiments.make(task, cell=cell, T=T, seed=seed)
    t0 = time.perf_counter()
    history = train.fit(exp.model, Adam(exp.model, lr=1e-3), exp.train_step, steps, rng=exp.rng,
                        evaluate=exp.evaluate, eval_every=max(1, steps // 20), clip_norm=1.0, progress=False)
    seconds = time.perf_counter() - t0
    value = history["eval"][exp.metric][-1]
    beats = value < exp.baseline[1] if exp.lower_is_better else value > exp.baseline[1]
    row = {"task": task, "cell": cell, "T": exp.info["T"], "hidden": exp.model_config["hidden_size"],
           "steps": steps, "metric": exp.metric, "value": value, "baseline_name": exp.baseline[0],
           "baseline": exp.baseline[1], "beats_baseline": bool(beats), "seconds": seconds,
           "ms_per_step": 1000 * seconds / steps, "eval_step": history["eval_step"],
           "eval": history["eval"][exp.metric]}
    if task == "char":
        row["sample"] = exp.model.sample("def ", 300, temperature=0.8, seed=seed)
    return row


def table(rows) -> str:
    """The results as a Markdown table."""
    lines = ["| task | T | cell | H | steps | held-out metric | baseline | wall time |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(f"| {r['task']} | {r['T']} | {r['cell']} | {r['hidden']} | {r['steps']} | "
                     f"{r['metric']}={r['value']:.4g} | {r['baseline_name']}: {r['baseline']:.4g} | "
                     f"{r['seconds']:.0f} s ({r['ms_per_step']:.0f} ms/step) |")
    return "\n".join(lines)


def figure(rows, path):
    """Held-out MSE of the adding problem against steps, one line per cell, one panel per T."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    adding = [r for r in rows if r["task"] == "adding"]
    Ts = sorted({r["T"] for r in adding})
    fig, axes = plt.subplots(1, len(Ts), figsize=(5 * len(Ts), 4), sharey=True, squeeze=False)
    colors = {"rnn": "tab:red", "lstm": "tab:blue", "gru": "tab:green"}
    for ax, T in zip(axes[0], Ts):
        for r in [r for r in adding if r["T"] == T]:
            ax.plot(r["eval_step"], r["eval"], "o-", ms=3, color=colors[r["cell"]], label=r["cell"].upper())
        ax.axhline(1 / 6, color="gray", ls="--", label="baseline (predict 1) = 1/6")
        ax.set_yscale("log")
        ax.set_title(f"adding problem, T={T}")
        ax.set_xlabel("training step")
        ax.grid(alpha=0.3)
    axes[0][0].set_ylabel("held-out MSE")
    axes[0][0].legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--results", default="benchmarks/learning_results.jsonl")
    parser.add_argument("--figure", default="benchmarks/vanishing_adding.png")
    parser.add_argument("--table", action="store_true", help="only print the table of saved results")
    parser.add_argument("--video", action="store_true", help="the video rows over 5 seeds (benchmarks/video.py)")
    args = parser.parse_args(argv)
    if args.video:
        import video                                          # benchmarks/video.py, next to this file
        return video.main([])
    if not args.table:
        for name in args.rows:
            for task, cell, T, steps in ROWS[name]:
                row = run(task, cell, T, steps)
                print(f"{task} T={row['T']} {cell}: {row['metric']}={row['value']:.4g} "
                      f"(baseline {row['baseline']:.4g}) in {row['seconds']:.0f} s", flush=True)
                if "sample" in row:
                    print(row["sample"])
                with open(args.results, "a") as f:
                    f.write(json.dumps(row) + "\n")
    rows = {}
    with open(args.results) as f:
        for line in f:
            r = json.loads(line)
            rows[(r["task"], r["T"], r["cell"])] = r          # the latest run of each configuration
    rows = list(rows.values())
    print(table(rows))
    for r in rows:
        if "sample" in r:
            print(f"\nsample of the {r['cell']} character model (prime 'def ', temperature 0.8):\n{r['sample']}")
    figure(rows, args.figure)
    print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
