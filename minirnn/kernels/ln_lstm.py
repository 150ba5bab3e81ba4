"""Numba loops for the layer-normalised LSTM. The math lives in cells/ln_lstm.py; this file only makes it
fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.ln_lstm.forward`` and ``backward``: same
arguments, same return values, same cache dict, so a cache from one backend can go into the other's backward.
The input side ``g_ih * LN(x W_ih^T) + b_ih`` of all steps is NumPy before the loop
(``cells.layer_norm.normalize_inputs``),
and its backward and the weight gradients are NumPy after it; only the time loop is compiled:

    forward loop    cells.ln_lstm.recurrent_step, plus the padding and recurrent-dropout masks
    backward loop   cells.ln_lstm._step_back, plus the masks

Each layer norm is two passes over a row (mean, then variance) inside the loop; constants are typed
(``dtype.type(1)``) so float32 stays float32.
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


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, g_c, b_c, mask=None, recurrent_mask=None):
    """Run the layer-normalised LSTM over a whole sequence (compiled loop). Mirrors ``cells.ln_lstm.forward``.

    Args:
        x: (T, B, I);  h0, c0: (B, H);  W_ih (4H, I), W_hh (4H, H), b_ih, b_hh, g_ih, g_hh (4H,), g_c, b_c
        (H,). mask: optional (T, B) booleans (padding);  recurrent_mask: optional (B, H) recurrent-dropout
        mask.

    Returns:
        ``out (T, B, H), h_n (B, H), c_n (B, H), cache``.
    """
    check_forward_args(
        4,
        x,
        {"h0": h0, "c0": c0},
        (W_ih, W_hh, b_ih, b_hh),
        mask,
        extra={
            "g_ih": (g_ih, np.shape(b_ih)),
            "g_hh": (g_hh, np.shape(b_hh)),
            "g_c": (g_c, np.shape(W_hh)[1:]),
            "b_c": (b_c, np.shape(W_hh)[1:]),
        },
    )
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = W_hh.shape[1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_term, u_hat, u_rstd = normalize_inputs(x, W_ih, g_ih)  # (T, B, 4H): all steps at once
    x_term += b_ih
    hs, cs, gates, tanh_c, v_hat, v_rstd, c_hat, c_rstd, out = _forward_loop(
        c_array(x_term, dtype),
        as_state(h0, B, H, dtype),
        as_state(c0, B, H, dtype),
        c_array(W_hh, dtype),
        c_array(b_hh, dtype),
        c_array(g_hh, dtype),
        c_array(g_c, dtype),
        c_array(b_c, dtype),
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
        "g_c": g_c,
        "hs": hs,
        "cs": cs,
        "gates": gates,
        "tanh_c": tanh_c,
        "u_hat": u_hat,
        "u_rstd": u_rstd,
        "v_hat": v_hat,
        "v_rstd": v_rstd,
        "c_hat": c_hat,
        "c_rstd": c_rstd,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cs[T], cache


def backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors ``cells.ln_lstm.backward``.

    The cache is used up: the loop writes the gradients of the pre-activations over ``cache["gates"]``.

    Returns:
        dict of gradients ``x, h0, c0, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, g_c, b_c``.
    """
    check_backward_args(dout, {"dh_n": dh_n, "dc_n": dc_n}, cache)
    require_unspent(cache)
    x, m, hs, rmask = cache["x"], cache["mask"], cache["hs"], cache["recurrent_mask"]
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = hs.shape[-1]
    names = ("W_hh", "g_hh", "g_c", "cs", "gates", "tanh_c", "v_hat", "v_rstd", "c_hat", "c_rstd")
    da, dv, dk, dh0, dc0 = _backward_loop(
        c_array(dout, dtype),
        as_state(dh_n, B, H, dtype),
        as_state(dc_n, B, H, dtype),
        *(c_array(cache[k], dtype) for k in names),
        *loop_mask(m, dtype),
        *loop_recurrent_mask(rmask, B, H, dtype),
    )
    mark_spent(cache)
    du = normalize_backward(da * cache["g_ih"], cache["u_hat"], cache["u_rstd"])  # (T, B, 4H)
    grads = weight_gradients(du, dv, x, dropped(hs, rmask), cache["W_ih"], matmul=matmul)
    grads["b_ih"] = sum_rows(da)
    grads["b_hh"] = grads["b_ih"].copy()
    grads["g_ih"], grads["g_hh"] = sum_rows(da * cache["u_hat"]), sum_rows(da * cache["v_hat"])
    grads["g_c"], grads["b_c"] = sum_rows(dk * cache["c_hat"]), sum_rows(dk)
    grads["h0"], grads["c0"] = dh0, dc0
    return grads


