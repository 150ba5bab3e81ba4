"""The recurrent product h W_hh^T of one step: OpenBLAS (which packs W_hh at every call) against a Numba loop
over a W_hh laid out once (pre-transposed), plain and blocked. ``python benchmarks/recurrent_product.py``; the
result is in
docs/performance.md ("What bounds what is still slow"). One thread, interleaved medians of 15 blocks."""

import os
import time

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import numpy as np  # noqa: E402
from numba import njit  # noqa: E402


@njit(cache=False, error_model="numpy")
def gemm_wt(h, Wt, out):
    """out = h @ Wt, Wt (K, N) pre-transposed; 4 rows of h at a time, N innermost (vectorised)."""
    B, K = h.shape
    N = Wt.shape[1]
    b = 0
    while b + 4 <= B:
        for j in range(N):
            out[b, j] = 0
            out[b + 1, j] = 0
            out[b + 2, j] = 0
            out[b + 3, j] = 0
        for k in range(K):
            h0 = h[b, k]
            h1 = h[b + 1, k]
            h2 = h[b + 2, k]
            h3 = h[b + 3, k]
            for j in range(N):
                w = Wt[k, j]
                out[b, j] += h0 * w
                out[b + 1, j] += h1 * w
                out[b + 2, j] += h2 * w
                out[b + 3, j] += h3 * w
        b += 4
    while b < B:
        for j in range(N):
            out[b, j] = 0
        for k in range(K):
            h0 = h[b, k]
            for j in range(N):
                out[b, j] += h0 * Wt[k, j]
        b += 1


@njit(cache=False, error_model="numpy")
def gemm_wt_blocked(h, Wt, out):
    """As gemm_wt with N split in blocks of 64 so 4 accumulator rows stay in L1."""
    B, K = h.shape
    N = Wt.shape[1]
    NB = 64
    for j0 in range(0, N, NB):
        j1 = min(j0 + NB, N)
        b = 0
        while b + 4 <= B:
            for j in range(j0, j1):
                out[b, j] = 0
                out[b + 1, j] = 0
                out[b + 2, j] = 0
                out[b + 3, j] = 0
            for k in range(K):
                h0 = h[b, k]
                h1 = h[b + 1, k]
                h2 = h[b + 2, k]
                h3 = h[b + 3, k]
                for j in range(j0, j1):
                    w = Wt[k, j]
                    out[b, j] += h0 * w
                    out[b + 1, j] += h1 * w
                    out[b + 2, j] += h2 * w
                    out[b + 3, j] += h3 * w
            b += 4
        while b < B:
            for j in range(j0, j1):
                out[b, j] = 0
            for k in range(K):
                h0 = h[b, k]
                for j in range(j0, j1):
                    out[b, j] += h0 * Wt[k, j]
            b += 1


print("load average", os.getloadavg())
for B, H, G, dt in [
    (32, 128, 4, np.float32),
    (4, 16, 4, np.float32),
    (64, 512, 4, np.float32),
    (32, 128, 4, np.float64),
]:
    rng = np.random.default_rng(0)
    h = rng.normal(size=(B, H)).astype(dt)
    W = rng.normal(size=(G * H, H)).astype(dt)
    Wt = np.ascontiguousarray(W.T)
    out = np.empty((B, G * H), dt)
    out2 = np.empty_like(out)
    gemm_wt(h, Wt, out)
    gemm_wt_blocked(h, Wt, out2)
    ref = h @ W.T
    assert np.allclose(out, ref, rtol=1e-3, atol=1e-3) and np.allclose(out2, ref, rtol=1e-3, atol=1e-3)
    fns = {
        "blas h@W.T": lambda: np.dot(h, W.T, out=out),
        "numba 4-row": lambda: gemm_wt(h, Wt, out),
        "numba blocked": lambda: gemm_wt_blocked(h, Wt, out2),
    }
    n = max(
        1,
        int(
            0.01
            / max(1e-7, (lambda t0: (fns["blas h@W.T"](), time.perf_counter() - t0)[1])(time.perf_counter()))
        ),
    )
    res = {k: [] for k in fns}
    for r in range(15):
        for k, f in fns.items():
            t = time.perf_counter()
            for _ in range(n):
                f()
            res[k].append((time.perf_counter() - t) / n)
    print((B, H, G, dt.__name__), {k: f"{np.median(v) * 1e6:.1f} us" for k, v in res.items()}, flush=True)
