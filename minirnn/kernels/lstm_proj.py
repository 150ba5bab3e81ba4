"""Numba loops for the LSTM with a recurrent projection (PyTorch's ``proj_size``). The math lives in
cells/lstm_proj.py; this file only makes it fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.lstm_proj.forward`` and ``backward``: same
arguments, same return values, same cache dict (keys x, mask, W_ih, W_hh, W_hr, hs, cs, gates, tanh_c, ms), so
a cache from one backend can go into the other's backward. As in the cells, the input projection is one NumPy
GEMM before the loop and the weight gradients NumPy GEMMs after it; only the time loop is compiled:

    forward loop    cells.lstm_proj.recurrent_step (the LSTM step, then h = m W_hr^T), plus the padding mask
    backward loop   dm = dh W_hr, cells.lstm.gate_gradients, dh_prev = da W_hh, plus the padding mask
"""

from __future__ import annotations

import numpy as np

from ..cells._common import as_step_mask, project_inputs, weight_gradients
from ._common import (
    check_backward_args,
    check_forward_args,
    as_state,
    c_array,
    float_dtype,
    loop_mask,
    mark_spent,
    require_unspent,
)
from ._blas import gemm_nn, gemm_nt, matmul
from ._jit import jit
from ._math import tanh


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, mask=None):
    """Run the cell over a whole sequence (compiled loop). Mirrors ``minirnn.cells.lstm_proj.forward``.

    Args:
        x: (T, B, I);  h0 (B, P), c0 (B, H);  W_ih (4H, I), W_hh (4H, P), b_ih, b_hh (4H,), W_hr (P, H);
        mask: optional (T, B) booleans; False marks padding.

    Returns:
        ``out (T, B, P), h_n (B, P), c_n (B, H), cache``.
    """
    H, P = (np.shape(W_hh)[0] // 4, np.shape(W_hh)[1]) if np.ndim(W_hh) == 2 else (-1, -1)  # W_hh (4H, P)
    B = np.shape(x)[1] if np.ndim(x) == 3 else -1
    check_forward_args(
        4,
        x,
        {"h0": (h0, (B, P)), "c0": (c0, (B, H))},
        (W_ih, W_hh, b_ih, b_hh),
        mask,
        extra={"W_hr": (W_hr, (P, H))},
        H=H,
    )
    dtype = float_dtype(x)
    T, B, _ = x.shape
    P, H = W_hr.shape
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih, matmul=matmul)  # (T, B, 4H): all steps, one GEMM
    hs, cs, gates, tanh_c, ms, out = _forward_loop(
        c_array(x_proj, dtype),
        as_state(h0, B, P, dtype),
        as_state(c0, B, H, dtype),
        c_array(W_hh, dtype),
        c_array(b_hh, dtype),
        c_array(W_hr, dtype),
        *loop_mask(m, dtype),
    )
    cache = {
        "x": x,
        "mask": m,
        "W_ih": W_ih,
        "W_hh": W_hh,
        "W_hr": W_hr,
        "hs": hs,
        "cs": cs,
        "gates": gates,
        "tanh_c": tanh_c,
        "ms": ms,
    }
    return out, hs[T], cs[T], cache


def backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors the cell's ``backward``.

    Args:
        dout: (T, B, P);  dh_n (B, P), dc_n (B, H);  cache: from either backend's forward. Used up: the loop
            writes the gate gradients over ``cache["gates"]``.

    Returns:
        dict ``x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr`` (shapes of the inputs).
    """
    check_backward_args(dout, {"dh_n": dh_n, "dc_n": dc_n}, cache)
    require_unspent(cache)
    x, m, W_ih, W_hh, W_hr = cache["x"], cache["mask"], cache["W_ih"], cache["W_hh"], cache["W_hr"]
    hs, cs, gates, tanh_c, ms = cache["hs"], cache["cs"], cache["gates"], cache["tanh_c"], cache["ms"]
    dtype = float_dtype(x)
    T, B, _ = x.shape
    P, H = W_hr.shape
    da, dhs, dh0, dc0 = _backward_loop(
        c_array(dout, dtype),
        as_state(dh_n, B, P, dtype),
        as_state(dc_n, B, H, dtype),
        c_array(W_hh, dtype),
        c_array(W_hr, dtype),
        c_array(cs, dtype),
        c_array(gates, dtype),
        c_array(tanh_c, dtype),
        *loop_mask(m, dtype),
    )
    mark_spent(cache)
    grads = weight_gradients(da, da, x, hs, W_ih, matmul=matmul)  # dx and the LSTM's weight gradients
    grads["W_hr"] = dhs.reshape(T * B, P).T @ ms.reshape(T * B, H)  # sum_t dh_t^T m_t  (P, H)
    grads["h0"], grads["c0"] = dh0, dc0
    return grads


@jit
def _forward_loop(x_proj, h0, c0, W_hh, b_hh, W_hr, mask, has_mask):
    """The time loop of the forward pass.

    x_proj (T, B, 4H);  h0 (B, P), c0 (B, H);  W_hh (4H, P);  b_hh (4H,);  W_hr (P, H);  mask (T, B, 1),
    has_mask. Returns ``hs (T+1, B, P), cs (T+1, B, H), gates (T, B, 4H), tanh_c, ms (T, B, H), out (T, B,
    P)``; ``gates`` is ``x_proj`` itself, each pre-activation input replaced by its gate value.
    """
    T, B, H4 = x_proj.shape
    H, P = H4 // 4, W_hr.shape[0]
    one, half = x_proj.dtype.type(1), x_proj.dtype.type(0.5)
    hs = np.empty((T + 1, B, P), x_proj.dtype)
    cs = np.empty((T + 1, B, H), x_proj.dtype)
    gates = x_proj
    tanh_c = np.empty((T, B, H), x_proj.dtype)
    ms = np.empty((T, B, H), x_proj.dtype)  # m = o * tanh(c)
    out = np.empty((T, B, P), x_proj.dtype)
    for b in range(B):
        for j in range(P):
            hs[0, b, j] = h0[b, j]
        for j in range(H):
            cs[0, b, j] = c0[b, j]
    h_rec = np.empty((B, 4 * H), x_proj.dtype)  # h_{t-1} W_hh^T
    scale = np.full(4 * H, half)  # one tanh for all four gates, as kernels.lstm
    scale[2 * H : 3 * H] = one
    for t in range(T):
        gemm_nt(hs[t], W_hh, h_rec)
        for b in range(B):
            a, gate = h_rec[b], gates[t, b]
            for k in range(4 * H):  # i, f, o: sigmoid; g: tanh
                s = scale[k]
                gate[k] = s * tanh(s * (gate[k] + a[k] + b_hh[k])) + (one - s)
            c_prev, c_new, tc, m_tb = cs[t, b], cs[t + 1, b], tanh_c[t, b], ms[t, b]
            for j in range(H):
                c_new[j] = gate[H + j] * c_prev[j] + gate[j] * gate[2 * H + j]  # c = f * c_prev + i * g
            for j in range(H):
                tc[j] = tanh(c_new[j])
            for j in range(H):
                m_tb[j] = gate[3 * H + j] * tc[j]  # m = o * tanh(c)
            if has_mask:
                m = mask[t, b, 0]
                for j in range(H):
                    c_new[j] = m * c_new[j] + (one - m) * c_prev[j]
        gemm_nt(ms[t], W_hr, hs[t + 1])  # h = m W_hr^T  (B, P)
        for b in range(B):
            h_prev, h_new, out_tb = hs[t, b], hs[t + 1, b], out[t, b]
            for j in range(P):
                out_tb[j] = h_new[j]
            if has_mask:  # padded rows keep their state
                m = mask[t, b, 0]
                for j in range(P):
                    h_new[j] = m * h_new[j] + (one - m) * h_prev[j]
                    out_tb[j] = m * out_tb[j]
    return hs, cs, gates, tanh_c, ms, out


@jit
def _backward_loop(dout, dh_n, dc_n, W_hh, W_hr, cs, gates, tanh_c, mask, has_mask):
    """The time loop of BPTT: returns ``da (T, B, 4H)`` (over ``gates``), ``dhs (T, B, P)`` (the gradient
    entering
    each step's h, for dW_hr), ``dh0 (B, P)`` and ``dc0 (B, H)``."""
    T, B, H = tanh_c.shape
    P = W_hr.shape[0]
    one = tanh_c.dtype.type(1)
    da = gates
    dhs = np.empty((T, B, P), tanh_c.dtype)
    dh_carry, dc_carry = dh_n.copy(), dc_n.copy()
    dh_prev = np.empty((B, P), tanh_c.dtype)
    dc_prev = np.empty((B, H), tanh_c.dtype)
    dm = np.empty((B, H), tanh_c.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(P):
                if has_mask:  # only real steps pass gradient into the cell
                    dhs[t, b, j] = mask[t, b, 0] * (dout[t, b, j] + dh_carry[b, j])
                else:
                    dhs[t, b, j] = dout[t, b, j] + dh_carry[b, j]
        gemm_nn(dhs[t], W_hr, dm)  # dm = dh W_hr  (B, H)
        for b in range(B):
            for j in range(H):
                dc = mask[t, b, 0] * dc_carry[b, j] if has_mask else dc_carry[b, j]
                i, f, g, o = (
                    gates[t, b, j],
                    gates[t, b, H + j],
                    gates[t, b, 2 * H + j],
                    gates[t, b, 3 * H + j],
                )
                tc = tanh_c[t, b, j]
                do = dm[b, j] * tc
                dc = dc + dm[b, j] * o * (one - tc * tc)
                di, df, dg = dc * g, dc * cs[t, b, j], dc * i
                dc_prev[b, j] = dc * f
                da[t, b, j] = di * i * (one - i)
                da[t, b, H + j] = df * f * (one - f)
                da[t, b, 2 * H + j] = dg * (one - g * g)
                da[t, b, 3 * H + j] = do * o * (one - o)
        gemm_nn(da[t], W_hh, dh_prev)  # (B, P)
        if has_mask:  # padded rows pass it straight through
            for b in range(B):
                m = mask[t, b, 0]
                for j in range(P):
                    dh_prev[b, j] = dh_prev[b, j] + (one - m) * dh_carry[b, j]
                for j in range(H):
                    dc_prev[b, j] = dc_prev[b, j] + (one - m) * dc_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
        dc_carry, dc_prev = dc_prev, dc_carry
    return da, dhs, dh_carry, dc_carry