@jit
def _forward_loop(x_term, h0, c0, W_hh, b_hh, g_hh, g_c, b_c, eps, mask, has_mask, rmask, has_rmask):
    """The time loop of the forward pass.

    x_term (T, B, 4H) = g_ih LN(x W_ih^T) + b_ih;  h0, c0 (B, H);  W_hh (4H, H);  b_hh, g_hh (4H,);  g_c, b_c
    (H,); mask (T, B, 1) read only if has_mask;  rmask (B, H) read only if has_rmask.  Returns ``hs, cs (T+1,
    B, H), gates (T, B, 4H) (written over x_term), tanh_c (T, B, H), v_hat (T, B, 4H), v_rstd (T, B, 1), c_hat
    (T, B, H), c_rstd (T, B, 1), out (T, B, H)``.
    """
    T, B, H4 = x_term.shape
    H = H4 // 4
    dt = x_term.dtype
    one, half = dt.type(1), dt.type(0.5)
    hs, cs = np.empty((T + 1, B, H), dt), np.empty((T + 1, B, H), dt)
    gates = x_term  # in place, after their nonlinearities
    tanh_c, c_hat, out = np.empty((T, B, H), dt), np.empty((T, B, H), dt), np.empty((T, B, H), dt)
    v_hat, v_rstd, c_rstd = np.empty((T, B, H4), dt), np.empty((T, B, 1), dt), np.empty((T, B, 1), dt)
    for b in range(B):
        for j in range(H):
            hs[0, b, j] = h0[b, j]
            cs[0, b, j] = c0[b, j]
    v = np.empty((B, H4), dt)  # (h_{t-1} * m) W_hh^T
    h_in = np.empty((B, H), dt)
    scale = np.full(H4, half)  # one tanh for all four gates (kernels/lstm.py)
    scale[2 * H : 3 * H] = one
    for t in range(T):
        gemm_nt(dropped_state(hs[t], rmask, has_rmask, h_in), W_hh, v)  # (h_{t-1} * m) W_hh^T
        for b in range(B):
            vb, vh, gate = v[b], v_hat[t, b], gates[t, b]
            rstd = normalize_row(vb, vh, eps)  # vh = LN(v) before its gain
            v_rstd[t, b, 0] = rstd
            for k in range(H4):  # a = x_term + g_hh LN(v) + b_hh
                s = scale[k]
                gate[k] = s * tanh(s * (gate[k] + g_hh[k] * vh[k] + b_hh[k])) + (one - s)
            c_prev, h_prev, c_new, h_new = cs[t, b], hs[t, b], cs[t + 1, b], hs[t + 1, b]
            for j in range(H):
                c_new[j] = gate[H + j] * c_prev[j] + gate[j] * gate[2 * H + j]  # c = f * c_prev + i * g
            c_rstd[t, b, 0] = normalize_row(c_new, c_hat[t, b], eps)
            tc, ch, out_tb = tanh_c[t, b], c_hat[t, b], out[t, b]
            for j in range(H):
                tc[j] = tanh(g_c[j] * ch[j] + b_c[j])
            for j in range(H):
                h_new[j] = gate[3 * H + j] * tc[j]  # h = o * tanh(g_c LN(c) + b_c)
                out_tb[j] = h_new[j]
            if has_mask:  # padded rows keep their state
                mk = mask[t, b, 0]
                for j in range(H):
                    h_new[j] = mk * h_new[j] + (one - mk) * h_prev[j]
                    c_new[j] = mk * c_new[j] + (one - mk) * c_prev[j]
                    out_tb[j] = mk * out_tb[j]
    return hs, cs, gates, tanh_c, v_hat, v_rstd, c_hat, c_rstd, out


