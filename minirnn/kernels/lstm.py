"""Numba loops for the LSTM. The math lives in cells/lstm.py; this file only makes it fast.

:func:`forward` and :func:`backward` mirror ``minirnn.cells.lstm.forward`` and ``backward``: same arguments,
same return values, same cache dict (keys x, mask, W_ih, W_hh, hs, cs, gates, tanh_c), so a cache from one
backend can go into the other's backward. As in the cells, the input projection ``x W_ih^T`` for all steps
is one NumPy GEMM before the loop (the loop adds ``b_ih + b_hh`` as it reads it, which saves a pass over the
(T, B, 4H) array) and the weight gradients are NumPy GEMMs after it; only the time loop is compiled:

    forward loop    cells.lstm.recurrent_step, plus the padding mask; the recurrent product
                    h_{t-1} W_hh^T runs on W_hh^T laid out once per sequence (``W_hh_t``, (H, 4H)):
                    a plain product that OpenBLAS runs without re-packing W_hh at every step
    backward loop   cells.lstm.gate_gradients and dh_prev = da W_hh, plus the padding mask

Gate order is PyTorch's ``i, f, g, o``; sigmoid is written ``0.5 * (1 + tanh(0.5 a))`` exactly as in the
cells. Constants are typed (``dtype.type(1)``) so float32 stays float32 inside the loop.

The loops allocate nothing: NumPy makes every array they fill (``_forward_buffers``, ``_backward_buffers``)
and they write into it, each call only its batch rows ``[b0, b1)``: where the layer may use two threads, the
rows are split in two blocks that run at once (``_batch.run_over_batch``). Inside Numba each ``np.empty`` of
another rank, and ``copy``, is one more function to compile in a fresh process (the measurements:
docs/performance.md, "Cold compile").
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
    gates = c_array(project_inputs(x, W_ih, matmul=matmul), dtype)  # (T, B, 4H) = x W_ih^T: one GEMM
    hs, cs, tanh_c, out, scratch = _forward_buffers(h0, c0, T, B, H, dtype)
    op = packer(c_array(W_hh, dtype), transposed=True)  # rows -> W_hh^T (H, 4H), laid out once per block size
    bias = c_array(b_ih + b_hh, dtype)  # both biases, added in the loop (no pass over gates for b_ih)
    masks = (*loop_mask(m, dtype), *loop_recurrent_mask(recurrent_mask, B, H, dtype))
    run_over_batch(  # rows split over threads where the layer may use more than one (kernels/_batch.py)
        _forward_loop, B, lambda rows: (gates, hs, cs, tanh_c, out, *scratch, op(rows), bias, *masks)
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
    B, H = hs.shape[1:]
    op = packer(c_array(W_hh, dtype), transposed=False)  # rows -> W_hh (4H, H), laid out once per block size
    arrays = (c_array(dout, dtype), *_backward_buffers(dh_n, dc_n, B, H, dtype))
    rest = (
        c_array(cs, dtype),
        c_array(gates, dtype),
        c_array(tanh_c, dtype),
        *loop_mask(m, dtype),
        *loop_recurrent_mask(cache.get("recurrent_mask"), B, H, dtype),
    )
    da, dh0, dc0 = run_over_batch(_backward_loop, B, lambda rows: (*arrays, op(rows), *rest))
    mark_spent(cache)
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(da, da, x, hs_in, W_ih, matmul=matmul)  # dx, weight gradients: one GEMM each
    grads["h0"], grads["c0"] = dh0, dc0
    return grads


def _forward_buffers(h0, c0, T, B, H, dtype):
    """The arrays the forward loop fills: ``hs, cs`` (T+1, B, H) with ``hs[0] = h0``, ``cs[0] = c0``;
    ``tanh_c, out`` (T, B, H); and its scratch ``(scale (4H,), h_rec (B, 4H), h_in (B, H))``.

    ``scale`` is 1/2 for the sigmoid gates i, f, o and 1 for g (one tanh for all four: see the loop).
    """
    hs, cs = np.empty((T + 1, B, H), dtype), np.empty((T + 1, B, H), dtype)  # carried states
    hs[0], cs[0] = h0, c0  # broadcasts like the cells' hs[0] = h0
    scale = np.full(4 * H, 0.5, dtype)
    scale[2 * H : 3 * H] = 1
    scratch = (scale, np.empty((B, 4 * H), dtype), np.empty((B, H), dtype))
    return hs, cs, np.empty((T, B, H), dtype), np.empty((T, B, H), dtype), scratch


def _backward_buffers(dh_n, dc_n, B, H, dtype):
    """The backward loop's carried gradients: ``dh, dc`` (B, H) starting at ``dh_n, dc_n`` (copies, so the
    caller's arrays are not written), and two (B, H) buffers for the step before."""
    dh, dc = np.array(as_state(dh_n, B, H, dtype)), np.array(as_state(dc_n, B, H, dtype))
    return dh, dc, np.empty((B, H), dtype), np.empty((B, H), dtype)


