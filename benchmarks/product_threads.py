"""Do two BLAS threads speed up one step's recurrent product? ``h W`` with h (B, H) and W (H, 4H) (an LSTM
step) timed with one and with two OpenBLAS threads (threadpoolctl), alternating, best of three, for a range of
sizes: where two threads start to win on an idle machine sets ``minirnn.kernels.threads.PARALLEL_WORK``.

    OPENBLAS_NUM_THREADS=2 python benchmarks/product_threads.py
    OPENBLAS_NUM_THREADS=2 python benchmarks/product_threads.py --overwrite \\
        --json benchmarks/results/product_threads.json        # refresh the committed result

``--json`` refuses an existing file unless ``--overwrite`` is given, before anything is timed, and is written
atomically; Ctrl-C writes the rows timed so far there (``"interrupted": true``) and exits with status 130.

Run it on a quiet machine: on a busy one the second thread waits for a core, and ``threads_for`` gives one
thread there anyway.

Example:
    >>> [work for work, _ in SIZES][:2]
    [4096, 524288]
"""

from __future__ import annotations

import argparse
import os
import time

import _output
import numpy as np

PROG = "product_threads.py"

#: (B, H) of the products timed, and their multiply-adds B * H * 4H
SIZES = [(B * H * 4 * H, (B, H)) for B, H in ((4, 16), (32, 64), (32, 128), (32, 256), (64, 256), (64, 512))]


def speed_up(B: int, H: int, dtype, repeats: int = 3) -> tuple:
    """(microseconds on one thread, on two) per product, best of ``repeats`` alternating rounds."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a, w = rng.standard_normal((B, H)).astype(dtype), rng.standard_normal((H, 4 * H)).astype(dtype)
    calls = max(20, int(2e8 / (B * H * 4 * H)))
    best = {1: float("inf"), 2: float("inf")}
    for _ in range(repeats):
        for n in (1, 2):
            with threadpool_limits(n, user_api="blas"):
                for _ in range(20):
                    a @ w
                t0 = time.perf_counter()
                for _ in range(calls):
                    a @ w
                best[n] = min(best[n], (time.perf_counter() - t0) / calls * 1e6)
    return best[1], best[2]


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--json", help="also write the results here")
    p.add_argument("--sizes", type=int, default=len(SIZES), help="time only the first N sizes")
    _output.add_overwrite(p)
    args = p.parse_args(argv)
    if not 1 <= args.sizes <= len(SIZES):
        p.error(f"--sizes must lie in 1..{len(SIZES)}, got {args.sizes}")
    if args.json and _output.refuse(PROG, "--json", args.json, [args.json], args.overwrite):
        return 2
    report = {"load_avg_1_5_15": list(os.getloadavg()), "rows": []}
    try:
        _measure(args.sizes, report["rows"])
    except KeyboardInterrupt:
        done = len(report["rows"])
        said = f"{done} of {2 * args.sizes} rows" if done else None
        return _output.interrupted(PROG, said, args.json, report)
    print(f"load average before: {report['load_avg_1_5_15'][0]:.2f}, after: {os.getloadavg()[0]:.2f}")
    if args.json:
        _output.write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


def _measure(sizes, rows):
    """Time the first ``sizes`` sizes in both dtypes, appending one row per product to ``rows`` and printing
    it."""
    for dtype in ("float32", "float64"):
        for work, (B, H) in SIZES[:sizes]:
            one, two = speed_up(B, H, dtype)
            rows.append({"dtype": dtype, "B": B, "H": H, "work": work, "us_1": one, "us_2": two})
            print(
                f"{dtype:8} B={B:3} H={H:4} work={work:>11,}  1 thread {one:8.1f} us  2 threads {two:8.1f} us"
                f"  speed-up {one / two:.2f}",
                flush=True,
            )


if __name__ == "__main__":
    raise SystemExit(main())
