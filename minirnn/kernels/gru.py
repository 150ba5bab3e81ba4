"""Numba loops for the GRU (PyTorch's variant). The math lives in cells/gru.py; this file only makes it fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.gru.forward`` and ``backward``: same arguments,
same return values, same cache dict (keys x, mask, W_ih, W_hh, hs, gates, hn), so a cache from one backend can
go into the other's backward. As in the cells, the input projection ``x W_ih^T + b_ih`` for all steps is one
NumPy GEMM before the loop and the weight gradients are NumPy GEMMs after it; only the time loop is compiled:

    forward loop    cells.gru.recurrent_step, plus the padding mask; h_{t-1} W_hh^T on W_hh^T laid out
                    once per sequence (a plain product: no re-packing of W_hh at every step)
    backward loop   cells.gru.gate_gradients and dh_prev = dh * z + dh_proj W_hh, plus the padding mask

As in the LSTM's loops, NumPy makes the arrays the loops fill, and each call runs only its batch rows
``[b0, b1)`` (blocks on two threads where the layer may use them: ``_batch.run_over_batch``).

Gate order is PyTorch's ``r, z, n``; the reset gate multiplies ``hn = h_prev W_hn^T + b_hn``. Sigmoid is
written ``0.5 * (1 + tanh(0.5 a))`` exactly as in the cells. Constants are typed (``dtype.type(1)``) so
float32 stays float32.
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
from ._batch import run_over_batch
from ._blas import gemm_fixed, matmul, packer
from ._jit import jit
from ._math import tanh


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None, recurrent_mask=None):
    """Run the GRU over a whole sequence (compiled loop). Mirrors ``minirnn.cells.gru.forward``.

    Args:
        x: (T, B, I) inputs, time-major.  h0: (B, H) initial state.
        W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,): parameters, gates in PyTorch order r, z, n.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.
        recurrent_mask: optional (B, H) recurrent-dropout mask on h_{t-1} in the recurrent product (not the
            shortcut).

    Returns:
        ``out (T, B, H), h_n (B, H), cache``.
    """
    check_forward_args(3, x, {"h0": h0}, (W_ih, W_hh, b_ih, b_hh), mask)
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = W_hh.shape[1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    gates = c_array(project_inputs(x, W_ih, b_ih, matmul=matmul), dtype)  # (T, B, 3H) = x W_ih^T + b_ih
    hs, hn, out, scratch = _forward_buffers(h0, T, B, H, dtype)
    op = packer(c_array(W_hh, dtype), transposed=True)  # rows -> W_hh^T (H, 3H), laid out once per block size
    b_hh = c_array(b_hh, dtype)
    masks = (*loop_mask(m, dtype), *loop_recurrent_mask(recurrent_mask, B, H, dtype))
    run_over_batch(  # rows split over threads where the layer may use more than one (kernels/_batch.py)
        _forward_loop, B, lambda rows: (gates, hs, hn, out, *scratch, op(rows), b_hh, *masks)
    )
    cache = {
        "x": x,
        "mask": m,
        "W_ih": W_ih,
        "W_hh": W_hh,
        "hs": hs,
        "gates": gates,
        "hn": hn,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cache


def backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`forward` (compiled loop). Mirrors
    ``minirnn.cells.gru.backward``.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n: (B, H) with respect to the final state.
        cache: from :func:`forward` or from ``minirnn.cells.gru.forward``. Used up: the loop writes the
            input-side gate gradients over ``cache["gates"]``, so a second backward needs a new forward.

    Returns:
        dict ``x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,)``.
    """
    require_unspent(cache)
    check_backward_args(dout, {"dh_n": dh_n}, cache)
    x, m, W_ih, W_hh, hs, gates, hn = (cache[k] for k in ("x", "mask", "W_ih", "W_hh", "hs", "gates", "hn"))
    dtype = float_dtype(x)
    T, B, _ = x.shape
    H = hs.shape[-1]
    op = packer(c_array(W_hh, dtype), transposed=False)  # rows -> W_hh (3H, H), laid out once per block size
    arrays = (c_array(dout, dtype), *_backward_buffers(dh_n, T, B, H, dtype))
    rest = (
        c_array(hs, dtype),
        c_array(gates, dtype),
        c_array(hn, dtype),
        *loop_mask(m, dtype),
        *loop_recurrent_mask(cache.get("recurrent_mask"), B, H, dtype),
    )
    dx_proj, dh_proj, dh0 = run_over_batch(_backward_loop, B, lambda rows: (*arrays, op(rows), *rest))
    mark_spent(cache)
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(dx_proj, dh_proj, x, hs_in, W_ih, matmul=matmul)  # dx, weight grads: GEMMs
    grads["h0"] = dh0
    return grads


