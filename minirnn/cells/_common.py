"""Small pieces shared by the cells: the logistic sigmoid, the padding mask, the recurrent-dropout mask, and
the two matrix products around the time loop (all inputs projected at once before it, every weight gradient at
once
after it)."""

from __future__ import annotations

import numpy as np


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), written as 0.5 * (1 + tanh(a / 2)) so it never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * a))


def dropped(h, recurrent_mask):
    """``h * recurrent_mask``: h_{t-1} as it enters the recurrent product under recurrent dropout; h itself
    when
    the mask is None (no dropout: no multiplication, no copy).

    ``recurrent_mask`` (B, H) is drawn once per sequence (0 or 1/(1-p), Gal & Ghahramani 2016) and used at
    every step.
    """
    return h if recurrent_mask is None else h * recurrent_mask


def as_step_mask(mask, x):
    """A (T, B) boolean mask as a (T, B, 1) array of 0/1 in x's dtype, ready to multiply states; None stays
    None."""
    if mask is None:
        return None
    return np.asarray(mask, dtype=bool).astype(x.dtype)[:, :, None]


def project_inputs(x, W_ih, b_ih=None, matmul=np.matmul):
    """``x W_ih^T + b_ih`` for every step at once: x (T, B, I) -> (T, B, G*H), as ONE 2-D GEMM on the T*B
    rows; ``b_ih=None`` adds no bias (a compiled loop that adds both biases itself). ``matmul``: the 2-D
    product to use (the compiled backend passes its BLAS's).

    (NumPy's matmul on a 3-D array would call BLAS once per time step; the bias is added in place, so no
    second (T*B, G*H) array is filled: docs/performance.md.)
    """
    T, B, I = x.shape
    x_proj = matmul(x.reshape(T * B, I), W_ih.T)  # (TB, GH)
    if b_ih is not None:
        x_proj += b_ih
    return x_proj.reshape(T, B, W_ih.shape[0])


def weight_gradients(dx_proj, dh_proj, x, hs, W_ih, matmul=np.matmul):
    """After the time loop: dx and every weight gradient as single matrix products over all T*B rows.

    dx_proj, dh_proj (T, B, G*H): gradients of ``x_t W_ih^T + b_ih`` and ``h_{t-1} W_hh^T + b_hh`` at every
    step (the same array for RNN and LSTM; different for GRU, whose reset gate sits inside the recurrent
    term); x (T, B, I); hs (T+1, B, H) the carried states, so ``hs[:-1]`` are the h_{t-1}.

        dx = dx_proj W_ih        dW_ih = sum_t dx_proj_t^T x_t        dW_hh = sum_t dh_proj_t^T h_{t-1}
        db_ih = sum_{t,b} dx_proj        db_hh = sum_{t,b} dh_proj

    Returns a dict with keys ``x, W_ih, W_hh, b_ih, b_hh``. ``matmul`` as in :func:`project_inputs`.

    When dx_proj and dh_proj are one array (RNN, LSTM) the bias gradients are one sum. dW_ih and dW_hh are two
    products. One product ``dx_proj^T [x | h_prev]`` is as fast at the medium size and 20-30% faster at the
    large one (MKL's product with a transposed left operand and a narrow right one, ``dx_proj^T x``, is slow:
    ``python benchmarks/batch_split.py --weight-gradients --size 100,64,128,512``), but its (T*B, I+H) copy
    was the largest temporary of a backward pass, 0.15x of the stored activations, and kept peak memory over
    its 1.3x target (``python benchmarks/speed.py``'s memory row; docs/performance.md).
    """
    T, B, I = x.shape
    H, GH = hs.shape[-1], dx_proj.shape[-1]
    dxp, dhp = dx_proj.reshape(T * B, GH), dh_proj.reshape(T * B, GH)  # (TB, GH)
    x2, h2 = x.reshape(T * B, I), hs[:-1].reshape(T * B, H)  # (TB, I), (TB, H): h_{t-1}
    grads = {"x": matmul(dxp, W_ih).reshape(T, B, I), "b_ih": dxp.sum(0)}  # dx (T, B, I)
    grads["W_ih"], grads["W_hh"] = matmul(dxp.T, x2), matmul(dhp.T, h2)  # (GH, I), (GH, H)
    grads["b_hh"] = grads["b_ih"].copy() if dh_proj is dx_proj else dhp.sum(0)
    return grads
