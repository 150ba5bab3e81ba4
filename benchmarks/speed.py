"""Speed of minirnn against PyTorch CPU and JAX: ``python benchmarks/speed.py`` or ``minirnn bench`` (which
runs this).

    python benchmarks/speed.py --overwrite          # everything, 20-30 minutes on 2 cores: benchmarks/results
    python benchmarks/speed.py --sizes small medium --train-steps 0 --no-memory --no-growth --out /tmp/speed
    python benchmarks/speed.py --threads 2 --out /tmp/speed-2threads   # at two BLAS / torch threads

What it measures, each in one run so that the ratios compare like with like on a noisy machine:

* layers: forward + backward of RNN, LSTM and GRU (1 layer, dout = ones) for float32 and float64 at three
  sizes, for minirnn's ``numba``, ``numpy`` and ``auto`` backends, ``torch.nn`` at its best (oneDNN on, as
  installed) and JAX (``lax.scan`` under ``jit``, compiled and warmed up; skipped with a note when JAX is not
  installed); same weights, same input, same thread count, each contender's gradient checked against minirnn's
  before it is timed; contenders interleaved block by block (speed_contenders.time_interleaved), medians with
  min and max;
* the GEMM floor: 6 T B G H (I + H) flops per forward + backward, over this machine's large-GEMM rate;
* growth: LSTM time against T (10-1000) and H (32-512) for minirnn, torch and JAX, with the fitted exponents;
* start-up, memory and char-LM training throughput (speed_extras.py).

The JSON records the machine: load averages before and after, library versions, the loops' BLAS (MKL where
installed, ``--blas openblas`` for NumPy's OpenBLAS), BLAS and torch threads, whether torch runs oneDNN.
BLAS pools are sized through the environment before NumPy is imported (``--threads``, default 1); a one-thread
run is pinned to one CPU, every contender alike.

``--out`` (by default ``benchmarks/results``, the committed results) gets speed.json, speed.png and
growth.png; if any of the files this run would write is already there, the run is refused before anything
is measured, unless ``--overwrite``. Every file is written atomically. Ctrl-C stops the run: what was
measured goes to speed.json, marked ``"interrupted": true`` (no charts), and the status is 130.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:0] = [os.path.dirname(HERE), HERE]  # this checkout's minirnn, and the benchmark's own parts

import _output  # noqa: E402

SIZES = {
    "tiny": (5, 2, 3, 4),
    "small": (100, 4, 8, 16),
    "medium": (100, 32, 32, 128),
    "large": (100, 64, 128, 512),
}
CELLS = ("rnn", "lstm", "gru")
BACKENDS = ("numba", "numpy", "auto")
#: minirnn / torch targets (float64, float32) per size, and "ahead of JAX" everywhere
TARGETS = {"small": (0.5, 0.5), "medium": (1.0, 1.0), "large": (1.0, 1.0)}
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")
PROG = "minirnn bench"


def parse_args(argv=None):
    """The benchmark's command line (``minirnn bench --help``): sizes, cells, dtypes, repeats, threads,
    output folder."""
    p = argparse.ArgumentParser(
        prog=PROG,
        description=__doc__.split("\n\n")[0],
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    p.add_argument("--sizes", nargs="+", default=["small", "medium", "large"], choices=list(SIZES))
    p.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--reps", type=int, default=15, help="timed rounds per contender (large size: a third)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per contender first")
    p.add_argument("--threads", type=int, default=1, help="BLAS and torch threads")
    p.add_argument(
        "--blas",
        choices=["auto", "mkl", "openblas"],
        default=os.environ.get("MINIRNN_BLAS", "auto"),
        help="the compiled loops' BLAS (sets MINIRNN_BLAS): MKL where installed, or NumPy's OpenBLAS",
    )
    p.add_argument(
        "--out", default=os.path.join("benchmarks", "results"), help="folder for speed.json and charts"
    )
    p.add_argument(
        "--train-steps", type=int, default=20, help="timed steps of the char-LM benchmark (0: skip)"
    )
    p.add_argument("--no-torch", action="store_true", help="do not time torch even if it is installed")
    p.add_argument("--no-jax", action="store_true", help="do not time JAX even if it is installed")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up and compile measurements")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--no-growth", action="store_true", help="skip time against T and H")
    p.add_argument("--no-plot", action="store_true", help="do not draw the charts")
    p.add_argument(
        "--overwrite",
        action="store_true",
        help="replace speed.json and the charts if --out already holds them",
    )
    return p.parse_args(argv)


def outputs(args) -> list:
    """The files a run with ``args`` writes into ``--out``: speed.json, and the charts it draws."""
    names = ["speed.json"]
    if not args.no_plot:
        names += ["speed.png"] + ([] if args.no_growth else ["growth.png"])
    return [os.path.join(args.out, name) for name in names]


def _peers(args):
    """(torch, jax) modules at their best, or None where absent or turned off (with a note)."""
    torch = jax = None
    if not args.no_torch:
        try:
            import torch

            torch.set_num_threads(args.threads)
        except ImportError:
            torch = None
            print("torch is not installed: no torch ratios (pip install 'minirnn[test]' for the comparison).")
    if not args.no_jax:
        try:
            import jax
        except ImportError:
            jax = None
            print("JAX is not installed: no JAX column (pip install jax jaxlib to add it).")
    return torch, jax


def _row(size, cell, dt, args, torch, jax, rates):
    """Time one size x cell x dtype; returns the JSON row."""
    import numpy as np

    from speed_contenders import flops, jax_contender, minirnn_contenders, time_interleaved, torch_contender

    T, B, I, H = SIZES[size]
    dtype = np.dtype(dt).type
    x = np.random.default_rng(0).normal(size=(T, B, I)).astype(dtype)
    runs = minirnn_contenders(cell, dtype, x, H, args.backends)
    if torch is not None:
        runs["torch"] = torch_contender(torch, cell, dtype, x, H)
    if jax is not None:
        runs["jax"] = jax_contender(cell, dtype, x, H)
    reps = max(3, args.reps // 3) if size == "large" else args.reps
    stats = time_interleaved(runs, reps, args.warmup)
    ms = {name: s[0] for name, s in stats.items()}
    best = ms.get("auto", min(ms[b] for b in args.backends))
    target = TARGETS.get(size, (None, None))[0 if dt == "float64" else 1]
    return {
        "size": size,
        "T": T,
        "B": B,
        "I": I,
        "H": H,
        "cell": cell,
        "dtype": dt,
        "ms": ms,
        "range_ms": {name: [s[1], s[2]] for name, s in stats.items()},
        "floor_ms": flops(cell, T, B, I, H) / (rates[dt] * 1e9) * 1e3,
        "target": target,
        "vs_torch": best / ms["torch"] if "torch" in ms else None,
        "vs_jax": best / ms["jax"] if "jax" in ms else None,
    }


def _print_row(r, backends, first):
    names = [*backends, "torch", "jax"]
    if first:
        print(
            "\nforward + backward, medians of interleaved blocks (ratios: minirnn auto / peer; lower is "
            "faster)"
        )
        print(
            f"{'size':<7}{'cell':<5}{'dtype':<8}"
            + "".join(f"{n + ' ms':>11}" for n in names)
            + f"{'/torch':>8}{'/jax':>7}{'target':>10}{'%floor':>8}"
        )
    line = f"{r['size']:<7}{r['cell']:<5}{r['dtype']:<8}"
    line += "".join(f"{r['ms'][n]:11.2f}" if n in r["ms"] else f"{'-':>11}" for n in names)
    line += "".join(f"{r[k]:8.2f}" if r[k] is not None else f"{'-':>8}" for k in ("vs_torch", "vs_jax"))
    met = (
        ""
        if r["vs_torch"] is None or r["target"] is None
        else (" ok" if r["vs_torch"] <= r["target"] else " MISS")
    )
    line += f"{'<=' + str(r['target']) + met if r['target'] else '':>10}"
    line += f"{100 * r['floor_ms'] / r['ms'].get('auto', r['floor_ms']):7.0f}%"
    print(line, flush=True)


def _extras(args, torch, report):
    """Start-up, memory and char-LM training (speed_extras.py), each printed and stored in ``report``."""
    import speed_extras

    if not args.no_startup:
        s = report["startup"] = speed_extras.measure_startup()
        print(
            f"start-up: import minirnn {s['import_s']:.2f} s; LSTM forward+backward float32: cold compile "
            f"{s['cold_compile_s']:.1f} s, from the cache {s['cached_no_scipy_s']:.2f} s "
            f"({s['cached_s']:.2f} s with "
            f"SciPy installed); floor of any Numba program here (import numba + one cached @njit call) "
            f"{s['numba_floor_s']:.2f} s   (targets: cold compile 3 s, warm start 0.5 s)"
        )
    if not args.no_memory:
        size = "large" if "large" in args.sizes else args.sizes[0]
        report["memory"] = [speed_extras.measure_memory(size, SIZES[size], dt) for dt in args.dtypes]
        for m in report["memory"]:
            print(
                f"peak memory, LSTM {size} {m['dtype']}: stored activations {m['stored_MB']:.1f} MB, peak "
                "extra "
                f"{m['peak_extra_MB']:.1f} MB = {m['ratio']:.2f}x (target <= 1.3x)"
            )
    if args.train_steps > 0:
        tp = report["train"] = speed_extras.train_throughput(torch, args.train_steps)
        ratio = (
            f" (minirnn / torch = {tp['minirnn'] / tp['torch']:.2f}, target >= 1.1)" if "torch" in tp else ""
        )
        print(
            "char-LM training (LSTM H=128, seq 64, B=32, float32, Adam): "
            + ", ".join(f"{k} {v:,.0f} tokens/s" for k, v in tp.items())
            + ratio
        )


def _thread_env(threads):
    """The environment variables that size every pool to ``threads``: the BLAS and OpenMP pools, and for one
    thread XLA's Eigen single-threaded (XLA has no thread-count flag; ``main`` also pins a one-thread run to
    one CPU)."""
    env = {v: str(threads) for v in THREAD_VARS}
    if threads == 1:
        env["XLA_FLAGS"] = "--xla_cpu_multi_thread_eigen=false"
    return env


def pin_to_one_cpu():
    """Run this process (and the threads and processes it starts from now on) on one CPU, where the OS allows.

    A one-thread run is one CPU for every contender: with XLA's flag alone JAX's large rows still ran on two
    cores (as fast as its two-thread time in speed_threads.py, and 1.7x slower when the second core was busy).
    """
    if hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {min(os.sched_getaffinity(0))})


def _in_fresh_process(args, argv):
    """BLAS pools are sized when NumPy is imported: rerun this file in a process with the thread variables
    set. A Ctrl-C at the terminal reaches that process too, which saves what it measured and says so: this
    one waits for it (a second Ctrl-C stops it)."""
    env = dict(os.environ, **_thread_env(args.threads))
    child = subprocess.Popen([sys.executable, os.path.abspath(__file__), *argv], env=env)
    try:
        return child.wait()
    except KeyboardInterrupt:
        try:
            return child.wait()
        except KeyboardInterrupt:
            child.kill()
            child.wait()
            said = "interrupted twice; stopped the measuring process, nothing more saved"
            print(f"{PROG}: {said}", file=sys.stderr)
            return 130


def main(argv=None):
    """Run the speed benchmark; print the table, write JSON and the charts into ``--out``; returns the exit
    code (2: ``--out`` already holds results and no ``--overwrite``; 130: Ctrl-C)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args = parse_args(argv)
    if _output.refuse(PROG, "--out", args.out, outputs(args), args.overwrite, makes_folder=True):
        return 2
    os.environ["MINIRNN_BLAS"] = args.blas  # read when the first loop runs; inherited by the start-up runs
    if any(os.environ.get(k) != v for k, v in _thread_env(args.threads).items()):
        if "numpy" in sys.modules or "jax" in sys.modules:
            return _in_fresh_process(args, argv)
        os.environ.update(_thread_env(args.threads))
    if args.threads == 1:
        pin_to_one_cpu()
    os.makedirs(args.out, exist_ok=True)
    path = os.path.join(args.out, "speed.json")
    report = {"machine_before": None, "rows": []}  # filled as measured
    try:
        _measure(args, report)
    except KeyboardInterrupt:
        total = len(args.sizes) * len(args.cells) * len(args.dtypes)
        done = f"{len(report['rows'])} of {total} rows" if report["rows"] else None
        return _output.interrupted(PROG, done, path, report)
    _output.write_json(path, report)
    if not args.no_plot:
        plot(report["rows"], os.path.join(args.out, "speed.png"))
        if "growth" in report:
            import speed_growth

            speed_growth.plot_growth(report["growth"], os.path.join(args.out, "growth.png"))
    print(
        f"\nwrote {path}; load before {report['machine_before']['load_avg_1_5_15']}, after "
        f"{report['machine_after']['load_avg_1_5_15']}"
    )
    return 0


