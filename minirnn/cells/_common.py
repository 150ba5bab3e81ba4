"""Small pieces shared by the three cells: the logistic sigmoid and the padding mask."""
from __future__ import annotations

import numpy as np


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), written as 0.5 * (1 + tanh(a / 2)) so it never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * a))


def as_step_mask(mask, x):
    """A (T, B) boolean mask as a (T, B, 1) array of 0/1 in x's dtype, ready to multiply states; None stays None."""
    if mask is None:
        return None
    return np.asarray(mask, dtype=bool).astype(x.dtype)[:, :, None]


def require_unspent(cache):
    """Refuse a cache whose buffers a compiled backward pass has already reused (see :func:`mark_spent`)."""
    if cache.get("spent"):
        raise ValueError("cache was already used by a backward pass of the compiled (Numba) loops, which write the "
                         "gate gradients over the cache's gate values to save memory; run forward again to get a "
                         "fresh cache for another backward pass")


def mark_spent(cache):
    """Mark a cache as used up by a compiled backward pass, which wrote its gradients over the gate buffer."""
    cache["spent"] = True


def project_inputs(x, W_ih, b_ih):
    """``x W_ih^T + b_ih`` for every step at once: x (T, B, I) -> (T, B, G*H), as ONE 2-D GEMM on the T*B rows.

    (NumPy's matmul on a 3-D array calls BLAS once per time step: 4-6x slower at T=100, same numbers.)
    """
    T, B, I = x.shape
    return (x.reshape(T * B, I) @ W_ih.T + b_ih).reshape(T, B, W_ih.shape[0])


def weight_gradients(dx_proj, dh_proj, x, hs, W_ih):
    """After the time loop: dx and every weight gradient as single matrix products over all T*B rows.

    dx_proj, dh_proj (T, B, G*H): gradients of ``x_t W_ih^T + b_ih`` and ``h_{t-1} W_hh^T + b_hh`` at every step (the
    same array for RNN and LSTM; different for GRU, whose reset gate sits inside the recurrent term); x (T, B, I);
    hs (T+1, B, H) the carried states, so ``hs[:-1]`` are the h_{t-1}.

        dx = dx_proj W_ih        dW_ih = sum_t dx_proj_t^T x_t        dW_hh = sum_t dh_proj_t^T h_{t-1}
        db_ih = sum_{t,b} dx_proj        db_hh = sum_{t,b} dh_proj

    Returns a dict with keys ``x, W_ih, W_hh, b_ih, b_hh``.
    """
    T, B, I = x.shape
    H, GH = hs.shape[-1], dx_proj.shape[-1]
    dxp, dhp = dx_proj.reshape(T * B, GH), dh_proj.reshape(T * B, GH)       # (TB, GH)
    db_ih = dxp.sum(0)
    return {
        "x": (dxp @ W_ih).reshape(T, B, I),                                  # (T, B, I)
        "W_ih": dxp.T @ x.reshape(T * B, I),                                 # (GH, I)
        "W_hh": dhp.T @ hs[:-1].reshape(T * B, H),                           # (GH, H)
        "b_ih": db_ih,
        "b_hh": db_ih.copy() if dh_proj is dx_proj else dhp.sum(0),          # RNN, LSTM: the same sum
    }
