"""Numba loops for the LSTM. The math lives in cells/lstm.py; this file only makes it fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.lstm.forward`` and ``backward``: same arguments,
same return values, same cache dict (keys x, mask, W_ih, W_hh, hs, cs, gates, tanh_c), so a cache from one
backend can go into the other's backward. As in the cells, the input projection ``x W_ih^T + b_ih`` for all
steps is one NumPy GEMM before the loop and the weight gradients are NumPy GEMMs after it; only the time loop
is compiled:

    forward loop    cells.lstm.recurrent_step, plus the padding mask; the recurrent product
                    h_{t-1} W_hh^T runs on W_hh^T laid out once per sequence (``W_hh_t``, (H, 4H)):
                    a plain product that OpenBLAS runs without re-packing W_hh at every step
    backward loop   cells.lstm.gate_gradients and dh_prev = da W_hh, plus the padding mask

Gate order is PyTorch's ``i, f, g, o``; sigmoid is written ``0.5 * (1 + tanh(0.5 a))`` exactly as in the
cells. Constants are typed (``dtype.type(1)``) so float32 stays float32 inside the loop.
"""

from __future__ import annotations

import numpy as np

from ..cells._common import as_step_mask, dropped, project_inputs, weight_gradients
from ._common import (
    as_state,
    c_array,
    check_backward_args,
    check_forward_args,
    dropped_state,
    float_dtype,
    loop_mask,
    loop_recurrent_mask,
    mark_spent,
    require_unspent,
)
from ._blas import gemm_nn
from ._jit import jit
from ._math import tanh


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask=None, recurrent_mask=None):
    """Run the LSTM over a whole sequence (compiled loop). Mirrors ``minirnn.cells.lstm.forward``.

    Args:
        x: (T, B, I) inputs, time-major.
        h0, c0: (B, H) initial states.
        W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,): parameters, gates in PyTorch order i, f, g, o.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.
        recurrent_mask: optional (B, H) recurrent-dropout mask on h_{t-1} in the recurrent product.

    Returns:
        ``out (T, B, H), h_n (B, H), c_n (B, H), cache``.
    """
    check_forward_args(4, x, {"h0": h0, "c0": c0}, (W_ih, W_hh, b_ih, b_hh), mask)
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = W_hh.shape[1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih)  # (T, B, 4H): all steps, one GEMM
    hs, cs, gates, tanh_c, out = _forward_loop(
        c_array(x_proj, dtype),
        as_state(h0, B, H, dtype),
        as_state(c0, B, H, dtype),
        c_array(W_hh.T, dtype),  # (H, 4H): copied once, read at every step
        c_array(b_hh, dtype),
        *loop_mask(m, dtype),
        *loop_recurrent_mask(recurrent_mask, B, H, dtype),
    )
    cache = {
        "x": x,
        "mask": m,
        "W_ih": W_ih,
        "W_hh": W_hh,
        "hs": hs,
        "cs": cs,
        "gates": gates,
        "tanh_c": tanh_c,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cs[T], cache


def backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors
    ``minirnn.cells.lstm.backward``.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n, dc_n: (B, H) with respect to the final
        states. cache: from :func:`forward` or from ``minirnn.cells.lstm.forward``. Used up: the loop writes
        the gate
            gradients over ``cache["gates"]`` (no second (T, B, 4H) array), so a second backward needs a new
            forward.

    Returns:
        dict ``x (T, B, I), h0 (B, H), c0 (B, H), W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,)``.
    """
    require_unspent(cache)
    check_backward_args(dout, {"dh_n": dh_n, "dc_n": dc_n}, cache)
    x, m, W_ih, W_hh = cache["x"], cache["mask"], cache["W_ih"], cache["W_hh"]
    hs, cs, gates, tanh_c = cache["hs"], cache["cs"], cache["gates"], cache["tanh_c"]
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = hs.shape[-1]
    da, dh0, dc0 = _backward_loop(
        c_array(dout, dtype),
        as_state(dh_n, B, H, dtype),
        as_state(dc_n, B, H, dtype),
        c_array(W_hh, dtype),
        c_array(cs, dtype),
        c_array(gates, dtype),
        c_array(tanh_c, dtype),
        *loop_mask(m, dtype),
        *loop_recurrent_mask(cache.get("recurrent_mask"), B, H, dtype),
    )
    mark_spent(cache)
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(da, da, x, hs_in, W_ih)  # dx and the weight gradients: one GEMM each
    grads["h0"], grads["c0"] = dh0, dc0
    return grads


@jit
def _forward_loop(x_proj, h0, c0, W_hh_t, b_hh, mask, has_mask, rmask, has_rmask):
    """The time loop of the forward pass.

    x_proj (T, B, 4H) = x W_ih^T + b_ih;  h0, c0 (B, H);  W_hh_t (H, 4H) = W_hh^T;  b_hh (4H,);
    mask (T, B, 1) 0/1, read only if has_mask;  rmask (B, H) the recurrent-dropout mask, read only if
    has_rmask.
    Returns ``hs, cs (T+1, B, H), gates (T, B, 4H) = [i, f, g, o], tanh_c (T, B, H), out (T, B, H)``.
    ``gates`` is ``x_proj`` itself (the caller's own temporary): each pre-activation input is replaced by its
    gate value, so the forward never holds both (T, B, 4H) arrays.
    """
    T, B, H4 = x_proj.shape
    H = H4 // 4
    one, half = x_proj.dtype.type(1), x_proj.dtype.type(0.5)
    hs = np.empty((T + 1, B, H), x_proj.dtype)  # carried states, hs[0] = h0
    cs = np.empty((T + 1, B, H), x_proj.dtype)
    gates = x_proj  # in place, after their nonlinearities
    tanh_c = np.empty((T, B, H), x_proj.dtype)
    out = np.empty((T, B, H), x_proj.dtype)
    for b in range(B):  # hs[0] = h0, cs[0] = c0, as loops:
        for j in range(H):  # Numba takes seconds to compile
            hs[0, b, j] = h0[b, j]  # an array-into-slice assignment
            cs[0, b, j] = c0[b, j]
    h_rec = np.empty((B, 4 * H), x_proj.dtype)  # h_{t-1} W_hh^T
    h_in = np.empty((B, H), x_proj.dtype)  # h_{t-1} * rmask
    scale = np.empty(4 * H, x_proj.dtype)  # one tanh for all four gates (see below): 1/2, but 1 for g
    for k in range(4 * H):
        scale[k] = one if 2 * H <= k < 3 * H else half
    for t in range(T):
        gemm_nn(dropped_state(hs[t], rmask, has_rmask, h_in), W_hh_t, h_rec)  # (h_{t-1} * m) W_hh^T
        for b in range(B):  # 1-D loops over units: LLVM vectorises them
            a, gate = h_rec[b], gates[t, b]  # (4H,) views; gate holds x W_ih^T + b_ih
            for k in range(4 * H):  # a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh
                s = scale[k]  # i, f, o: sigmoid(a) = 0.5 + 0.5 tanh(0.5 a)
                gate[k] = s * tanh(s * (gate[k] + a[k] + b_hh[k])) + (one - s)  # g: tanh(a)  (s = 1)
            c_prev, h_prev, c_new, h_new = cs[t, b], hs[t, b], cs[t + 1, b], hs[t + 1, b]
            tc, out_tb = tanh_c[t, b], out[t, b]
            for j in range(H):
                c_new[j] = gate[H + j] * c_prev[j] + gate[j] * gate[2 * H + j]  # c = f * c_prev + i * g
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
def _backward_loop(dout, dh_n, dc_n, W_hh, cs, gates, tanh_c, mask, has_mask, rmask, has_rmask):
    """The time loop of BPTT: carries dh, dc back and returns ``da (T, B, 4H), dh0 (B, H), dc0 (B, H)``.

    dout (T, B, H);  dh_n, dc_n (B, H);  W_hh (4H, H);  cs (T+1, B, H), gates (T, B, 4H), tanh_c (T, B, H)
    from the forward;  mask, has_mask, rmask, has_rmask as in :func:`_forward_loop`.  ``da`` is the gradient
    of the pre-activations, written over ``gates``: each unit's four gate values are read just before its four
    gradients replace them.
    """
    T, B, H = tanh_c.shape
    one = tanh_c.dtype.type(1)
    da = gates  # (T, B, 4H), in place
    dh_carry = dh_n.copy()  # gradients at the carried states h_t, c_t
    dc_carry = dc_n.copy()
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
                tc = tanh_c[t, b, j]
                do = dh * tc
                dc = dc + dh * o * (one - tc * tc)
                di, df, dg = dc * g, dc * cs[t, b, j], dc * i
                dc_prev[b, j] = dc * f
                da[t, b, j] = di * i * (one - i)
                da[t, b, H + j] = df * f * (one - f)
                da[t, b, 2 * H + j] = dg * (one - g * g)
                da[t, b, 3 * H + j] = do * o * (one - o)
        gemm_nn(da[t], W_hh, dh_prev)  # (B, H)
        if has_rmask:  # recurrent dropout: (da W_hh) * m
            for b in range(B):
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] * rmask[b, j]
        if has_mask:  # padded rows pass it straight through
            for b in range(B):
                m = mask[t, b, 0]
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] + (one - m) * dh_carry[b, j]
                    dc_prev[b, j] = dc_prev[b, j] + (one - m) * dc_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
        dc_carry, dc_prev = dc_prev, dc_carry
    return da, dh_carry, dc_carry