def _measure(args, report):
    """Everything the run measures, put into ``report`` as it comes (the machine, the GEMM rate, the rows,
    growth, the extras, the machine again)."""
    import numpy as np

    from speed_contenders import gemm_rate, machine

    torch, jax = _peers(args)
    report["machine_before"] = machine(args.threads, torch, jax)
    rates = report["gemm_gflops"] = {dt: gemm_rate(np.dtype(dt)) for dt in args.dtypes}
    print(
        "large-GEMM rate (1024^3, %d thread(s)): %s; load %s"
        % (
            args.threads,
            ", ".join(f"{dt} {r:.0f} GFLOP/s" for dt, r in rates.items()),
            report["machine_before"]["load_avg_1_5_15"],
        )
    )
    for size in args.sizes:
        for cell in args.cells:
            for dt in args.dtypes:
                report["rows"].append(_row(size, cell, dt, args, torch, jax, rates))
                _print_row(report["rows"][-1], args.backends, len(report["rows"]) == 1)
    if not args.no_growth:
        import speed_growth

        g = report["growth"] = speed_growth.measure_growth(torch, jax)
        for axis in ("T", "H"):
            print(
                f"growth with {axis}: "
                + ", ".join(f"{n} ~ {axis}^{e:.2f}" for n, e in g[axis]["exponent"].items())
            )
    _extras(args, torch, report)
    report["machine_after"] = machine(args.threads, torch, jax)


