"""What a second thread buys each contender, each timed alone in a process of its own.

    python benchmarks/speed_threads.py                       # medium and large, every cell, both dtypes
    python benchmarks/speed_threads.py --sizes large --cells lstm --rounds 3
    python benchmarks/speed_threads.py --rounds 2 --blocks 3 --json benchmarks/results/speed_threads.json \\
        --overwrite                                          # refresh the committed result

``speed.py --threads 2`` times the contenders interleaved in one process, where torch's OpenMP workers, MKL's
or OpenBLAS's threads and XLA's share two cores and spin while another contender runs (torch's gain for one
row moved between 0.19x and 1.50x from run to run). Here every (contender, thread count) pair runs in a fresh
process with only its own threads: minirnn (``auto`` backend, its BLAS as ``MINIRNN_BLAS`` says), ``torch.nn``
(oneDNN on) and JAX (``lax.scan`` under ``jit``), forward + backward of one layer as in ``speed.py``. A
process warms up, then times ``--blocks`` blocks of back-to-back calls (each about 0.2 s); the median of its
blocks is its time. ``--rounds`` rounds run every process again, in turn, and each time is the median over
rounds. The speed-up of a contender is its 1-thread time over its 2-thread time, in the same round.

Threads: ``OMP_NUM_THREADS``, ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``torch.set_num_threads`` to 1
or 2; a one-thread process is pinned to one CPU (``os.sched_setaffinity``) and XLA runs Eigen single-threaded
(``--xla_cpu_multi_thread_eigen=false``; XLA has no thread-count flag). minirnn chooses per product up to that
many (``minirnn/kernels/threads.py``).

``--json`` refuses an existing file unless ``--overwrite`` is given, before anything is measured; the file is
written atomically. Ctrl-C stops the run: the rows finished so far go to ``--json``, marked
``"interrupted": true``, and the status is 130.

Example:
    >>> env = thread_env(1, {})
    >>> env["OMP_NUM_THREADS"], env["XLA_FLAGS"]
    ('1', '--xla_cpu_multi_thread_eigen=false')
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]  # this checkout's minirnn, and the benchmark's own parts

import _output  # noqa: E402
import speed  # noqa: E402  (its sizes, thread settings and CPU pinning)

PROG = "speed_threads.py"

CONTENDERS = ("minirnn", "torch", "jax")
SIZES = {name: speed.SIZES[name] for name in ("medium", "large")}  # T, B, I, H


def thread_env(threads: int, base) -> dict:
    """``base`` (a mapping of environment variables) with every thread pool sized to ``threads``, as
    ``speed.py --threads`` sizes them (an XLA flag a two-thread run must not inherit is dropped)."""
    env = dict(base)
    env.pop("XLA_FLAGS", None)
    env.update(speed._thread_env(threads))
    return env


def _worker(contender, size, cell, dtype, threads, blocks):
    """Run in the child: build one contender, warm it up, print the median of its timed blocks (ms) as
    JSON."""
    if threads == 1:
        speed.pin_to_one_cpu()
    import numpy as np

    import speed_contenders as sc

    T, B, I, H = SIZES[size]
    dt = np.dtype(dtype).type
    x = np.random.default_rng(0).normal(size=(T, B, I)).astype(dt)
    if contender == "minirnn":
        run = sc.minirnn_contenders(cell, dt, x, H, ["auto"])["auto"]
    elif contender == "torch":
        import torch

        torch.set_num_threads(threads)
        run = sc.torch_contender(torch, cell, dt, x, H)
    else:
        run = sc.jax_contender(cell, dt, x, H)
    for _ in range(2):
        run()
    number = max(1, int(0.2 / max(sc._timed(run), 1e-9)))
    times = []
    for _ in range(blocks):
        start = time.perf_counter()
        for _ in range(number):
            run()
        times.append((time.perf_counter() - start) / number * 1e3)
    print(json.dumps({"ms": statistics.median(times), "load": os.getloadavg()[0]}))


def _available():
    """The contenders installed here (minirnn always)."""
    import importlib.util

    return [c for c in CONTENDERS if c == "minirnn" or importlib.util.find_spec(c) is not None]


def _run_worker(contender, size, cell, dtype, threads, blocks) -> float:
    """One fresh process timing one contender at ``threads`` threads; its median ms."""
    args = [sys.executable, os.path.abspath(__file__), "--worker", contender, size, cell, dtype, str(threads),
            str(blocks)]
    env = thread_env(threads, os.environ)
    done = subprocess.run(args, env=env, capture_output=True, text=True, timeout=900)
    if done.returncode in (130, -2):  # the worker got the Ctrl-C first
        raise KeyboardInterrupt
    if done.returncode != 0:
        raise RuntimeError(f"{contender} {size} {cell} {dtype} x{threads}: {done.stderr[-500:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])["ms"]


def measure(sizes, cells, dtypes, rounds, blocks, contenders=None, rows=None) -> list:
    """One dict per row: size, cell, dtype, and per contender the 1- and 2-thread ms and the speed-up; each
    row is appended to ``rows`` (a new list if None) as soon as it is measured, and that list returned."""
    contenders = contenders or _available()
    rows = [] if rows is None else rows
    for size in sizes:
        for cell in cells:
            for dtype in dtypes:
                got = {c: {1: [], 2: []} for c in contenders}
                for _ in range(rounds):
                    for c in contenders:
                        for threads in (1, 2):
                            got[c][threads].append(_run_worker(c, size, cell, dtype, threads, blocks))
                row = {"size": size, "cell": cell, "dtype": dtype}
                for c, t in got.items():
                    ups = [a / b for a, b in zip(t[1], t[2])]
                    row[c] = {"ms_1": statistics.median(t[1]), "ms_2": statistics.median(t[2]),
                              "speedup": statistics.median(ups), "speedup_range": [min(ups), max(ups)]}
                rows.append(row)
                print(_line(row, contenders), flush=True)
    return rows


def _line(row, contenders):
    cells = [f"{row['size']:<7}{row['cell']:<5}{row['dtype']:<8}"]
    for c in contenders:
        r = row[c]
        cells.append(f"{c} {r['ms_1']:8.2f} -> {r['ms_2']:8.2f} ms x{r['speedup']:.2f}")
    best = max((c for c in contenders if c != "minirnn"), key=lambda c: row[c]["speedup"], default=None)
    if best:
        cells.append("at least every peer's" if row["minirnn"]["speedup"] >= row[best]["speedup"]
                     else f"below {best}'s")
    return "  ".join(cells)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["--worker"]:
        if len(argv) != 7:
            usage = "--worker takes CONTENDER SIZE CELL DTYPE THREADS BLOCKS"
            print(f"speed_threads.py: {usage}", file=sys.stderr)
            return 2
        c, size, cell, dtype, threads, blocks = argv[1:]
        if (c not in CONTENDERS or size not in SIZES or cell not in ("rnn", "lstm", "gru")
                or dtype not in ("float32", "float64") or threads not in ("1", "2") or not blocks.isdigit()
                or int(blocks) < 1):
            print(f"speed_threads.py: --worker got {' '.join(argv[1:])}: expected a contender of "
                  f"{', '.join(CONTENDERS)}, a size of {', '.join(SIZES)}, rnn/lstm/gru, float32/float64, "
                  "1 or 2 threads and a positive block count", file=sys.stderr)
            return 2
        try:
            _worker(c, size, cell, dtype, int(threads), int(blocks))
        except KeyboardInterrupt:  # the parent says it
            return 130
        return 0
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=list(SIZES), choices=list(SIZES))
    p.add_argument("--cells", nargs="+", default=["rnn", "lstm", "gru"], choices=["rnn", "lstm", "gru"])
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    p.add_argument("--rounds", type=int, default=2, help="times every process runs (the median is kept)")
    p.add_argument("--blocks", type=int, default=5, help="timed blocks in each process")
    p.add_argument("--json", help="write the rows here")
    _output.add_overwrite(p)
    args = p.parse_args(argv)
    if args.rounds < 1 or args.blocks < 1:
        p.error(f"--rounds and --blocks must be positive, got {args.rounds} and {args.blocks}")
    if args.json and _output.refuse(PROG, "--json", args.json, [args.json], args.overwrite):
        return 2
    load = list(os.getloadavg())
    rows = []
    try:
        measure(args.sizes, args.cells, args.dtypes, args.rounds, args.blocks, rows=rows)
    except KeyboardInterrupt:
        total = len(args.sizes) * len(args.cells) * len(args.dtypes)
        report = {"load_before": load, "load_after": list(os.getloadavg()), "rows": rows}
        done = f"{len(rows)} of {total} rows" if rows else None
        return _output.interrupted(PROG, done, args.json, report)
    peers = [c for c in CONTENDERS[1:] if rows and c in rows[0]]
    ahead = sum(r["minirnn"]["speedup"] >= max((r[c]["speedup"] for c in peers), default=0) for r in rows)
    print(f"\nminirnn's two-thread speed-up at least every peer's in {ahead} of {len(rows)} rows; load "
          f"before {load[0]:.2f}, after {os.getloadavg()[0]:.2f}")
    if args.json:
        report = {"load_before": load, "load_after": list(os.getloadavg()), "rows": rows}
        _output.write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
