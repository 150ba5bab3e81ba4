"""Video classification over seeds: does the LRCN model read the order of frames, and do the controls stay
blind?

    python benchmarks/video.py                           # every row, 5 seeds (hours on a busy 2-core machine)
    python benchmarks/video.py --rows memory --cells gru # some rows / cells; results accumulate in --results
    python benchmarks/video.py --table                   # the README's table from the saved results

Each run's row is appended whole to ``--results`` (JSON lines) as it ends, never rewritten; Ctrl-C stops with
status 130, the runs finished saved, the one under way dropped.

Rows (``minirnn train video`` defaults: H=64, encoder 64, batch 32, Adam lr 3e-3, clip 1; 1000 held-out
videos of held-out glyphs per seed):
    direction  GRU and LSTM, T=10, 2000 steps. Success: accuracy >= 0.95. Controls: mean-frame logistic
               regression, the trained model on shuffled frames, the single-frame classifier (middle frame):
               chance is 0.25.
    digit      GRU, T=5 on 12x12, 2000 steps. Claim: the recurrent model about equals the single-frame one
               (2000 steps too).
    memory     RNN / LSTM / GRU, K = 1 and 10 noise frames after the flash (T = K + 1, 12x12 canvas), 3000
               steps. Success: accuracy >= 0.5 (chance 0.1).
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402
import json  # noqa: E402
import time  # noqa: E402

import _output  # noqa: E402
import numpy as np  # noqa: E402

from minirnn.nn.optim import Adam  # noqa: E402
from minirnn.training import loop  # noqa: E402
from minirnn.training.recipes import make  # noqa: E402
from minirnn.training.recipes_video import single_frame_accuracy  # noqa: E402

SEEDS = (0, 1, 2, 3, 4)
ROWS = {
    "direction": [("direction", c, 10, 2000) for c in ("gru", "lstm")],
    "digit": [("digit", "gru", 5, 2000)],
    "memory": [("memory", c, K + 1, 3000) for c in ("rnn", "lstm", "gru") for K in (1, 10)],
}
LR = 3e-3  # the default of minirnn train video: at 1e-3 direction sits longer on a 50% plateau
THRESHOLD = {"direction": 0.95, "memory": 0.5}
PROG = "video.py"


def run(label, cell, T, steps, seed):
    """Train one model; returns a result row with its accuracy and the controls."""
    t0 = time.perf_counter()
    exp = make("video", cell=cell, T=T, label=label, seed=seed)
    history = loop.fit(
        exp.model,
        Adam(exp.model, lr=LR),
        exp.train_step,
        steps,
        rng=exp.rng,
        evaluate=exp.evaluate,
        eval_every=0,
        clip_norm=1.0,
        progress=False,
    )
    row = {
        "label": label,
        "cell": cell,
        "T": T,
        "steps": steps,
        "seed": seed,
        "lr": LR,
        "accuracy": history["eval"]["accuracy"][-1],
        "shuffled": history["eval"]["shuffled_accuracy"][-1],
        "mean_frame": exp.baseline[1],
    }
    if label != "memory":
        row["single_frame"] = single_frame_accuracy(label, T, seed=seed, steps=steps, lr=LR)
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def _summary(values, threshold=None):
    v = np.asarray(values)
    s = f"{np.median(v):.3f} [{v.min():.3f}, {v.max():.3f}]"
    return s if threshold is None else f"{np.sum(v >= threshold)}/{len(v)}: " + s


def table(rows) -> str:
    """Markdown: per (label, cell, K) the success rate, median and range over seeds of each number."""
    lines = [
        "| label | cell | T (K) | steps | seeds | accuracy: success, median [range] | shuffled frames | "
        "mean frame | single frame |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    groups = {}
    for r in rows:
        groups.setdefault((r["label"], r["cell"], r["T"], r["steps"]), []).append(r)
    order = {"direction": 0, "digit": 1, "memory": 2}
    for (label, cell, T, steps), rs in sorted(
        groups.items(), key=lambda kv: (order[kv[0][0]], kv[0][1], kv[0][2])
    ):
        single = _summary([r["single_frame"] for r in rs]) if "single_frame" in rs[0] else "-"
        tk = f"{T} (K={T - 1})" if label == "memory" else str(T)
        lines.append(
            f"| {label} | {cell} | {tk} | {steps} | {len(rs)} | "
            f"{_summary([r['accuracy'] for r in rs], THRESHOLD.get(label))} | "
            f"{_summary([r['shuffled'] for r in rs])} | {_summary([r['mean_frame'] for r in rs])} | "
            f"{single} |"
        )
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", nargs="*", default=list(ROWS), choices=list(ROWS))
    parser.add_argument("--cells", nargs="*", default=("rnn", "lstm", "gru"), choices=("rnn", "lstm", "gru"))
    parser.add_argument("--seeds", nargs="*", type=int, default=list(SEEDS))
    parser.add_argument("--K", nargs="*", type=int, default=None, help="memory rows: only these K")
    parser.add_argument("--results", default="benchmarks/video_results.jsonl")
    parser.add_argument("--table", action="store_true", help="only print the table of saved results")
    args = parser.parse_args(argv)
    if _output.refuse(PROG, "--results", args.results, [args.results], overwrite=True):  # a missing folder
        return 2
    if not args.table:
        appended = []
        try:
            _runs(args, appended)
        except KeyboardInterrupt:
            return _output.interrupted_appending(PROG, args.results, len(appended))
    rows = {}
    for r in _output.read_jsonl(args.results):
        rows[(r["label"], r["cell"], r["T"], r["steps"], r["seed"])] = r  # the latest run counts
    print(table(list(rows.values())))
    return 0


def _runs(args, appended):
    """Every (row, seed) asked for, each result appended to ``--results`` (and to ``appended``) as it ends."""
    for name in args.rows:
        for label, cell, T, steps in ROWS[name]:
            if cell not in args.cells or (label == "memory" and args.K and T - 1 not in args.K):
                continue
            for seed in args.seeds:
                row = run(label, cell, T, steps, seed)
                print(json.dumps(row), flush=True)
                _output.append_jsonl(args.results, row)
                appended.append(row)


if __name__ == "__main__":
    sys.exit(main())