def plot(rows, path):
    """Bar chart: time relative to torch per size x cell x dtype, one bar per backend, the target dashed (log
    scale)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [r for r in rows if r.get("ms", {}).get("torch")]
    if not rows:
        return False
    labels = [f"{r['size']}\n{r['cell']} {r['dtype'][5:]}" for r in rows]
    backends = [b for b in (*BACKENDS, "jax") if b in rows[0]["ms"]]
    fig, ax = plt.subplots(figsize=(max(9, 0.6 * len(rows)), 4.5))
    width = 0.8 / max(len(backends), 1)
    for k, backend in enumerate(backends):
        ratios = [r["ms"][backend] / r["ms"]["torch"] for r in rows]
        label = "JAX (lax.scan, jit)" if backend == "jax" else f"minirnn {backend}"
        ax.bar(np.arange(len(rows)) + (k - (len(backends) - 1) / 2) * width, ratios, width, label=label)
    ax.axhline(1.0, color="k", lw=1, label="torch (= 1)")
    targets = [(k, r["target"]) for k, r in enumerate(rows) if r.get("target")]
    if targets:  # the ratio target over each group of bars
        ax.hlines(
            [t for _, t in targets],
            [k - 0.45 for k, _ in targets],
            [k + 0.45 for k, _ in targets],
            colors="crimson",
            linestyles="--",
            lw=1.2,
            label="target",
        )
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(rows)), labels, fontsize=9)
    ax.set_ylabel("time / torch time (lower is faster)", fontsize=10)
    ax.set_title("forward + backward, T=100 (float32 / float64): minirnn relative to torch.nn on CPU")
    ax.legend(fontsize=9)
    fig.tight_layout()
    _output.write_png(fig, path)
    plt.close(fig)
    return True


if __name__ == "__main__":
    sys.exit(main())
