"""Where one compiled LSTM forward + backward spends its time: the input projection, the forward loop, the
backward loop and the weight gradients, each timed alone (one thread, medians), and the step products alone.

    python benchmarks/layer_phases.py                    # the speed benchmark's medium size, float32
    python benchmarks/layer_phases.py --B 64 --I 128 --H 512
    python benchmarks/layer_phases.py --threads 2        # the phases with the layer's two threads

The forward loop's time minus its T step products is the gate arithmetic; likewise for the backward loop
(one thread only: with ``--threads 2`` the loops run two blocks of rows at once, kernels/_batch.py, and the
step products are not timed apart).

Example:
    >>> sorted(phases(T=3, B=2, I=3, H=4, repeats=1))[:3]
    ['backward loop', 'backward step products', 'forward + backward']
"""

from __future__ import annotations

import argparse
import os
import sys
import time

for _name in ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402


def _median_ms(f, repeats):
    f()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return float(np.median(times)) * 1e3


def phases(T=100, B=32, I=32, H=128, dtype=np.float32, repeats=15, n_threads=1) -> dict:
    """Milliseconds per phase (median of ``repeats``) of one LSTM forward + backward, compiled backend, with
    ``n_threads`` threads as a layer would use them (``threads.fixed``)."""
    from minirnn.kernels import threads

    with threads.fixed(n_threads), threads.blas_threads_for(1 << 40):
        return _phases(T, B, I, H, dtype, repeats)


def _phases(T, B, I, H, dtype, repeats):
    from numba import njit

    from minirnn.cells._common import project_inputs, weight_gradients
    from minirnn.kernels import _blas, lstm

    rng = np.random.default_rng(0)
    x = (0.5 * rng.standard_normal((T, B, I))).astype(dtype)
    W_ih, W_hh = [(rng.standard_normal(s) / np.sqrt(H)).astype(dtype) for s in ((4 * H, I), (4 * H, H))]
    b, h0, dout = np.zeros(4 * H, dtype), np.zeros((B, H), dtype), np.ones((T, B, H), dtype)

    def forward_backward():
        *_, cache = lstm.forward(x, h0, h0, W_ih, W_hh, b, b)
        lstm.backward(dout, h0, h0, cache)

    @njit
    def products(a, op, out, steps):
        for _ in range(steps):
            _blas.gemm_fixed(a, op, out)

    lstm._forward_loop.dispatcher
    fwd_op, bwd_op = _blas.pack_b(W_hh, True, B), _blas.pack_b(W_hh, False, B)
    da = rng.standard_normal((T, B, 4 * H)).astype(dtype)
    hs = rng.standard_normal((T + 1, B, H)).astype(dtype)
    out = {
        "forward + backward": _median_ms(forward_backward, repeats),
        "input projection": _median_ms(lambda: project_inputs(x, W_ih, matmul=_blas.matmul), repeats),
        "forward loop": _median_ms(lambda: lstm.forward(x, h0, h0, W_ih, W_hh, b, b), repeats),
        "forward step products": _median_ms(lambda: products(h0, fwd_op, da[0], T), repeats),
        "backward step products": _median_ms(lambda: products(da[0], bwd_op, hs[0], T), repeats),
        "weight gradients": _median_ms(lambda: weight_gradients(da, da, x, hs, W_ih, matmul=_blas.matmul),
                                       repeats),
    }
    out["forward loop"] -= out["input projection"]  # lstm.forward is the projection + the loop
    out["backward loop"] = out["forward + backward"] - out["forward loop"] - out["input projection"] - out[
        "weight gradients"]
    return out


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    for name, default in (("T", 100), ("B", 32), ("I", 32), ("H", 128), ("repeats", 15)):
        p.add_argument(f"--{name}", type=int, default=default)
    p.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    p.add_argument("--threads", type=int, choices=[1, 2], default=1, help="the layer's threads")
    args = p.parse_args(argv)
    if min(args.T, args.B, args.I, args.H, args.repeats) < 1:
        p.error("--T, --B, --I, --H and --repeats must be positive")
    from minirnn import kernels

    res = phases(args.T, args.B, args.I, args.H, np.dtype(args.dtype).type, args.repeats, args.threads)
    total = res["forward + backward"]
    print(f"LSTM {args.dtype} T={args.T} B={args.B} I={args.I} H={args.H}, BLAS {kernels.blas()}, "
          f"{args.threads} thread(s), load {os.getloadavg()[0]:.2f}: ms (share of forward + backward)")
    for name, ms in res.items():
        if args.threads == 1 or "step products" not in name:
            print(f"  {name:<24}{ms:9.3f}  {ms / total:6.1%}")
    if args.threads > 1:
        return 0
    gates_f = res["forward loop"] - res["forward step products"]
    gates_b = res["backward loop"] - res["backward step products"]
    print(f"  gate arithmetic          {gates_f + gates_b:9.3f}  {(gates_f + gates_b) / total:6.1%}"
          f"   (forward {gates_f:.3f}, backward {gates_b:.3f})")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