@jit
def _backward_loop(
    dout,
    dh_n,
    dc_n,
    W_hh,
    g_hh,
    g_c,
    cs,
    gates,
    tanh_c,
    v_hat,
    v_rstd,
    c_hat,
    c_rstd,
    mask,
    has_mask,
    rmask,
    has_rmask,
):
    """The time loop of BPTT: returns ``da (T, B, 4H)`` (written over ``gates``), ``dv (T, B, 4H)``, ``dk (T,
    B, H)`` (the gradient of g_c LN(c) + b_c), ``dh0, dc0 (B, H)``; arguments as saved by
    :func:`_forward_loop`.

    It is long because the compiled loop cannot call the readable step functions: the layer-norm
    backward of both products and of c is written out in one loop body.
    """
    T, B, H = tanh_c.shape
    dt = tanh_c.dtype
    one = dt.type(1)
    da = gates
    dv, dk = np.empty((T, B, 4 * H), dt), np.empty((T, B, H), dt)
    dh_carry, dc_carry = dh_n.copy(), dc_n.copy()
    dh_prev, dc_prev = np.empty((B, H), dt), np.empty((B, H), dt)
    dh, dc_ln = np.empty(H, dt), np.empty(H, dt)  # one row: dh, and dc through LN(c)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            mk = mask[t, b, 0] if has_mask else one
            for j in range(H):  # only real steps pass gradient into the cell
                dh[j] = mk * (dout[t, b, j] + dh_carry[b, j])
                o, tc = gates[t, b, 3 * H + j], tanh_c[t, b, j]
                dk[t, b, j] = dh[j] * o * (one - tc * tc)
            normalize_row_backward(dk[t, b], g_c, c_hat[t, b], c_rstd[t, b, 0], dc_ln)
            for j in range(H):
                i, f, g, o = (
                    gates[t, b, j],
                    gates[t, b, H + j],
                    gates[t, b, 2 * H + j],
                    gates[t, b, 3 * H + j],
                )
                dc = mk * dc_carry[b, j] + dc_ln[j]
                dc_prev[b, j] = dc * f
                da[t, b, j] = dc * g * i * (one - i)
                da[t, b, H + j] = dc * cs[t, b, j] * f * (one - f)
                da[t, b, 2 * H + j] = dc * i * (one - g * g)
                da[t, b, 3 * H + j] = dh[j] * tanh_c[t, b, j] * o * (one - o)
            normalize_row_backward(da[t, b], g_hh, v_hat[t, b], v_rstd[t, b, 0], dv[t, b])
        gemm_nn(dv[t], W_hh, dh_prev)  # (B, H)
        for b in range(B):
            mk = mask[t, b, 0] if has_mask else one
            for j in range(H):
                if has_rmask:  # recurrent dropout: (dv W_hh) * m
                    dh_prev[b, j] = dh_prev[b, j] * rmask[b, j]
                if has_mask:  # padded rows pass it straight through
                    dh_prev[b, j] = dh_prev[b, j] + (one - mk) * dh_carry[b, j]
                    dc_prev[b, j] = dc_prev[b, j] + (one - mk) * dc_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
        dc_carry, dc_prev = dc_prev, dc_carry
    return da, dv, dk, dh_carry, dc_carry
