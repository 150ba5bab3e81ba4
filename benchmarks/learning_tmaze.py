"""Does the T-maze policy really learn to remember? Seeds x cells x corridor lengths, with ``minirnn train
tmaze``'s defaults, and the memoryless control beside them.

    python benchmarks/learning_tmaze.py --rows corridor50           # 5 seeds of GRU, LSTM, control at N=50
    python benchmarks/learning_tmaze.py --rows sweep --seeds 0 1 2  # steps to 95% against corridor length
    python benchmarks/learning_tmaze.py --table                     # the table and figure from saved results

Each run trains with the command line's settings (H, batch, Adam lr, clipping, REINFORCE with a value
baseline) and evaluates the greedy policy on 200 held-out episodes every 100 steps, and stops at the first
evaluation >= 0.95 (the bar) or at the default budget (``DEFAULT_STEPS``), recording that step and that
success. ``corridor50`` is the claim (5 seeds of each cell and of the control at N=50); ``sweep`` the same at
other lengths: how long it
takes to find the memory.
Results accumulate in ``--results`` (JSON lines, one whole line appended per run, never rewritten); the table
takes the latest run of each (row, cell, corridor, seed), and ``--figure`` is redrawn from them (atomically).
Ctrl-C stops the sweep with status 130: the runs finished are in ``--results``, the one under way is dropped.
This is not a timed test: it prints numbers, the README quotes them.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: BLAS threads only fight over the cores

import argparse  # noqa: E402
import time  # noqa: E402

import _output  # noqa: E402
import numpy as np  # noqa: E402

from minirnn.cli.train_tmaze import _DEFAULTS, DEFAULT_STEPS  # noqa: E402
from minirnn.training.rl.reinforce import tmaze_experiment, train_until  # noqa: E402

CELLS = ("gru", "lstm", "none")
ROWS = {
    "corridor50": {"corridors": (50,), "stop_at_bar": True},
    "sweep": {"corridors": (5, 10, 20, 35, 50), "stop_at_bar": True},
}
BAR, EVAL_EVERY = 0.95, 100
PROG = "learning_tmaze.py"


def run(row, cell, corridor, seed, steps=DEFAULT_STEPS):
    """Train one policy; returns a JSON-able result row."""
    st = _DEFAULTS
    exp = tmaze_experiment(
        cell,
        corridor=corridor,
        hidden=st["hidden"],
        batch=st["batch"],
        seed=seed,
        forget_bias=1.0 if cell == "lstm" else None,
    )
    t0 = time.perf_counter()
    reached, evals = train_until(
        exp, BAR, steps, every=EVAL_EVERY, lr=st["lr"], clip_norm=st["clip"], stop=ROWS[row]["stop_at_bar"]
    )
    seconds = time.perf_counter() - t0
    return {
        "row": row,
        "cell": cell,
        "corridor": corridor,
        "seed": seed,
        "budget": steps,
        "success": evals[-1],
        "steps_to_bar": reached,
        "evals": evals,
        "seconds": seconds,
        "hidden": st["hidden"],
        "batch": st["batch"],
        "lr": st["lr"],
        "baseline": exp.baseline[1],
    }


def latest(path) -> list:
    """The latest saved run of each (row, cell, corridor, seed) (none without a file; torn lines skipped)."""
    rows = {}
    for r in _output.read_jsonl(path):
        rows[(r["row"], r["cell"], r["corridor"], r["seed"])] = r
    return list(rows.values())


def table(rows) -> str:
    """Markdown: per row, cell and corridor, the seeds, how many reached the bar, median and range."""
    lines = [
        "| runs | cell | corridor | seeds | reached >= 0.95 | held-out success: median (range) | "
        "steps to 0.95: median (range) | time per run |",
        "|---|---|---|---|---|---|---|---|",
    ]
    groups = {}
    for r in rows:
        groups.setdefault((r["row"], r["cell"], r["corridor"]), []).append(r)
    for (row, cell, corridor), rs in sorted(groups.items()):
        s = np.array([r["success"] for r in rs])
        k = [r["steps_to_bar"] for r in rs if r["steps_to_bar"] is not None]
        ks = f"{np.median(k):.0f} ({min(k)}-{max(k)})" if k else "-"
        name = {"none": "memoryless", "lstm": "LSTM (forget bias 1)", "gru": "GRU"}[cell]
        budget = "to 0.95" if ROWS[row]["stop_at_bar"] else f"{rs[0]['budget']} steps"
        lines.append(
            f"| {row} ({budget}) | {name} | {corridor} | {len(rs)} | {len(k)}/{len(rs)} | "
            f"{np.median(s):.3f} ({s.min():.3f}-{s.max():.3f}) | {ks} | "
            f"{np.median([r['seconds'] for r in rs]):.0f} s |"
        )
    return "\n".join(lines)


def figure(rows, path):
    """Steps to reach 0.95 against corridor length, per cell: median and range over seeds (the sweep's runs
    and the
    corridor50 runs, which record the same step on their way to the whole budget)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4))
    for cell, color in (("gru", "tab:green"), ("lstm", "tab:blue")):
        rs = [r for r in rows if r["cell"] == cell]
        Ns = sorted({r["corridor"] for r in rs})
        med, lo, hi = [], [], []
        for N in Ns:
            k = [r["steps_to_bar"] or r["budget"] for r in rs if r["corridor"] == N]
            med.append(np.median(k)), lo.append(min(k)), hi.append(max(k))
        ax.errorbar(
            Ns,
            med,
            yerr=[np.subtract(med, lo), np.subtract(hi, med)],
            fmt="o-",
            color=color,
            capsize=3,
            label={"gru": "GRU", "lstm": "LSTM, forget bias 1"}[cell],
        )
    ax.set_xlabel("corridor length N", fontsize=10)
    ax.set_ylabel("training steps to 95% held-out success", fontsize=10)
    ax.set_title("median and range over seeds (a run that never got there: its budget)", fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    _output.write_png(fig, path)
    return fig


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--cells", nargs="*", default=list(CELLS), choices=list(CELLS))
    parser.add_argument("--corridors", nargs="*", type=int, default=None, help="override the row's corridors")
    parser.add_argument("--seeds", nargs="*", type=int, default=[0, 1, 2, 3, 4])
    parser.add_argument("--results", default="benchmarks/learning_tmaze_results.jsonl")
    parser.add_argument("--figure", default="docs/tmaze_sweep.png")
    parser.add_argument("--table", action="store_true", help="only print the table of saved results")
    args = parser.parse_args(argv)
    for flag, path in (("--results", args.results), ("--figure", args.figure)):
        if _output.refuse(PROG, flag, path, [path], overwrite=True):  # a folder that is missing, ...
            return 2
    if not args.table:
        appended = []
        try:
            _sweep(args, appended)
        except KeyboardInterrupt:
            return _output.interrupted_appending(PROG, args.results, len(appended))
    rows = latest(args.results)
    print(table(rows))
    if any(r["cell"] != "none" for r in rows):
        figure(rows, args.figure)
        print(f"\nfigure: {args.figure}")
    return 0


def _sweep(args, appended):
    """Train every (row, corridor, cell, seed) asked for, appending each result to ``--results`` (and to
    ``appended``) as it finishes."""
    for row in args.rows:
        for corridor in args.corridors or ROWS[row]["corridors"]:
            for cell in args.cells:
                if row == "sweep" and cell == "none":
                    continue  # the control never reaches the bar: nothing to sweep
                for seed in args.seeds:
                    r = run(row, cell, corridor, seed)
                    print(
                        f"{row} {cell} N={corridor} seed {seed}: success={r['success']:.3f} "
                        f"(0.95 at step {r['steps_to_bar']}) in {r['seconds']:.0f} s",
                        flush=True,
                    )
                    _output.append_jsonl(args.results, r)
                    appended.append(r)


if __name__ == "__main__":
    sys.exit(main())
