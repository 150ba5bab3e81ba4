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

As in the LSTM's loops, NumPy makes the arrays the loops fill, and each call runs only its batch rows
``[b0, b1)`` (blocks on two threads where the layer may use them: ``_batch.run_over_batch``). Constants are
typed (``dtype.type(1)``) so float32 stays float32 inside the loop.
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
from ._batch import run_over_batch
from ._blas import gemm_fixed, matmul, packer
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
    h_new = c_array(project_inputs(x, W_ih, b_ih, matmul=matmul), dtype)  # (T, B, H) = x W_ih^T + b_ih
    hs, out, scratch = _forward_buffers(h0, T, B, H, dtype)
    op = packer(c_array(W_hh, dtype), transposed=True)  # rows -> W_hh^T (H, H), laid out once per block size
    b_hh = c_array(b_hh, dtype)
    rest = (*loop_mask(m, dtype), nonlinearity == "relu", *loop_recurrent_mask(recurrent_mask, B, H, dtype))
    run_over_batch(  # rows split over threads where the layer may use more than one (kernels/_batch.py)
        _forward_loop, B, lambda rows: (h_new, hs, out, *scratch, op(rows), b_hh, *rest)
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
    B, H = hs.shape[1:]
    op = packer(c_array(W_hh, dtype), transposed=False)  # rows -> W_hh (H, H), laid out once per block size
    dh_carry = np.array(as_state(dh_n, B, H, dtype))  # a copy: the loop overwrites it
    arrays = (c_array(dout, dtype), dh_carry, np.empty((B, H), dtype))
    rest = (
        c_array(h_new, dtype),
        *loop_mask(m, dtype),
        cache["nonlinearity"] == "relu",
        *loop_recurrent_mask(cache.get("recurrent_mask"), B, H, dtype),
    )
    da, dh0 = run_over_batch(_backward_loop, B, lambda rows: (*arrays, op(rows), *rest))
    mark_spent(cache)
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(da, da, x, hs_in, W_ih, matmul=matmul)  # dx, weight gradients: one GEMM each
    grads["h0"] = dh0
    return grads


def _forward_buffers(h0, T, B, H, dtype):
    """The arrays the forward loop fills: ``hs`` (T+1, B, H) with ``hs[0] = h0``, ``out`` (T, B, H), and its
    scratch ``(h_rec (B, H), h_in (B, H))``."""
    hs = np.empty((T + 1, B, H), dtype)  # carried states
    hs[0] = h0  # broadcasts like the cells' hs[0] = h0
    return hs, np.empty((T, B, H), dtype), (np.empty((B, H), dtype), np.empty((B, H), dtype))


@jit
def _forward_loop(h_new, hs, out, h_rec, h_in, W_op, b_hh, mask, has_mask, relu, rmask, has_rmask, b0, b1):
    """The time loop of the forward pass: fills ``hs`` (from step 1), ``h_new`` and ``out``.

    h_new (T, B, H) holds x_proj = x W_ih^T + b_ih on entry and phi(a_t) (before masking) on return: each
    input term is replaced by phi(a).  hs (T+1, B, H) with hs[0] = h0;  out (T, B, H);  h_rec, h_in (B, H)
    scratch from :func:`_forward_buffers`;  W_op = pack_b(W_hh, transposed=True): W_hh^T (H, H);  b_hh (H,);
    mask (T, B, 1) 0/1, read only if has_mask;  relu: phi is max(a, 0) instead of tanh;  rmask (B, H) the
    recurrent-dropout mask, read only if has_rmask;  b0, b1: the batch rows [b0, b1) to run
    (``_batch.run_over_batch``), the only ones read or written.
    """
    T, _, H = out.shape
    one, zero = out.dtype.type(1), out.dtype.type(0)
    rows = slice(b0, b1)  # (b1 - b0, ...) row blocks of the (B, ...) arrays: C-contiguous
    rmask_b, h_in_b, h_rec_b = rmask[rows], h_in[rows], h_rec[rows]  # this block's rows, once
    for t in range(T):
        h_t = dropped_state(hs[t, rows], rmask_b, has_rmask, h_in_b)  # (b1 - b0, H)
        gemm_fixed(h_t, W_op, h_rec_b)  # (h_{t-1} * m) W_hh^T
        for b in range(b0, b1):  # 1-D loops over units: LLVM vectorises them
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


@jit
def _backward_loop(dout, dh_carry, dh_prev, W_op, h_new, mask, has_mask, relu, rmask, has_rmask, b0, b1):
    """The time loop of BPTT: carries dh back and returns ``da (T, B, H)`` (pre-activation gradients) and
    ``dh0 (B, H)``.

    dout (T, B, H);  dh_carry (B, H) the gradient at h_T on entry (overwritten: each step swaps it with the
    buffer dh_prev (B, H));  W_op = pack_b(W_hh, transposed=False): W_hh (H, H);  h_new (T, B, H) = phi(a_t)
    from the forward;  mask, has_mask, relu, rmask, has_rmask, b0, b1 as in :func:`_forward_loop`.  ``da`` is
    written over ``h_new``, each entry right after it is read.
    """
    T, _, H = h_new.shape
    one, zero = h_new.dtype.type(1), h_new.dtype.type(0)
    da = h_new  # (T, B, H), in place
    rows = slice(b0, b1)
    for t in range(T - 1, -1, -1):
        for b in range(b0, b1):
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
        gemm_fixed(da[t, rows], W_op, dh_prev[rows])  # (b1 - b0, H)
        if has_rmask:  # recurrent dropout: (da W_hh) * m
            for b in range(b0, b1):
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] * rmask[b, j]
        if has_mask:  # padded rows pass it straight through
            for b in range(b0, b1):
                m = mask[t, b, 0]
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] + (one - m) * dh_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
    return da, dh_carry
