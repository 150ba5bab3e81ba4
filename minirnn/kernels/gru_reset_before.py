"""Numba loops for the GRU with the reset gate before the recurrent product (Keras ``reset_after=False``).
The math lives in cells/gru_reset_before.py; this file only makes it fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.gru_reset_before.forward`` and ``backward``: same
arguments, same return values, same cache dict (keys x, mask, W_ih, W_hh, hs, gates, rh), so a cache from one
backend can go into the other's backward. The input projection is one NumPy GEMM before the loop, the weight
gradients NumPy GEMMs after it (``cells.gru_reset_before.gradients_after_loop``); only the time loop is
compiled:

    forward loop    cells.gru_reset_before.recurrent_step (two products per step: h W_h{r,z}^T, then (r*h)
    W_hn^T) backward loop   cells.gru_reset_before.recurrent_step_backward, plus the padding mask
"""

from __future__ import annotations

import numpy as np

from ..cells._common import as_step_mask, project_inputs
from ..cells.gru_reset_before import gradients_after_loop
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


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None):
    """Run the cell over a whole sequence (compiled loop). Mirrors ``minirnn.cells.gru_reset_before.forward``.

    Args:
        x: (T, B, I) inputs, time-major.  h0: (B, H) initial state.
        W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,): parameters, gates in PyTorch order r, z, n.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.

    Returns:
        ``out (T, B, H), h_n (B, H), cache``.
    """
    check_forward_args(3, x, {"h0": h0}, (W_ih, W_hh, b_ih, b_hh), mask)
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = W_hh.shape[1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih, matmul=matmul)  # (T, B, 3H): all steps, one GEMM
    hs, gates, rh, out = _forward_loop(
        c_array(x_proj, dtype),
        as_state(h0, B, H, dtype),
        c_array(W_hh[: 2 * H], dtype),
        c_array(W_hh[2 * H :], dtype),
        c_array(b_hh, dtype),
        *loop_mask(m, dtype),
    )
    cache = {"x": x, "mask": m, "W_ih": W_ih, "W_hh": W_hh, "hs": hs, "gates": gates, "rh": rh}
    return out, hs[T], cache


def backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors the cell's ``backward``.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n: (B, H) with respect to the final state.
        cache: from :func:`forward` or from the readable ``forward``. Used up: the loop writes the gate
            gradients over ``cache["gates"]``, so a second backward needs a new forward.

    Returns:
        dict ``x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,)``.
    """
    check_backward_args(dout, {"dh_n": dh_n}, cache)
    require_unspent(cache)
    x, m, W_ih, W_hh, hs, gates, rh = (cache[k] for k in ("x", "mask", "W_ih", "W_hh", "hs", "gates", "rh"))
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = hs.shape[-1]
    da, dh0 = _backward_loop(
        c_array(dout, dtype),
        as_state(dh_n, B, H, dtype),
        c_array(W_hh[: 2 * H], dtype),
        c_array(W_hh[2 * H :], dtype),
        c_array(hs, dtype),
        c_array(gates, dtype),
        *loop_mask(m, dtype),
    )
    mark_spent(cache)
    return gradients_after_loop(da, x, hs, rh, W_ih, dh0)


@jit
def _forward_loop(x_proj, h0, W_rz, W_n, b_hh, mask, has_mask):
    """The time loop of the forward pass.

    x_proj (T, B, 3H) = x W_ih^T + b_ih;  h0 (B, H);  W_rz (2H, H), W_n (H, H): the blocks of W_hh;  b_hh
    (3H,); mask (T, B, 1) 0/1, read only if has_mask.  Returns ``hs (T+1, B, H), gates (T, B, 3H) = [r, z, n],
    rh (T, B, H) = r * h_prev, out (T, B, H)``; ``gates`` is ``x_proj`` itself, each input term replaced by
    its gate.
    """
    T, B, H3 = x_proj.shape
    H = H3 // 3
    one, half = x_proj.dtype.type(1), x_proj.dtype.type(0.5)
    hs = np.empty((T + 1, B, H), x_proj.dtype)  # carried states, hs[0] = h0
    gates = x_proj  # in place (see the docstring)
    rh = np.empty((T, B, H), x_proj.dtype)
    out = np.empty((T, B, H), x_proj.dtype)
    for b in range(B):
        for j in range(H):
            hs[0, b, j] = h0[b, j]
    h_rec = np.empty((B, 2 * H), x_proj.dtype)  # h_prev [W_hr; W_hz]^T
    n_rec = np.empty((B, H), x_proj.dtype)  # (r * h_prev) W_hn^T
    for t in range(T):
        gemm_nt(hs[t], W_rz, h_rec)
        for b in range(B):
            gate, h_prev, rh_tb = gates[t, b], hs[t, b], rh[t, b]
            for k in range(2 * H):  # r, z = sigmoid(x_proj + h_prev W^T + b_hh)
                gate[k] = half * (one + tanh(half * (gate[k] + h_rec[b, k] + b_hh[k])))
            for j in range(H):
                rh_tb[j] = gate[j] * h_prev[j]  # r * h_prev
        gemm_nt(rh[t], W_n, n_rec)
        for b in range(B):
            gate, h_prev, h_new, out_tb = gates[t, b], hs[t, b], hs[t + 1, b], out[t, b]
            for j in range(H):  # n = tanh(xn + (r * h_prev) W_hn^T + b_hn)
                gate[2 * H + j] = tanh(gate[2 * H + j] + n_rec[b, j] + b_hh[2 * H + j])
            for j in range(H):  # h = (1 - z) * n + z * h_prev
                h_new[j] = (one - gate[H + j]) * gate[2 * H + j] + gate[H + j] * h_prev[j]
                out_tb[j] = h_new[j]
            if has_mask:  # padded rows keep their state
                m = mask[t, b, 0]
                for j in range(H):
                    h_new[j] = m * h_new[j] + (one - m) * h_prev[j]
                    out_tb[j] = m * out_tb[j]
    return hs, gates, rh, out


@jit
def _backward_loop(dout, dh_n, W_rz, W_n, hs, gates, mask, has_mask):
    """The time loop of BPTT: carries dh back and returns ``da (T, B, 3H)`` (written over ``gates``) and
    ``dh0``.

    dout (T, B, H);  dh_n (B, H);  W_rz, W_n as in :func:`_forward_loop`;  hs, gates from the forward.
    """
    T, B, H3 = gates.shape
    H = H3 // 3
    one = gates.dtype.type(1)
    da = gates  # (T, B, 3H), in place
    dh_carry = dh_n.copy()  # gradient at the carried state h_t
    dh_prev = np.empty((B, H), gates.dtype)
    dh_direct = np.empty((B, H), gates.dtype)  # dh * z
    dan = np.empty((B, H), gates.dtype)
    drh = np.empty((B, H), gates.dtype)  # d(r * h_prev) = dan W_hn
    da_rz = np.empty((B, 2 * H), gates.dtype)
    dh_rec = np.empty((B, H), gates.dtype)  # [dar, daz] [W_hr; W_hz]
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                if has_mask:  # only real steps pass gradient into the cell
                    dh = mask[t, b, 0] * (dout[t, b, j] + dh_carry[b, j])
                else:
                    dh = dout[t, b, j] + dh_carry[b, j]
                z, n = gates[t, b, H + j], gates[t, b, 2 * H + j]
                dan[b, j] = dh * (one - z) * (one - n * n)
                da_rz[b, H + j] = dh * (hs[t, b, j] - n) * z * (one - z)
                dh_direct[b, j] = dh * z
        gemm_nn(dan, W_n, drh)
        for b in range(B):
            for j in range(H):
                r = gates[t, b, j]
                da_rz[b, j] = drh[b, j] * hs[t, b, j] * r * (one - r)
                dh_direct[b, j] = dh_direct[b, j] + drh[b, j] * r
                da[t, b, j], da[t, b, H + j], da[t, b, 2 * H + j] = da_rz[b, j], da_rz[b, H + j], dan[b, j]
        gemm_nn(da_rz, W_rz, dh_rec)
        for b in range(B):
            m = mask[t, b, 0] if has_mask else one
            for j in range(H):
                dh_prev[b, j] = dh_direct[b, j] + dh_rec[b, j]
                if has_mask:  # padded rows pass it straight through
                    dh_prev[b, j] = dh_prev[b, j] + (one - m) * dh_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
    return da, dh_carry
