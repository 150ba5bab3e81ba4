"""Does it really learn? Each configuration trained with the defaults of ``minirnn train`` over several seeds.

    python benchmarks/learning.py --rows adding-T100            # 4 configurations x 5 seeds, resumable
    python benchmarks/learning.py --rows adding-T50 --seeds 5 --n-jobs 2
    python benchmarks/learning.py --table                        # table and figure from the saved results
    only

Every run's result is appended to ``--results`` (JSON lines) the moment it finishes; rerunning the same
command skips the runs already there, so an interrupted sweep resumes where it stopped. Runs go in parallel
through joblib (``--n-jobs``, local processes); on a Dask or Ray cluster wrap :func:`main` in
``joblib.parallel_config(backend=...)`` (see ``minirnn/analysis/sweep.py``).

Rows (task, T, configurations, steps):
    adding-T50   adding problem, T=50:  tanh RNN, LSTM, LSTM forget bias 1, GRU; 5000 steps
    adding-T100  adding problem, T=100: the same four; 5000 steps
    char         character LM on the stdlib corpus, LSTM, 2000 steps   bar: below the bigram model (bits/char)
    forecast     Nino 3.4 SST next month, LSTM, 1500 steps              bar: below "repeat the last value"
                 (a weak bar; notebook 6 sets the GRU against least-squares AR(24) and climatology +
                 anomaly baselines, 1-12 months ahead, over 5 seeds)
    classify     frequency bands, LSTM / GRU, 1500 steps                    bar: far above the majority class
    video        moving digits, 5 seeds with controls: ``--video`` runs benchmarks/video.py (its own table)

Settings are those of ``minirnn train`` (H=64 for adding, batch 32, Adam lr 1e-3, gradient norm clipped to 1).
Solved (adding problem): held-out MSE below :data:`SOLVED_MSE` = 0.05 at the end of the run; predicting 1
scores 1/6, a model that remembers only one of the two numbers (and the mean 0.5 for the other) scores 1/12.
"""

from __future__ import annotations

import os

# Tiny matrices: OpenBLAS threads only fight over the cores (measured 7x slower per step on a loaded
# 2-core machine).
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

#: The adding problem counts as solved below this held-out MSE (1/6 = predict 1; 1/12 = remember one number).
SOLVED_MSE = 0.05
ADDING = ("lstm:default", "lstm:forget_bias_1", "gru:default", "rnn:default")  # the RNN drawn last, on top
ROWS = {
    "adding-T50": [("adding", c, 50, 5000) for c in ADDING],
    "adding-T100": [("adding", c, 100, 5000) for c in ADDING],
    "char": [("char", "lstm:default", None, 2000)],
    "forecast": [("forecast", "lstm:default", None, 1500)],
    "classify": [("classify", c, None, 1500) for c in ("lstm:default", "gru:default")],
}
INITS = {"default": "PyTorch default", "forget_bias_1": "forget bias 1 (Keras)", "chrono": "chrono"}


def _apply_init(layer, init, T):
    from minirnn import init as nninit

    if init == "forget_bias_1":
        nninit.forget_bias_(layer, 1.0)
    elif init == "chrono":
        nninit.chrono_(layer, T_max=T, rng=0)
    elif init != "default":
        raise ValueError(f"init must be one of {tuple(INITS)}, got {init!r}")


