"""The two products every time step of a recurrent layer makes, timed alone in each library's BLAS: the
forward ``h W_hh^T`` (B, H) x (H, G*H) and the backward ``dgates W_hh`` (B, G*H) x (G*H, H), with G the number
of gate blocks (1 RNN, 3 GRU, 4 LSTM). At the speed benchmark's large size these products are most of a step,
so the peers' per-call GEMM speed bounds how far minirnn (NumPy's OpenBLAS) can be ahead of them.

    python benchmarks/step_gemm.py                 # B=64, H=512 (the large size), 1 thread
    python benchmarks/step_gemm.py --B 32 --H 128  # the medium size
    python benchmarks/step_gemm.py --json benchmarks/results/step_gemm_large.json --overwrite   # refresh it

Contenders: NumPy's ``matmul`` (OpenBLAS: what minirnn's loops call without MKL), MKL's gemm and MKL's
product on the weight packed once (what the loops call with MKL installed, ``minirnn/kernels/_mkl.py``),
``torch.mm`` (torch's own GEMM, MKL), all with their Python call (about 1-3 us), and ``jnp.dot`` inside a
jitted loop (XLA, without JAX's dispatch, as in its ``lax.scan``); each one's inputs and output are its own
arrays, made once. Interleaved blocks, medians.

``--json`` refuses an existing file unless ``--overwrite`` is given, before anything is timed, and is written
atomically; Ctrl-C writes the products timed so far there (``"interrupted": true``) and exits with status 130.

Example:
    >>> shapes = step_shapes(B=4, H=8, gates=3)
    >>> shapes["forward"], shapes["backward"]
    (((4, 8), (8, 24)), ((4, 24), (24, 8)))
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("XLA_FLAGS", "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=1")

import argparse  # noqa: E402
import time  # noqa: E402

import _output  # noqa: E402
import numpy as np  # noqa: E402

PROG = "step_gemm.py"

GATES = {"rnn": 1, "gru": 3, "lstm": 4}
JAX_CALLS = 50  # products per call of the jitted loop


def step_shapes(B: int, H: int, gates: int) -> dict:
    """The operand shapes of one step's forward and backward recurrent products."""
    return {"forward": ((B, H), (H, gates * H)), "backward": ((B, gates * H), (gates * H, H))}


