"""BLAS threads: minirnn's default choice (kernels/threads.py) against one thread and against all cores.

    python benchmarks/threads.py --overwrite           # table; refreshes benchmarks/results/threads.json
    python benchmarks/threads.py --steps 20 --repeats 5 --json out.json

Each workload is a few training steps of a ``minirnn train`` task (forward, BPTT, Adam) timed in three modes:
``default`` (what a user gets: threads chosen per call size and load), ``1`` and ``all`` (every call forced
to that many threads with ``threads.fixed``). The modes are interleaved, each repeat in another of the 6
orders, so that a change of the machine's load, and the spinning of OpenBLAS's idle threads after an "all"
measurement, hit all three alike (one untimed step precedes each measurement, a second's pause follows "all");
the median of the repeats is reported, with the load average
before and after each measurement in the JSON. Run it without OPENBLAS_NUM_THREADS set: that variable caps
every mode.

``--json`` (by default the committed ``benchmarks/results/threads.json``) refuses an existing file unless
``--overwrite`` is given, before anything is timed, and is written atomically; Ctrl-C writes the workloads
timed so far there (``"interrupted": true``) and exits with status 130.
"""

from __future__ import annotations

import argparse
import itertools
import os
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "benchmarks")]

import _output  # noqa: E402

from minirnn.kernels import threads  # noqa: E402
from minirnn.nn.optim import Adam  # noqa: E402
from minirnn.training import recipes  # noqa: E402
from minirnn.training.loop import fit  # noqa: E402

PROG = "threads.py"

WORKLOADS = {  # name -> arguments of recipes.make
    "copy (train copy defaults: LSTM H=64, B=32, T=20)": dict(task="copy", cell="lstm"),
    "adding (LSTM H=64, B=32, T=50)": dict(task="adding", cell="lstm"),
    "char (GRU H=256, B=32, T=64)": dict(
        task="char",
        cell="gru",
        hidden=256,
        batch=32,
        text="the quick brown fox jumps over the lazy dog. " * 400,
    ),
}


def _time_steps(exp, opt, steps):
    """Seconds per step of ``minirnn.training.loop.fit`` (what ``minirnn train`` runs), without evaluation."""
    t0 = time.perf_counter()
    fit(exp.model, opt, exp.train_step, steps, rng=exp.rng, progress=False, clip_norm=1.0)
    return (time.perf_counter() - t0) / steps


def measure(steps, repeats, results=None):
    """Seconds per step, per workload and mode (median over interleaved repeats), and the loads seen; each
    workload goes into ``results`` (a new dict if None) as soon as it is timed."""
    modes = {"default": None, "1": 1, "all": threads._cores()}
    results = {} if results is None else results
    for name, kwargs in WORKLOADS.items():
        kwargs = dict(kwargs)
        exp = recipes.make(kwargs.pop("task"), seed=0, **kwargs)
        opt = Adam(exp.model, lr=1e-3)
        _time_steps(exp, opt, 2)  # compile and warm up
        times = {m: [] for m in modes}
        loads = []
        orders = list(itertools.permutations(modes))  # each mode first, second, third and after "all" alike
        for r in range(repeats):
            for mode in orders[r % len(orders)]:
                n = modes[mode]
                before = os.getloadavg()[0]
                with threads.fixed(n):
                    _time_steps(exp, opt, 1)  # untimed: lets the previous mode's threads go idle
                    times[mode].append(_time_steps(exp, opt, steps))
                loads.append({"mode": mode, "load_before": before, "load_after": os.getloadavg()[0]})
                if mode == "all":
                    time.sleep(1.0)  # OpenBLAS's idle threads spin a while before sleeping
        medians = {m: statistics.median(v) for m, v in times.items()}
        best = min(medians.values())
        results[name] = {
            "seconds_per_step": medians,
            "all_times": times,
            "loads": loads,
            "default_vs_best": medians["default"] / best,
        }
    return results


def main(argv=None) -> int:
    """Measure, print the table, write the JSON; exit 1 if the default is more than 10% slower than the
    best."""
    parser = argparse.ArgumentParser(
        description=__doc__.splitlines()[0], formatter_class=argparse.ArgumentDefaultsHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=10, help="training steps per measurement")
    parser.add_argument(
        "--repeats",
        type=int,
        default=6,
        help="interleaved repeats per mode (a multiple of 6 runs "
        "every order of the three modes equally often)",
    )
    parser.add_argument(
        "--json", default=str(ROOT / "benchmarks" / "results" / "threads.json"), help="output"
    )
    _output.add_overwrite(parser)
    args = parser.parse_args(argv)
    if _output.refuse(PROG, "--json", args.json, [args.json], args.overwrite, makes_folder=True):
        return 2
    if "OPENBLAS_NUM_THREADS" in os.environ or "OMP_NUM_THREADS" in os.environ:
        print("note: OPENBLAS_NUM_THREADS / OMP_NUM_THREADS is set and caps every mode", file=sys.stderr)
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    results = {}
    try:
        measure(args.steps, args.repeats, results)
    except KeyboardInterrupt:
        done = f"{len(results)} of {len(WORKLOADS)} workloads" if results else None
        return _output.interrupted(PROG, done, args.json, _info(args, results))
    print(
        f"{'workload':<52} {'default':>9} {'1 thread':>9} {'all':>9}  default/best   (ms per step, medians)"
    )
    for name, r in results.items():
        s = r["seconds_per_step"]
        print(
            f"{name:<52} {s['default'] * 1e3:9.2f} {s['1'] * 1e3:9.2f} {s['all'] * 1e3:9.2f}  "
            f"{r['default_vs_best']:.3f}"
        )
    _output.write_json(args.json, _info(args, results), indent=2)
    print(f"JSON written to {args.json}")
    return 0 if all(r["default_vs_best"] <= 1.10 for r in results.values()) else 1


def _info(args, results) -> dict:
    """The JSON report: the machine's cores, minirnn's threshold, the settings and the results."""
    return {
        "cores": threads._cores(),
        "parallel_work": threads.PARALLEL_WORK,
        "steps": args.steps,
        "repeats": args.repeats,
        "load_at_end": os.getloadavg(),
        "results": results,
    }


if __name__ == "__main__":
    sys.exit(main())
