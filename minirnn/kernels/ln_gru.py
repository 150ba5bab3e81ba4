"""Numba loops for the layer-normalised GRU. The math lives in cells/ln_gru.py; this file only makes it fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.ln_gru.forward`` and ``backward``: same
arguments, same return values, same cache dict. The input side ``g_ih * LN(x W_ih^T) + b_ih`` of all steps is
NumPy before the loop, its backward and the weight gradients NumPy after it; only the time loop is compiled:

    forward loop    cells.ln_gru.recurrent_step, plus the padding and recurrent-dropout masks
    backward loop   cells.ln_gru._step_back (cells.gru.gate_gradients, then LN's backward), plus the masks
"""

from __future__ import annotations

import numpy as np

from ..cells._common import as_step_mask, dropped, weight_gradients
from ..cells.layer_norm import EPS, normalize_backward, normalize_inputs, sum_rows
from ._blas import gemm_nn, gemm_nt, matmul
from ._common import (
    check_backward_args,
    check_forward_args,
    as_state,
    c_array,
    dropped_state,
    float_dtype,
    loop_mask,
    loop_recurrent_mask,
    mark_spent,
    require_unspent,
)
from ._jit import jit
from ._layer_norm import normalize_row, normalize_row_backward
from ._math import tanh


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, mask=None, recurrent_mask=None):
    """Run the layer-normalised GRU over a whole sequence (compiled loop). Mirrors ``cells.ln_gru.forward``.

    Args:
        x: (T, B, I);  h0: (B, H);  W_ih (3H, I), W_hh (3H, H), b_ih, b_hh, g_ih, g_hh (3H,).
        mask: optional (T, B) booleans (padding);  recurrent_mask: optional (B, H) recurrent-dropout mask.

    Returns:
        ``out (T, B, H), h_n (B, H), cache``.
    """
    check_forward_args(
        3,
        x,
        {"h0": h0},
        (W_ih, W_hh, b_ih, b_hh),
        mask,
        extra={"g_ih": (g_ih, np.shape(b_ih)), "g_hh": (g_hh, np.shape(b_hh))},
    )
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = W_hh.shape[1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_term, u_hat, u_rstd = normalize_inputs(x, W_ih, g_ih)  # (T, B, 3H): all steps at once
    x_term += b_ih
    hs, gates, hn, v_hat, v_rstd, out = _forward_loop(
        c_array(x_term, dtype),
        as_state(h0, B, H, dtype),
        c_array(W_hh, dtype),
        c_array(b_hh, dtype),
        c_array(g_hh, dtype),
        dtype.type(EPS),
        *loop_mask(m, dtype),
        *loop_recurrent_mask(recurrent_mask, B, H, dtype),
    )
    cache = {
        "x": x,
        "mask": m,
        "W_ih": W_ih,
        "W_hh": W_hh,
        "g_ih": g_ih,
        "g_hh": g_hh,
        "hs": hs,
        "gates": gates,
        "hn": hn,
        "u_hat": u_hat,
        "u_rstd": u_rstd,
        "v_hat": v_hat,
        "v_rstd": v_rstd,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cache


def backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors ``cells.ln_gru.backward``.

    The cache is used up: the loop writes the input-side gradients over ``cache["gates"]``.

    Returns:
        dict of gradients ``x, h0, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh``.
    """
    check_backward_args(dout, {"dh_n": dh_n}, cache)
    require_unspent(cache)
    x, m, hs, rmask = cache["x"], cache["mask"], cache["hs"], cache["recurrent_mask"]
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = hs.shape[-1]
    names = ("W_hh", "g_hh", "hs", "gates", "hn", "v_hat", "v_rstd")
    dx_proj, dh_proj, dv, dh0 = _backward_loop(
        c_array(dout, dtype),
        as_state(dh_n, B, H, dtype),
        *(c_array(cache[k], dtype) for k in names),
        *loop_mask(m, dtype),
        *loop_recurrent_mask(rmask, B, H, dtype),
    )
    mark_spent(cache)
    du = normalize_backward(dx_proj * cache["g_ih"], cache["u_hat"], cache["u_rstd"])  # (T, B, 3H)
    grads = weight_gradients(du, dv, x, dropped(hs, rmask), cache["W_ih"], matmul=matmul)
    grads["b_ih"], grads["b_hh"] = sum_rows(dx_proj), sum_rows(dh_proj)
    grads["g_ih"], grads["g_hh"] = sum_rows(dx_proj * cache["u_hat"]), sum_rows(dh_proj * cache["v_hat"])
    grads["h0"] = dh0
    return grads


@jit
def _forward_loop(x_term, h0, W_hh, b_hh, g_hh, eps, mask, has_mask, rmask, has_rmask):
    """The time loop of the forward pass.

    x_term (T, B, 3H) = g_ih LN(x W_ih^T) + b_ih;  h0 (B, H);  W_hh (3H, H);  b_hh, g_hh (3H,);  mask (T, B,
    1) read only if has_mask;  rmask (B, H) read only if has_rmask.  Returns ``hs (T+1, B, H), gates (T, B,
    3H) = [r, z, n] (written over x_term), hn (T, B, H), v_hat (T, B, 3H), v_rstd (T, B, 1), out (T, B, H)``.
    """
    T, B, H3 = x_term.shape
    H = H3 // 3
    dt = x_term.dtype
    one, half = dt.type(1), dt.type(0.5)
    hs, hn, out = np.empty((T + 1, B, H), dt), np.empty((T, B, H), dt), np.empty((T, B, H), dt)
    gates = x_term
    v_hat, v_rstd = np.empty((T, B, H3), dt), np.empty((T, B, 1), dt)
    for b in range(B):
        for j in range(H):
            hs[0, b, j] = h0[b, j]
    v = np.empty((B, H3), dt)  # (h_{t-1} * m) W_hh^T
    h_in = np.empty((B, H), dt)
    for t in range(T):
        gemm_nt(dropped_state(hs[t], rmask, has_rmask, h_in), W_hh, v)  # (h_{t-1} * m) W_hh^T
        for b in range(B):
            vh, gate, hn_tb = v_hat[t, b], gates[t, b], hn[t, b]
            v_rstd[t, b, 0] = normalize_row(v[b], vh, eps)  # vh = LN(v) before its gain
            for k in range(2 * H):  # r, z = sigmoid(x_term + g_hh LN(v) + b_hh)
                gate[k] = half * (one + tanh(half * (gate[k] + g_hh[k] * vh[k] + b_hh[k])))
            for j in range(H):  # hn = g_hn LN(v)_n + b_hn
                hn_tb[j] = g_hh[2 * H + j] * vh[2 * H + j] + b_hh[2 * H + j]
            h_prev, h_new, out_tb = hs[t, b], hs[t + 1, b], out[t, b]
            for j in range(H):
                gate[2 * H + j] = tanh(gate[2 * H + j] + gate[j] * hn_tb[j])  # n = tanh(xn + r * hn)
                h_new[j] = (one - gate[H + j]) * gate[2 * H + j] + gate[H + j] * h_prev[j]
                out_tb[j] = h_new[j]
            if has_mask:  # padded rows keep their state
                mk = mask[t, b, 0]
                for j in range(H):
                    h_new[j] = mk * h_new[j] + (one - mk) * h_prev[j]
                    out_tb[j] = mk * out_tb[j]
    return hs, gates, hn, v_hat, v_rstd, out


@jit
def _backward_loop(dout, dh_n, W_hh, g_hh, hs, gates, hn, v_hat, v_rstd, mask, has_mask, rmask, has_rmask):
    """The time loop of BPTT: returns ``dx_proj (T, B, 3H)`` (written over ``gates``), ``dh_proj (T, B,
    3H)``, the gradients of the two normalised terms, ``dv (T, B, 3H)`` and ``dh0 (B, H)``; arguments as saved
    by the forward.
    """
    T, B, H = hn.shape
    dt = hn.dtype
    one = dt.type(1)
    dx_proj = gates
    dh_proj, dv = np.empty((T, B, 3 * H), dt), np.empty((T, B, 3 * H), dt)
    dh_carry = dh_n.copy()
    dh_direct, dh_prev = np.empty((B, H), dt), np.empty((B, H), dt)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            mk = mask[t, b, 0] if has_mask else one
            for j in range(H):  # cells.gru.gate_gradients
                dh = mk * (dout[t, b, j] + dh_carry[b, j])
                r, z, n = gates[t, b, j], gates[t, b, H + j], gates[t, b, 2 * H + j]
                dan = dh * (one - z) * (one - n * n)
                dar = dan * hn[t, b, j] * r * (one - r)
                daz = dh * (hs[t, b, j] - n) * z * (one - z)
                dx_proj[t, b, j], dx_proj[t, b, H + j], dx_proj[t, b, 2 * H + j] = dar, daz, dan
                dh_proj[t, b, j], dh_proj[t, b, H + j], dh_proj[t, b, 2 * H + j] = dar, daz, dan * r
                dh_direct[b, j] = dh * z
            normalize_row_backward(dh_proj[t, b], g_hh, v_hat[t, b], v_rstd[t, b, 0], dv[t, b])
        gemm_nn(dv[t], W_hh, dh_prev)  # (B, H)
        for b in range(B):
            mk = mask[t, b, 0] if has_mask else one
            for j in range(H):
                if has_rmask:  # recurrent dropout: (dv W_hh) * m
                    dh_prev[b, j] = dh_prev[b, j] * rmask[b, j]
                dh_prev[b, j] = dh_direct[b, j] + dh_prev[b, j]
                if has_mask:  # padded rows pass it straight through
                    dh_prev[b, j] = dh_prev[b, j] + (one - mk) * dh_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
    return dx_proj, dh_proj, dv, dh_carry