def _jax_loop(jax, jnp, a, b, calls=JAX_CALLS):
    """A jitted loop of ``calls`` products ``x @ b`` whose left operand changes a little each time (so XLA can
    neither hoist nor merge them); returns a function that runs it once and waits: JAX's dispatch costs tens
    of microseconds per call on this machine, far more than a small product, so JAX is timed inside
    compiled code, as in its ``lax.scan``."""
    rows, inner = a.shape
    eps = jnp.asarray(1e-3, dtype=a.dtype)

    def fold(y):  # the product (rows, n) back to the shape of a (rows, inner)
        n = y.shape[1]
        return y[:, :inner] if n >= inner else jnp.tile(y, (1, inner // n))

    loop = jax.jit(lambda x: jax.lax.fori_loop(0, calls, lambda i, x: a + eps * fold(jnp.dot(x, b)), x))
    return lambda: loop(a).block_until_ready()


def _mkl_runs(a, b, out):
    """MKL's gemm and its product on ``b`` packed once (what minirnn's loops call with MKL installed), by
    ctypes into a preallocated ``out``; {} without MKL."""
    from minirnn.kernels import _mkl

    if _mkl.why_not():
        return {}
    _mkl.load().MKL_Set_Num_Threads(1)
    gemm, _, _, compute = _mkl._functions(a.dtype)
    M, K, N = a.shape[0], a.shape[1], b.shape[1]
    packed = _mkl.pack(b, transposed=False, rows=M)
    data = _mkl.packed_data(packed)
    A, B, C, P = a.ctypes.data, b.ctypes.data, out.ctypes.data, data.ctypes.data
    keep = (a, b, out, packed)  # the closures hold the arrays whose addresses they pass

    def plain(keep=keep):
        gemm(101, 111, 111, M, N, K, 1.0, A, K, B, N, 0.0, C, N)

    def on_packed(keep=keep):
        compute(101, 111, 151, M, N, K, A, K, P, N, 0.0, C, N)

    return {"mkl": (plain, 1), "mkl packed": (on_packed, 1)}


def _contenders(a, b):
    """name -> (a function of no arguments, how many products one call of it makes). Each writes into an
    output array of its own, made once (as the compiled loops do)."""
    out = np.empty((a.shape[0], b.shape[1]), a.dtype)
    runs = {"numpy": (lambda: np.matmul(a, b, out=out), 1)}
    runs.update(_mkl_runs(a, b, np.empty_like(out)))
    try:
        import torch

        torch.set_num_threads(1)
        ta, tb = torch.from_numpy(a.copy()), torch.from_numpy(b.copy())
        tout = torch.empty(out.shape, dtype=ta.dtype)
        runs["torch"] = (lambda: torch.mm(ta, tb, out=tout), 1)
    except ImportError:
        pass
    try:
        import jax
        import jax.numpy as jnp

        if a.dtype == np.float64:
            jax.config.update("jax_enable_x64", True)
        ja, jb = jnp.asarray(a), jnp.asarray(b)
        runs["jax"] = (_jax_loop(jax, jnp, ja, jb), JAX_CALLS)
    except ImportError:
        pass
    return runs


def time_products(B: int, H: int, dtype: str, blocks: int = 9, calls: int = 200, cells=tuple(GATES),
                  into=None) -> dict:
    """Microseconds per call, median over ``blocks`` interleaved blocks of ``calls`` calls: (cell, direction)
    -> contender -> us; each product is put in ``into`` (a new dict if None) as soon as it is timed."""
    rng = np.random.default_rng(0)
    out = {} if into is None else into
    for cell in cells:
        for direction, (sa, sb) in step_shapes(B, H, GATES[cell]).items():
            a, b = rng.standard_normal(sa).astype(dtype), rng.standard_normal(sb).astype(dtype)
            runs = _contenders(a, b)
            for f, _ in runs.values():
                for _ in range(3):
                    f()
            times = {name: [] for name in runs}
            for _ in range(blocks):
                for name, (f, per_call) in runs.items():
                    n = max(1, calls // per_call)
                    t0 = time.perf_counter()
                    for _ in range(n):
                        f()
                    times[name].append((time.perf_counter() - t0) / (n * per_call) * 1e6)
            out[f"{cell} {direction}"] = {name: float(np.median(t)) for name, t in times.items()}
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--B", type=int, default=64)
    p.add_argument("--H", type=int, default=512)
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    p.add_argument("--blocks", type=int, default=9)
    p.add_argument("--cells", nargs="+", default=list(GATES), choices=list(GATES))
    p.add_argument("--json", help="also write the results here")
    _output.add_overwrite(p)
    args = p.parse_args(argv)
    if args.B < 1 or args.H < 1 or args.blocks < 1:
        p.error(f"--B, --H and --blocks must be positive, got {args.B}, {args.H}, {args.blocks}")
    if args.json and _output.refuse(PROG, "--json", args.json, [args.json], args.overwrite):
        return 2
    report = {"B": args.B, "H": args.H, "load_avg_1_5_15": list(os.getloadavg()), "results": {}}
    try:
        _measure(args, report["results"])
    except KeyboardInterrupt:
        report["results"] = {dt: res for dt, res in report["results"].items() if res}
        done = sum(len(res) for res in report["results"].values())
        total = len(args.dtypes) * len(args.cells) * 2
        return _output.interrupted(PROG, f"{done} of {total} products" if done else None, args.json, report)
    print(f"\nload average after: {os.getloadavg()[0]:.2f}")
    if args.json:
        _output.write_json(args.json, report)
        print(f"wrote {args.json}")
    return 0


def _measure(args, results):
    """Time every dtype's products into ``results`` (dtype -> product -> contender -> us), printing each
    dtype's table."""
    for dtype in args.dtypes:
        res = results[dtype] = {}
        time_products(args.B, args.H, dtype, blocks=args.blocks, cells=args.cells, into=res)
        print(f"\n{dtype}, B={args.B}, H={args.H}: us per call (median of {args.blocks} blocks)")
        names = list(next(iter(res.values())))
        ours = [n for n in ("numpy", "mkl packed") if n in names]  # what the loops call: OpenBLAS, or MKL
        print(f"{'product':<18}" + "".join(f"{n:>12}" for n in names) + "".join(
            f"   {n} / fastest peer" for n in ours))
        for product, t in res.items():
            peers = [t[n] for n in ("torch", "jax") if n in t]
            ratios = "".join(f"   {t[n] / min(peers):>{len(n) + 16}.2f}" if peers else "   -" for n in ours)
            print(f"{product:<18}" + "".join(f"{t[n]:>12.1f}" for n in names) + ratios, flush=True)


if __name__ == "__main__":
    raise SystemExit(main())