@jit
def _forward_loop(
    gates, hs, cs, tanh_c, out, scale, h_rec, h_in, W_op, bias, mask, has_mask, rmask, has_rmask, b0, b1
):
    """The time loop of the forward pass: fills ``hs, cs`` (from step 1), ``gates``, ``tanh_c`` and ``out``.

    gates (T, B, 4H) holds x W_ih^T on entry and the gate values [i, f, g, o] on return: each
    pre-activation input is replaced by its gate value, so the forward never holds both (T, B, 4H) arrays.
    hs, cs (T+1, B, H) with hs[0] = h0, cs[0] = c0;  tanh_c, out (T, B, H);  scale (4H,), h_rec (B, 4H),
    h_in (B, H) from :func:`_forward_buffers`;  W_op = pack_b(W_hh, transposed=True): W_hh^T (H, 4H);
    bias (4H,) = b_ih + b_hh;
    mask (T, B, 1) 0/1, read only if has_mask;  rmask (B, H) the recurrent-dropout mask, read only if
    has_rmask;  b0, b1: the batch rows [b0, b1) to run (``_batch.run_over_batch``), the only ones read or
    written.
    """
    T, _, H = tanh_c.shape
    one = tanh_c.dtype.type(1)
    rows = slice(b0, b1)  # (b1 - b0, ...) row blocks of the (B, ...) arrays: C-contiguous
    rmask_b, h_in_b, h_rec_b = rmask[rows], h_in[rows], h_rec[rows]  # this block's rows, once
    for t in range(T):
        h_t = dropped_state(hs[t, rows], rmask_b, has_rmask, h_in_b)  # (b1 - b0, H)
        gemm_fixed(h_t, W_op, h_rec_b)  # (h_{t-1} * m) W_hh^T
        for b in range(b0, b1):  # 1-D loops over units: LLVM vectorises them
            a, gate = h_rec[b], gates[t, b]  # (4H,) views; gate holds x W_ih^T
            for k in range(4 * H):  # a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh
                s = scale[k]  # i, f, o: sigmoid(a) = 0.5 + 0.5 tanh(0.5 a)
                gate[k] = s * tanh(s * (gate[k] + a[k] + bias[k])) + (one - s)  # g: tanh(a)  (s = 1)
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


@jit
def _backward_loop(
    dout, dh_carry, dc_carry, dh_prev, dc_prev, W_op, cs, gates, tanh_c, mask, has_mask, rmask, has_rmask,
    b0, b1,
):
    """The time loop of BPTT: carries dh, dc back and returns ``da (T, B, 4H), dh0 (B, H), dc0 (B, H)``.

    dout (T, B, H);  dh_carry, dc_carry (B, H) the gradients at h_T, c_T on entry (overwritten: each step
    swaps them with the buffers dh_prev, dc_prev (B, H), from :func:`_backward_buffers`);
    W_op = pack_b(W_hh, transposed=False): W_hh (4H, H);
    cs (T+1, B, H), gates (T, B, 4H), tanh_c (T, B, H) from the forward;  mask, has_mask, rmask, has_rmask
    as in :func:`_forward_loop`.  ``da`` is the gradient of the pre-activations, written over ``gates``: each
    unit's four gate values are read just before its four gradients replace them.  b0, b1: the batch rows
    [b0, b1) to run, as in :func:`_forward_loop`.
    """
    T, _, H = tanh_c.shape
    one = tanh_c.dtype.type(1)
    da = gates  # (T, B, 4H), in place
    rows = slice(b0, b1)
    for t in range(T - 1, -1, -1):
        for b in range(b0, b1):
            m = mask[t, b, 0] if has_mask else one  # only real steps pass gradient into the cell
            for j in range(H):  # (the test outside the loop: one loop body for LLVM to compile, not two)
                dh = m * (dout[t, b, j] + dh_carry[b, j])  # exact when m = 1
                dc = m * dc_carry[b, j]
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
                    dc_prev[b, j] = dc_prev[b, j] + (one - m) * dc_carry[b, j]
        dh_carry, dh_prev = dh_prev, dh_carry
        dc_carry, dc_prev = dc_prev, dc_carry
    return da, dh_carry, dc_carry