def run(task, config, T, steps, seed=0):
    """Train one model with the command line's defaults; returns a JSON-able result dict."""
    from minirnn import experiments, train
    from minirnn.optim import Adam

    cell, init = config.split(":")
    exp = experiments.make(task, cell=cell, T=T, seed=seed)
    _apply_init(exp.model.rnn, init, exp.info.get("T") or 100)
    t0 = time.perf_counter()
    history = train.fit(
        exp.model,
        Adam(exp.model, lr=1e-3),
        exp.train_step,
        steps,
        rng=exp.rng,
        evaluate=exp.evaluate,
        eval_every=max(1, steps // 20),
        clip_norm=1.0,
        progress=False,
    )
    seconds = time.perf_counter() - t0
    value = history["eval"][exp.metric][-1]
    beats = value < exp.baseline[1] if exp.lower_is_better else value > exp.baseline[1]
    row = {
        "value": value,
        "metric": exp.metric,
        "baseline_name": exp.baseline[0],
        "baseline": exp.baseline[1],
        "beats_baseline": bool(beats),
        "T": exp.info.get("T"),
        "hidden": exp.model_config["hidden_size"],
        "seconds": seconds,
        "ms_per_step": 1000 * seconds / steps,
        "eval_step": history["eval_step"],
        "eval": history["eval"][exp.metric],
    }
    if task == "adding":
        row["solved"] = bool(value < SOLVED_MSE)
        row["solved_at"] = next(
            (s for s, v in zip(history["eval_step"], row["eval"]) if v < SOLVED_MSE), None
        )
    if task == "char":
        row["bits_per_char"], row["baseline_bits"] = value / math.log(2), exp.baseline[1] / math.log(2)
        row["sample"] = exp.model.sample("def ", 300, temperature=0.8, seed=seed)
    return row


def jobs(rows, seeds):
    """The job dicts of the chosen rows, ``seeds`` seeds each."""
    return [
        {"task": task, "config": config, "T": T, "steps": steps, "seed": s}  # seed-major: a sweep cut
        for name in rows
        for s in range(seeds)
        for task, config, T, steps in ROWS[name]
    ]  # short stays balanced


def groups(results):
    """Results grouped by configuration: dict (task, T, config, steps) -> list of rows (by seed)."""
    out = {}
    for r in sorted(results, key=lambda r: r["job"]["seed"]):
        j = r["job"]
        out.setdefault((j["task"], r["T"], j["config"], j["steps"]), []).append(r)
    return out


TASK_LABELS = {
    "adding": "adding",
    "char": "char (stdlib source)",
    "forecast": "forecast (Niño 3.4)",
    "classify": "classify",
}
METRIC_LABELS = {"test_mse": "MSE", "accuracy": "accuracy", "bits": "bits/char"}


def _label(config) -> str:
    """'lstm:forget_bias_1' -> 'LSTM, forget bias 1 (Keras)'."""
    from minirnn.cells import registry

    cell, init = config.split(":")
    return f"{registry.get(cell).title}, {INITS[init]}"


def _row_order(key):
    task, T, config, _ = key
    return (list(TASK_LABELS).index(task), T or 0, _order(config))


def table(results) -> str:
    """One Markdown line per configuration: seeds, success rate (adding: held-out MSE < SOLVED_MSE; else runs
    beating the baseline), held-out metric median [min, max], the baseline, and the steps at which each seed
    was solved."""
    from minirnn.analysis.sweep import summarize

    lines = [
        "| task | T | configuration | steps | seeds | success | held-out metric: median [min, max] | "
        "baseline | solved at step (each seed) |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, rows in sorted(groups(results).items(), key=lambda kv: _row_order(kv[0])):
        task, T, config, steps = key
        ok = [r.get("solved", r["beats_baseline"]) for r in rows]
        s = summarize([r["value"] for r in rows], ok)
        what = f"MSE < {SOLVED_MSE}" if task == "adding" else "beats baseline"
        at = [str(r["solved_at"]) for r in rows if r.get("solved_at") is not None]
        conv = (lambda v: v / math.log(2)) if task == "char" else (lambda v: v)
        metric = "bits/char" if task == "char" else METRIC_LABELS.get(rows[0]["metric"], rows[0]["metric"])
        digits = ".4f" if task == "adding" else ".3f"
        lines.append(
            f"| {TASK_LABELS[task]} | {T or ''} | {_label(config)} | {steps} | {s['n']} | "
            f"{s['solved']}/{s['n']} ({what}) | {metric} {conv(s['median']):{digits}} "
            f"[{conv(s['min']):{digits}}, {conv(s['max']):{digits}}] | "
            f"{rows[0]['baseline_name']}: {conv(rows[0]['baseline']):.3f} | {', '.join(at) or '-'} |"
        )
    return "\n".join(lines)


def _order(config):
    return ADDING.index(config) if config in ADDING else -1


def figure(results, path):
    """Held-out MSE of the adding problem against steps: every seed thin, the median thick; one panel per
    T."""
    import matplotlib

    matplotlib.use("Agg")
    from minirnn.analysis import style
    from minirnn.cells import registry

    adding = {k: v for k, v in groups(results).items() if k[0] == "adding"}
    Ts = sorted({k[1] for k in adding})
    if not Ts:
        return None
    styles = {"default": "-", "forget_bias_1": "--", "chrono": ":"}
    with style.house():
        fig, axes = style.figure(len(Ts), 5.4, 4.6, sharey=True)
        for ax, T in zip(axes, Ts):
            for (task, T_, config, steps), rows in sorted(adding.items(), key=lambda kv: _order(kv[0][2])):
                if T_ != T:
                    continue
                cell, init = config.split(":")
                c, ls = style.color(cell), styles[init]
                evals = np.array([r["eval"] for r in rows])
                for e in evals:
                    ax.plot(rows[0]["eval_step"], e, color=c, ls=ls, lw=0.8, alpha=0.35)
                solved = sum(r["solved"] for r in rows)
                name = registry.get(cell).title
                ax.plot(
                    rows[0]["eval_step"],
                    np.median(evals, axis=0),
                    color=c,
                    ls=ls,
                    lw=4.0 - 0.8 * _order(config),
                    alpha=0.9,  # wide first, narrow on top: all show
                    label=f"{name}, {INITS[init]}: {solved}/{len(rows)} solved",
                )
            ax.axhline(1 / 6, color="0.2", ls="--", lw=1.2, label="predict 1: MSE 1/6")
            ax.axhline(1 / 12, color="0.2", ls=":", lw=1.2, label="remember one number: 1/12")
            ax.axhline(SOLVED_MSE, color="0.5", ls="-.", lw=1, label=f"solved: MSE < {SOLVED_MSE}")
            ax.set_yscale("log")
            ax.set_title(f"adding problem, T = {T}")
            ax.set_xlabel("training step")
        axes[0].set_ylabel("held-out MSE (thin: each seed; thick: median)")
        for ax in axes:
            ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.16), frameon=False)
        style.save(fig, path)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--seeds", type=int, default=5, help="seeds per configuration (default 5)")
    parser.add_argument("--n-jobs", type=int, default=-1, help="parallel runs (joblib; default: every core)")
    parser.add_argument("--results", default="benchmarks/results/learning.jsonl")
    parser.add_argument("--figure", default="benchmarks/vanishing_adding.png")
    parser.add_argument("--table", action="store_true", help="only print the table of saved results")
    parser.add_argument(
        "--video", action="store_true", help="the video rows over 5 seeds (benchmarks/video.py)"
    )
    args = parser.parse_args(argv)
    if args.video:
        import video  # benchmarks/video.py, next to this file

        return video.main([])
    from minirnn.analysis.sweep import load, sweep

    if not args.table:
        sweep(run, jobs(args.rows, args.seeds), args.results, n_jobs=args.n_jobs, desc="learning runs")
    results = load(args.results)
    if not results:
        parser.error(f"--results {args.results!r} holds no finished run (run the sweep first, no --table)")
    print(table(results))
    for r in results:
        if "sample" in r:
            print(
                f"\nsample of the {r['job']['config']} character model, seed {r['job']['seed']} "
                "(prime 'def ', "
                f"temperature 0.8):\n{r['sample']}"
            )
    if figure(results, args.figure) is not None:
        print(f"\nfigure: {args.figure}")


if __name__ == "__main__":
    main()
