"""Numba loops for the LSTM with peephole connections. The math lives in cells/lstm_peephole.py; this file
only makes it fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.lstm_peephole.forward`` and ``backward``: same
arguments, same return values, same cache dict (keys x, mask, W_ih, W_hh, peepholes, hs, cs, gates, tanh_c),
so a cache from one backend can go into the other's backward. The input projection is one NumPy GEMM before
the loop, the weight gradients (``cells.lstm_peephole.peephole_gradients`` for w_ci, w_cf, w_co) NumPy after
it; only the loop is compiled:

    forward loop    cells.lstm_peephole.recurrent_step, plus the padding mask
    backward loop   cells.lstm_peephole.gate_gradients and dh_prev = da W_hh, plus the padding mask
"""

from __future__ import annotations

import numpy as np

from ..cells._common import as_step_mask, project_inputs, weight_gradients
from ..cells.lstm_peephole import peephole_gradients
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


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co, mask=None):
    """Run the cell over a whole sequence (compiled loop). Mirrors ``minirnn.cells.lstm_peephole.forward``.

    Args:
        x: (T, B, I);  h0, c0 (B, H);  W_ih (4H, I), W_hh (4H, H), b_ih, b_hh (4H,);  w_ci, w_cf, w_co (H,);
        mask: optional (T, B) booleans; False marks padding.

    Returns:
        ``out (T, B, H), h_n (B, H), c_n (B, H), cache``.
    """
    H = np.shape(W_hh)[-1]
    check_forward_args(
        4,
        x,
        {"h0": h0, "c0": c0},
        (W_ih, W_hh, b_ih, b_hh),
        mask,
        extra={"w_ci": (w_ci, (H,)), "w_cf": (w_cf, (H,)), "w_co": (w_co, (H,))},
    )
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = W_hh.shape[1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih, matmul=matmul)  # (T, B, 4H): all steps, one GEMM
    peepholes = (w_ci, w_cf, w_co)
    hs, cs, gates, tanh_c, out = _forward_loop(
        c_array(x_proj, dtype),
        as_state(h0, B, H, dtype),
        as_state(c0, B, H, dtype),
        c_array(W_hh, dtype),
        c_array(b_hh, dtype),
        *(c_array(w, dtype) for w in peepholes),
        *loop_mask(m, dtype),
    )
    cache = {
        "x": x,
        "mask": m,
        "W_ih": W_ih,
        "W_hh": W_hh,
        "peepholes": peepholes,
        "hs": hs,
        "cs": cs,
        "gates": gates,
        "tanh_c": tanh_c,
    }
    return out, hs[T], cs[T], cache


def backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors the cell's ``backward``.

    Args:
        dout: (T, B, H);  dh_n, dc_n (B, H);  cache: from either backend's forward. Used up: the loop writes
            the gate gradients over ``cache["gates"]``.

    Returns:
        dict ``x, h0, c0, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co`` (shapes of the inputs).
    """
    check_backward_args(dout, {"dh_n": dh_n, "dc_n": dc_n}, cache)
    require_unspent(cache)
    x, m, W_ih, W_hh, hs, cs = (
        cache["x"],
        cache["mask"],
        cache["W_ih"],
        cache["W_hh"],
        cache["hs"],
        cache["cs"],
    )
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = hs.shape[-1]
    da, dh0, dc0 = _backward_loop(
        c_array(dout, dtype),
        as_state(dh_n, B, H, dtype),
        as_state(dc_n, B, H, dtype),
        c_array(W_hh, dtype),
        c_array(cs, dtype),
        c_array(cache["gates"], dtype),
        c_array(cache["tanh_c"], dtype),
        *(c_array(w, dtype) for w in cache["peepholes"]),
        *loop_mask(m, dtype),
    )
    mark_spent(cache)
    grads = weight_gradients(da, da, x, hs, W_ih, matmul=matmul)  # dx and the LSTM's weight gradients
    grads.update(peephole_gradients(da, cs))
    grads["h0"], grads["c0"] = dh0, dc0
    return grads


@jit
def _forward_loop(x_proj, h0, c0, W_hh, b_hh, w_ci, w_cf, w_co, mask, has_mask):
    """The time loop of the forward pass.

    x_proj (T, B, 4H);  h0, c0 (B, H);  W_hh (4H, H);  b_hh (4H,);  w_ci, w_cf, w_co (H,);  mask, has_mask.
    Returns ``hs, cs (T+1, B, H), gates (T, B, 4H) = [i, f, g, o], tanh_c (T, B, H), out (T, B, H)``;
    ``gates`` is ``x_proj`` itself, each pre-activation input replaced by its gate value.
    """
    T, B, H4 = x_proj.shape
    H = H4 // 4
    one, half = x_proj.dtype.type(1), x_proj.dtype.type(0.5)
    hs = np.empty((T + 1, B, H), x_proj.dtype)
    cs = np.empty((T + 1, B, H), x_proj.dtype)
    gates = x_proj
    tanh_c = np.empty((T, B, H), x_proj.dtype)
    out = np.empty((T, B, H), x_proj.dtype)
    for b in range(B):
        for j in range(H):
            hs[0, b, j] = h0[b, j]
            cs[0, b, j] = c0[b, j]
    h_rec = np.empty((B, 4 * H), x_proj.dtype)  # h_{t-1} W_hh^T
    for t in range(T):
        gemm_nt(hs[t], W_hh, h_rec)
        for b in range(B):
            a, gate = h_rec[b], gates[t, b]
            c_prev, h_prev, c_new, h_new = cs[t, b], hs[t, b], cs[t + 1, b], hs[t + 1, b]
            tc, out_tb = tanh_c[t, b], out[t, b]
            for j in range(H):  # i = sigmoid(a_i + w_ci * c_prev)
                gate[j] = half * (one + tanh(half * (gate[j] + a[j] + b_hh[j] + w_ci[j] * c_prev[j])))
            for j in range(H):  # f = sigmoid(a_f + w_cf * c_prev)
                k = H + j
                gate[k] = half * (one + tanh(half * (gate[k] + a[k] + b_hh[k] + w_cf[j] * c_prev[j])))
            for j in range(H):  # g = tanh(a_g)
                k = 2 * H + j
                gate[k] = tanh(gate[k] + a[k] + b_hh[k])
            for j in range(H):
                c_new[j] = gate[H + j] * c_prev[j] + gate[j] * gate[2 * H + j]  # c = f * c_prev + i * g
            for j in range(H):  # o = sigmoid(a_o + w_co * c)
                k = 3 * H + j
                gate[k] = half * (one + tanh(half * (gate[k] + a[k] + b_hh[k] + w_co[j] * c_new[j])))
            for j in range(H):
                tc[j] = tanh(c_new[j])
            for j in range(H):
                h_new[j] = gate[3 * H + j] * tc[j]  # h = o * tanh(c)
                out_tb[j] = h_new[j]
            if has_mask:  # padded rows keep their state
                m = mask[t, b, 0]
                for j in range(H):
                    h_new[j] = m * h_new[j] + (one - m) * h_prev[j]
                    c_new[j] = m * c_new[j] + (one - m) * c_prev[j]
                    out_tb[j] = m * out_tb[j]
    return hs, cs, gates, tanh_c, out


@jit
def _backward_loop(dout, dh_n, dc_n, W_hh, cs, gates, tanh_c, w_ci, w_cf, w_co, mask, has_mask):
    """The time loop of BPTT: carries dh, dc back and returns ``da (T, B, 4H)`` (over ``gates``), ``dh0``,
    ``dc0``.

    Arguments as :func:`_forward_loop` returns them; see ``cells.lstm_peephole.gate_gradients`` for the math.
    """
    T, B, H = tanh_c.shape
    one = tanh_c.dtype.type(1)
    da = gates
    dh_carry, dc_carry = dh_n.copy(), dc_n.copy()
    dh_prev = np.empty((B, H), tanh_c.dtype)
    dc_prev = np.empty((B, H), tanh_c.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                if has_mask:  # only real steps pass gradient into the cell
                    m = mask[t, b, 0]
                    dh = m * (dout[t, b, j] + dh_carry[b, j])
                    dc = m * dc_carry[b, j]
                else:
                    dh = dout[t, b, j] + dh_carry[b, j]
                    dc = dc_carry[b, j]
                i, f, g, o = (
                    gates[t, b, j],
                    gates[t, b, H + j],
                    gates[t, b, 2 * H + j],
                    gates[t, b, 3 * H + j],
                )
                tc, c_prev = tanh_c[t, b, j], cs[t, b, j]
                da_o = dh * tc * o * (one - o)
                dc = dc + dh * o * (one - tc * tc) + da_o * w_co[j]
                da_i = dc * g * i * (one - i)
                da_f = dc * c_prev * f * (one - f)
                dc_prev[b, j] = dc * f + da_i * w_ci[j] + da_f * w_cf[j]
                da[t, b, j] = da_i
                da[t, b, H + j] = da_f
                da[t, b, 2 * H + j] = dc * i * (one - g * g)
                da[t, b, 3 * H + j] = da_o
        gemm_nn(da[t], W_hh, dh_prev)  # (B, H)
        if has_mask:  # padded rows pass it straight through
            for b in range(B):
                m = mask[t, b, 0]
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] + (one - m) * dh_carry[b, j]
                    dc_prev[b, j] = dc_prev[b, j] + (one - m) * dc_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
        dc_carry, dc_prev = dc_prev, dc_carry
    return da, dh_carry, dc_carry
