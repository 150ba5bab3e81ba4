"""Where attention matters: exact match against input length, with and without attention, over seeds.

    python benchmarks/translation.py --run dates      # dates -> ISO, additive attention, 5 seeds (bar: 95%)
    python benchmarks/translation.py --run reverse    # reverse 1..16 digits: additive and none; 5 seeds
    python benchmarks/translation.py --table          # the README's tables from the saved results

Every run is ``minirnn train translate`` with its defaults (GRU, H=32 per encoder direction, batch 64, Adam
3e-3, clipping at 1, 600 steps), and ``--T 16`` for reversal (the held-out curve is drawn on 300 pairs, which
does not change the training). Each model is scored on 2000 held-out pairs by greedy decoding;
``exact_match`` is the fraction whose whole output is right, also split by source length. Results accumulate,
one JSON line per (data, attention, seed), in ``benchmarks/results/translation.jsonl`` (each line appended
whole as its run ends, never rewritten). Ctrl-C stops with status 130: the runs finished are saved, the one
under way is dropped. Not a timed test.
"""

from __future__ import annotations

import os
import sys

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: BLAS threads only fight over the cores

import argparse  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

import _output  # noqa: E402

from minirnn.nn.optim import Adam  # noqa: E402
from minirnn.training import loop  # noqa: E402
from minirnn.training.recipes_translate import _generator, exact_match_by_length, translate  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
RESULTS = os.path.join(HERE, "results", "translation.jsonl")
PROG = "translation.py"
RUNS = {
    "dates": {"data": "dates", "attention": ["additive"], "T": None, "steps": 600},
    "reverse": {"data": "reverse", "attention": ["additive", None], "T": 16, "steps": 600},
}


def run(data, attention, seed, T, steps, n_test=2000):
    """Train one model as ``minirnn train translate`` does; returns a JSON-able row."""
    exp = translate(attention=attention, data=data, T=T, seed=seed, n_test=300)  # n_test: the curve only
    t0 = time.perf_counter()
    history = loop.fit(
        exp.model,
        Adam(exp.model, lr=3e-3),
        exp.train_step,
        steps,
        rng=exp.rng,
        evaluate=exp.evaluate,
        eval_every=max(1, steps // 5),
        clip_norm=1.0,
        progress=False,
    )
    seconds = time.perf_counter() - t0
    pairs = _generator(data, exp.info["T"], ("en",))[0]
    test = pairs(n_test, np.random.default_rng(10_000 + seed), "test")
    by_length = exact_match_by_length(exp.model, test)
    overall = float(np.mean([by_length[len(s)] for s, _ in test]))
    return {
        "data": data,
        "attention": attention or "none",
        "seed": seed,
        "T": exp.info["T"],
        "steps": steps,
        "exact_match": overall,
        "by_length": {str(k): v for k, v in by_length.items()},
        "curve_step": history["eval_step"],
        "curve": history["eval"]["exact_match"],
        "seconds": seconds,
    }


def load():
    """The saved rows, the first one of each (data, attention, seed, steps) only (a torn line is skipped)."""
    rows = {}
    for r in _output.read_jsonl(RESULTS):
        rows.setdefault((r["data"], r["attention"], r["seed"], r["steps"]), r)
    return list(rows.values())


def summary(rows) -> str:
    """Markdown tables: overall exact match per (data, attention), and exact match against length
    (reverse)."""
    lines = [
        "| data | attention | seeds | steps | exact match, median [min, max] | runs >= 0.95 |",
        "|---|---|---|---|---|---|",
    ]
    groups = {}
    for r in rows:
        groups.setdefault((r["data"], r["attention"]), []).append(r)
    for (data, attention), rs in sorted(groups.items()):
        v = np.array([r["exact_match"] for r in rs])
        lines.append(
            f"| {data} | {attention} | {len(rs)} | {rs[0]['steps']} | {np.median(v):.4f} [{v.min():.4f}, "
            f"{v.max():.4f}] | {int(np.sum(v >= 0.95))} of {len(rs)} |"
        )
    rev = {a: rs for (d, a), rs in groups.items() if d == "reverse"}
    if rev:
        lengths = sorted({int(k) for rs in rev.values() for r in rs for k in r["by_length"]})
        buckets = [(lo, min(lo + 3, lengths[-1])) for lo in range(lengths[0], lengths[-1] + 1, 4)]
        head = " | ".join(f"{lo}-{hi}" for lo, hi in buckets)
        lines += ["", f"| attention (reverse, median over seeds) | {head} |", "|---|" + "---|" * len(buckets)]
        for attention, rs in sorted(rev.items()):
            cells = []
            for lo, hi in buckets:
                per_seed = [
                    np.mean([r["by_length"][str(L)] for L in range(lo, hi + 1) if str(L) in r["by_length"]])
                    for r in rs
                ]
                cells.append(f"{np.median(per_seed):.2f}")
            lines.append(f"| {attention} ({len(rs)} seeds) | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument(
        "--run", choices=sorted(RUNS), action="append", default=[], help="which experiment(s) to run"
    )
    p.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 (default 5)")
    p.add_argument("--seed", type=int, action="append", default=None, help="only this seed (repeatable)")
    p.add_argument("--attention", default=None, help="only this attention (additive, dot, none)")
    p.add_argument("--steps", type=int, default=None)
    p.add_argument("--table", action="store_true", help="print the tables from the saved results")
    args = p.parse_args(argv)
    os.makedirs(os.path.dirname(RESULTS), exist_ok=True)
    appended = []
    try:
        _runs(args, appended)
    except KeyboardInterrupt:
        return _output.interrupted_appending(PROG, RESULTS, len(appended))
    if args.table or not args.run:
        print(summary(load()))
    return 0


def _runs(args, appended):
    """Every run asked for, each row appended to :data:`RESULTS` (and to ``appended``) as it finishes."""
    for name in args.run:
        spec = RUNS[name]
        for attention in spec["attention"]:
            if args.attention is not None and (attention or "none") != args.attention:
                continue
            for seed in args.seed or range(args.seeds):
                row = run(spec["data"], attention, seed, spec["T"], args.steps or spec["steps"])
                print(
                    f"{name} attention={row['attention']} seed={seed}: exact_match={row['exact_match']:.3f} "
                    f"({row['seconds']:.0f} s)",
                    flush=True,
                )
                _output.append_jsonl(RESULTS, row)
                appended.append(row)


if __name__ == "__main__":
    sys.exit(main())