def _forward_buffers(h0, T, B, H, dtype):
    """The arrays the forward loop fills: ``hs`` (T+1, B, H) with ``hs[0] = h0``; ``hn, out`` (T, B, H);
    and its scratch ``(h_rec (B, 3H), h_in (B, H))``."""
    hs = np.empty((T + 1, B, H), dtype)  # carried states
    hs[0] = h0  # broadcasts like the cells' hs[0] = h0
    scratch = (np.empty((B, 3 * H), dtype), np.empty((B, H), dtype))
    return hs, np.empty((T, B, H), dtype), np.empty((T, B, H), dtype), scratch


def _backward_buffers(dh_n, T, B, H, dtype):
    """The backward loop's arrays: ``dh_carry`` (B, H) starting at ``dh_n`` (a copy, so the caller's array is
    not written), the (B, H) buffers ``dh_direct, dh_prev``, and ``dh_proj`` (T, B, 3H)."""
    dh_carry = np.array(as_state(dh_n, B, H, dtype))
    return dh_carry, np.empty((B, H), dtype), np.empty((B, H), dtype), np.empty((T, B, 3 * H), dtype)


@jit
def _forward_loop(gates, hs, hn, out, h_rec, h_in, W_op, b_hh, mask, has_mask, rmask, has_rmask, b0, b1):
    """The time loop of the forward pass: fills ``hs`` (from step 1), ``gates``, ``hn`` and ``out``.

    gates (T, B, 3H) holds x W_ih^T + b_ih on entry and the gate values [r, z, n] on return: each input term
    is replaced by its gate value.  hs (T+1, B, H) with hs[0] = h0;  hn (T, B, H) = h_prev W_hn^T + b_hn;
    out (T, B, H);  h_rec (B, 3H), h_in (B, H) scratch from :func:`_forward_buffers`;
    W_op = pack_b(W_hh, transposed=True): W_hh^T (H, 3H);  b_hh (3H,);
    mask (T, B, 1) 0/1, read only if has_mask;  rmask (B, H) the recurrent-dropout mask, read only if
    has_rmask;  b0, b1: the batch rows [b0, b1) to run (``_batch.run_over_batch``), the only ones read or
    written.
    """
    T, _, H = hn.shape
    one, half = hn.dtype.type(1), hn.dtype.type(0.5)
    rows = slice(b0, b1)  # (b1 - b0, ...) row blocks of the (B, ...) arrays: C-contiguous
    rmask_b, h_in_b, h_rec_b = rmask[rows], h_in[rows], h_rec[rows]  # this block's rows, once
    for t in range(T):
        h_t = dropped_state(hs[t, rows], rmask_b, has_rmask, h_in_b)  # (b1 - b0, H)
        gemm_fixed(h_t, W_op, h_rec_b)  # (h_{t-1} * m) W_hh^T
        for b in range(b0, b1):  # 1-D loops over units: LLVM vectorises them
            h_proj, gate, hn_tb = h_rec[b], gates[t, b], hn[t, b]  # gate holds x W_ih^T + b_ih
            h_prev, h_new, out_tb = hs[t, b], hs[t + 1, b], out[t, b]
            for k in range(2 * H):  # r, z = sigmoid(x_proj + h_prev W_hh^T + b_hh)
                gate[k] = half * (one + tanh(half * (gate[k] + h_proj[k] + b_hh[k])))
            for j in range(H):  # hn = h_prev W_hn^T + b_hn
                hn_tb[j] = h_proj[2 * H + j] + b_hh[2 * H + j]
            for j in range(H):  # n = tanh(xn + r * hn)
                gate[2 * H + j] = tanh(gate[2 * H + j] + gate[j] * hn_tb[j])
            for j in range(H):  # h = (1 - z) * n + z * h_prev
                h_new[j] = (one - gate[H + j]) * gate[2 * H + j] + gate[H + j] * h_prev[j]
                out_tb[j] = h_new[j]
            if has_mask:  # padded rows keep their state
                m = mask[t, b, 0]
                for j in range(H):
                    h_new[j] = m * h_new[j] + (one - m) * h_prev[j]
                    out_tb[j] = m * out_tb[j]


