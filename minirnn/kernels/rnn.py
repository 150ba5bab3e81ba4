"""Numba loops for the vanilla RNN (tanh or ReLU). The math lives in cells/rnn.py; this file only makes it
fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.rnn.forward`` and ``backward``: same arguments,
same return values, same cache dict (keys x, mask, W_ih, W_hh, hs, h_new, nonlinearity), so a cache from one
backend can go into the other's backward. As in the cells, the input projection ``x W_ih^T + b_ih`` for all
steps is one NumPy GEMM before the loop and the weight gradients are NumPy GEMMs after it; only the time loop
is compiled:

    forward loop    a_t = x_proj_t + h_{t-1} W_hh^T + b_hh,   h_t = phi(a_t)   (W_hh^T laid out once)
    (cells.rnn.recurrent_step)
    backward loop   da_t = dh_t * phi'(a_t),   dh_{t-1} = da_t W_hh
    (cells.rnn.backward's loop)

Constants are typed (``dtype.type(1)``) so float32 stays float32 inside the loop.
"""

from __future__ import annotations

import numpy as np

from ..cells._common import as_step_mask, dropped, project_inputs, weight_gradients
from ..cells.rnn import NONLINEARITIES
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
from ._blas import gemm_fixed, matmul, pack_b
from ._jit import jit
from ._math import tanh


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None, nonlinearity="tanh", recurrent_mask=None):
    """Run the RNN over a whole sequence (compiled loop). Mirrors ``minirnn.cells.rnn.forward``.

    Args:
        x: (T, B, I) inputs, time-major.  h0: (B, H) initial state.
        W_ih (H, I), W_hh (H, H), b_ih (H,), b_hh (H,): parameters.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        recurrent_mask: optional (B, H) recurrent-dropout mask on h_{t-1} in the recurrent product.

    Returns:
        ``out (T, B, H), h_n (B, H), cache``.
    """
    if nonlinearity not in NONLINEARITIES:
        raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")
    check_forward_args(1, x, {"h0": h0}, (W_ih, W_hh, b_ih, b_hh), mask)
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = W_hh.shape[0]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih, matmul=matmul)  # (T, B, H): all steps, one GEMM
    hs, h_new, out = _forward_loop(
        c_array(x_proj, dtype),
        as_state(h0, B, H, dtype),
        pack_b(c_array(W_hh, dtype), transposed=True, rows=B),  # op = W_hh^T (H, H), laid out once
        c_array(b_hh, dtype),
        *loop_mask(m, dtype),
        nonlinearity == "relu",
        *loop_recurrent_mask(recurrent_mask, B, H, dtype),
    )
    cache = {
        "x": x,
        "mask": m,
        "W_ih": W_ih,
        "W_hh": W_hh,
        "hs": hs,
        "h_new": h_new,
        "nonlinearity": nonlinearity,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cache


def backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors
    ``minirnn.cells.rnn.backward``.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n: (B, H) with respect to the final state.
        cache: from :func:`forward` or from ``minirnn.cells.rnn.forward``. Used up: the loop writes the
            pre-activation gradients over ``cache["h_new"]``, so a second backward needs a new forward.

    Returns:
        dict ``x (T, B, I), h0 (B, H), W_ih (H, I), W_hh (H, H), b_ih (H,), b_hh (H,)``.
    """
    require_unspent(cache)
    check_backward_args(dout, {"dh_n": dh_n}, cache)
    x, m, W_ih, W_hh, hs, h_new = (cache[k] for k in ("x", "mask", "W_ih", "W_hh", "hs", "h_new"))
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = hs.shape[-1]
    da, dh0 = _backward_loop(
        c_array(dout, dtype),
        as_state(dh_n, B, H, dtype),
        pack_b(c_array(W_hh, dtype), transposed=False, rows=B),  # op = W_hh (H, H), laid out once
        c_array(h_new, dtype),
        *loop_mask(m, dtype),
        cache["nonlinearity"] == "relu",
        *loop_recurrent_mask(cache.get("recurrent_mask"), B, H, dtype),
    )
    mark_spent(cache)
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(da, da, x, hs_in, W_ih, matmul=matmul)  # dx, weight gradients: one GEMM each
    grads["h0"] = dh0
    return grads


@jit
def _forward_loop(x_proj, h0, W_op, b_hh, mask, has_mask, relu, rmask, has_rmask):
    """The time loop of the forward pass.

    x_proj (T, B, H) = x W_ih^T + b_ih;  h0 (B, H);  W_op = pack_b(W_hh, transposed=True): W_hh^T (H, H);
    b_hh (H,);
    mask (T, B, 1) 0/1, read only if has_mask;  relu: phi is max(a, 0) instead of tanh;  rmask (B, H) the
    recurrent-dropout mask, read only if has_rmask.
    Returns ``hs (T+1, B, H), h_new (T, B, H), out (T, B, H)``.
    ``h_new`` is ``x_proj`` itself (the caller's own temporary): each input term is replaced by phi(a).
    """
    T, B, H = x_proj.shape
    one, zero = x_proj.dtype.type(1), x_proj.dtype.type(0)
    hs = np.empty((T + 1, B, H), x_proj.dtype)  # carried states, hs[0] = h0
    h_new = x_proj  # phi(a_t) before masking, in place
    out = np.empty((T, B, H), x_proj.dtype)
    for b in range(B):  # hs[0] = h0, as a loop: Numba takes
        for j in range(H):  # seconds to compile an
            hs[0, b, j] = h0[b, j]  # array-into-slice assignment
    h_rec = np.empty((B, H), x_proj.dtype)  # h_{t-1} W_hh^T
    h_in = np.empty((B, H), x_proj.dtype)  # h_{t-1} * rmask
    for t in range(T):
        gemm_fixed(dropped_state(hs[t], rmask, has_rmask, h_in), W_op, h_rec)  # (h_{t-1} * m) W_hh^T
        for b in range(B):  # 1-D loops over units: LLVM vectorises them
            a, h_tb = h_rec[b], h_new[t, b]  # h_tb holds x W_ih^T + b_ih
            h_prev, h_next, out_tb = hs[t, b], hs[t + 1, b], out[t, b]
            for j in range(H):  # a = x_proj + h_prev W_hh^T + b_hh
                a[j] = h_tb[j] + a[j] + b_hh[j]
            if relu:
                for j in range(H):
                    h_tb[j] = np.maximum(a[j], zero)
            else:
                for j in range(H):
                    h_tb[j] = tanh(a[j])
            if has_mask:  # padded rows keep their state
                m = mask[t, b, 0]
                for j in range(H):
                    h_next[j] = m * h_tb[j] + (one - m) * h_prev[j]
                    out_tb[j] = m * h_tb[j]
            else:
                for j in range(H):
                    h_next[j] = h_tb[j]
                    out_tb[j] = h_tb[j]
    return hs, h_new, out


@jit
def _backward_loop(dout, dh_n, W_op, h_new, mask, has_mask, relu, rmask, has_rmask):
    """The time loop of BPTT: carries dh back and returns ``da (T, B, H)`` (pre-activation gradients) and
    ``dh0 (B, H)``.

    dout (T, B, H);  dh_n (B, H);  W_op = pack_b(W_hh, transposed=False): W_hh (H, H);
    h_new (T, B, H) = phi(a_t) from the forward;  mask,
    has_mask, relu as in :func:`_forward_loop`.  ``da`` is written over ``h_new``, each entry right after it
    is read.
    """
    T, B, H = h_new.shape
    one, zero = h_new.dtype.type(1), h_new.dtype.type(0)
    da = h_new  # (T, B, H), in place
    dh_carry = dh_n.copy()  # gradient at the carried state h_t
    dh_prev = np.empty((B, H), h_new.dtype)
    for t in range(T - 1, -1, -1):
        for b in range(B):
            for j in range(H):
                h = h_new[t, b, j]
                if relu:
                    slope = one if h > zero else zero
                else:
                    slope = one - h * h
                if has_mask:  # only real steps pass gradient into the cell
                    da[t, b, j] = mask[t, b, 0] * (dout[t, b, j] + dh_carry[b, j]) * slope
                else:
                    da[t, b, j] = (dout[t, b, j] + dh_carry[b, j]) * slope
        gemm_fixed(da[t], W_op, dh_prev)  # (B, H)
        if has_rmask:  # recurrent dropout: (da W_hh) * m
            for b in range(B):
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] * rmask[b, j]
        if has_mask:  # padded rows pass it straight through
            for b in range(B):
                m = mask[t, b, 0]
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] + (one - m) * dh_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
    return da, dh_carry