@jit
def _backward_loop(
    dout, dh_carry, dh_direct, dh_prev, dh_proj, W_op, hs, gates, hn, mask, has_mask, rmask, has_rmask, b0, b1
):
    """The time loop of BPTT: carries dh back and returns ``dx_proj (T, B, 3H), dh_proj (T, B, 3H), dh0 (B,
    H)``.

    dout (T, B, H);  dh_carry (B, H) the gradient at h_T on entry (overwritten: each step swaps it with the
    buffer dh_prev);  dh_direct, dh_prev (B, H) and dh_proj (T, B, 3H) from :func:`_backward_buffers`;
    W_op = pack_b(W_hh, transposed=False): W_hh (3H, H);  hs (T+1, B, H), gates (T, B, 3H), hn (T, B, H)
    from the forward; mask, has_mask, rmask, has_rmask, b0, b1 as in :func:`_forward_loop`.  dx_proj and
    dh_proj are the gradients of x W_ih^T + b_ih and of (h_prev * m) W_hh^T + b_hh; dx_proj is written over
    ``gates``, each unit's gradients right after its gates are read.
    """
    T, _, H = hn.shape
    one = hn.dtype.type(1)
    dx_proj = gates  # (T, B, 3H), in place
    rows = slice(b0, b1)
    for t in range(T - 1, -1, -1):
        for b in range(b0, b1):
            for j in range(H):
                if has_mask:  # only real steps pass gradient into the cell
                    dh = mask[t, b, 0] * (dout[t, b, j] + dh_carry[b, j])
                else:
                    dh = dout[t, b, j] + dh_carry[b, j]
                r, z, n = gates[t, b, j], gates[t, b, H + j], gates[t, b, 2 * H + j]
                dn = dh * (one - z)
                dz = dh * (hs[t, b, j] - n)
                dan = dn * (one - n * n)
                dar = dan * hn[t, b, j] * r * (one - r)
                daz = dz * z * (one - z)
                dx_proj[t, b, j], dx_proj[t, b, H + j], dx_proj[t, b, 2 * H + j] = dar, daz, dan
                dh_proj[t, b, j], dh_proj[t, b, H + j], dh_proj[t, b, 2 * H + j] = dar, daz, dan * r
                dh_direct[b, j] = dh * z
        gemm_fixed(dh_proj[t, rows], W_op, dh_prev[rows])  # (b1 - b0, H)
        if has_rmask:  # recurrent dropout: (dh_proj W_hh) * m
            for b in range(b0, b1):
                for j in range(H):
                    dh_prev[b, j] = dh_prev[b, j] * rmask[b, j]
        for b in range(b0, b1):
            m = mask[t, b, 0] if has_mask else one
            for j in range(H):
                dh_prev[b, j] = dh_direct[b, j] + dh_prev[b, j]
                if has_mask:  # padded rows pass it straight through
                    dh_prev[b, j] = dh_prev[b, j] + (one - m) * dh_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
    return dx_proj, dh_proj, dh_carry
