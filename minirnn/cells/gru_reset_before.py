"""The GRU with the reset gate before the recurrent product: Cho et al. (2014)'s original cell, Keras'
``GRU(reset_after=False)`` (the default of TF1 Keras) and TF1's ``GRUCell``. ``minirnn.GRU(...,
reset_after=False)``.

Plain NumPy, to be read beside the equations; ``minirnn/kernels/gru_reset_before.py`` runs the same loop fast.
Compare ``cells/gru.py`` (PyTorch's cell): there the reset gate multiplies ``h_prev W_hn^T + b_hn``; here it
multiplies ``h_prev`` before ``W_hn`` sees it, so the n block of the recurrent product needs r first.

Shapes (row vectors, PyTorch layout and gate order ``r, z, n``)::

    x       (B, I)  one step,  (T, B, I) a sequence (time-major)
    h       (B, H)
    W_ih    (3H, I)     W_hh (3H, H) = [W_hr; W_hz; W_hn]     b_ih, b_hh (3H,)

Forward, one step::

    xr, xz, xn = split(x W_ih^T + b_ih)                               (B, H) each
    r = sigmoid(xr + h_prev W_hr^T + b_hr)
    z = sigmoid(xz + h_prev W_hz^T + b_hz)
    n = tanh(xn + (r * h_prev) W_hn^T + b_hn)
    h = (1 - z) * n + z * h_prev

Backward, one step, given dh::

    dn = dh * (1 - z),   dz = dh * (h_prev - n)
    dan = dn * (1 - n^2),   d(rh) = dan W_hn,   dr = d(rh) * h_prev
    dar = dr * r(1-r),   daz = dz * z(1-z),   da = [dar, daz, dan]      (B, 3H), for both projections
    dh_prev = dh * z + [dar, daz] [W_hr; W_hz] + d(rh) * r,   dx = da W_ih
    dW_ih += da^T x,   dW_h{r,z} += da{r,z}^T h_prev,   dW_hn += dan^T (r * h_prev),   db_ih = db_hh += sum_B
    da

The two biases only ever appear as a sum (b_hn is outside the reset gate), which is why Keras keeps one bias
(3H,).
"""

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, project_inputs, sigmoid


def step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh):
    """One step. x (B, I), h_prev (B, H), W_ih (3H, I), W_hh (3H, H), b_ih/b_hh (3H,). Returns ``h (B, H),
    cache``.

    Example:
        >>> rng = np.random.default_rng(0); B, I, H = 2, 3, 4
        >>> h, cache = step_forward(rng.normal(size=(B, I)), np.zeros((B, H)), rng.normal(size=(3 * H, I)),
        ...                         rng.normal(size=(3 * H, H)), np.zeros(3 * H), np.zeros(3 * H))
        >>> h.shape
        (2, 4)
    """
    x_proj = x @ W_ih.T + b_ih  # (B, 3H)
    h, gates, rh = recurrent_step(x_proj, h_prev, W_hh, b_hh)
    return h, (x, h_prev, W_ih, W_hh, gates, rh)


def step_backward(dh, cache):
    """Backward of :func:`step_forward`. dh (B, H): the gradient arriving at h.

    Returns ``dx (B, I), dh_prev (B, H), dW_ih (3H, I), dW_hh (3H, H), db_ih (3H,), db_hh (3H,)``.
    """
    x, h_prev, W_ih, W_hh, gates, rh = cache
    da, dh_prev = recurrent_step_backward(dh, h_prev, W_hh, gates)
    return da @ W_ih, dh_prev, da.T @ x, recurrent_weight_gradient(da, h_prev, rh), da.sum(0), da.sum(0)


def recurrent_step(x_proj, h_prev, W_hh, b_hh):
    """The part of a step inside the time loop; ``x_proj = x W_ih^T + b_ih`` (B, 3H) comes precomputed.

    Returns ``h (B, H)``, ``gates (B, 3H)`` = [r, z, n] and ``rh (B, H)`` = r * h_prev (what W_hn multiplies).
    """
    H = h_prev.shape[-1]
    a_rz = x_proj[:, : 2 * H] + h_prev @ W_hh[: 2 * H].T + b_hh[: 2 * H]  # (B, 2H)
    r = sigmoid(a_rz[:, :H])
    z = sigmoid(a_rz[:, H:])
    rh = r * h_prev
    n = np.tanh(x_proj[:, 2 * H :] + rh @ W_hh[2 * H :].T + b_hh[2 * H :])
    h = (1 - z) * n + z * h_prev
    return h, np.concatenate([r, z, n], axis=1), rh


def recurrent_step_backward(dh, h_prev, W_hh, gates):
    """Backward of :func:`recurrent_step`: ``da (B, 3H)`` (the gradient of both projections) and ``dh_prev
    (B, H)``."""
    H = dh.shape[-1]
    r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dan = dn * (1 - n * n)
    drh = dan @ W_hh[2 * H :]  # d(r * h_prev)  (B, H)
    dar = drh * h_prev * r * (1 - r)
    daz = dz * z * (1 - z)
    da = np.concatenate([dar, daz, dan], axis=1)
    dh_prev = dh * z + da[:, : 2 * H] @ W_hh[: 2 * H] + drh * r
    return da, dh_prev


def recurrent_weight_gradient(da, h_prev, rh):
    """``dW_hh`` (3H, H) from ``da`` (..., 3H): the r, z blocks multiply h_prev, the n block r * h_prev (...,
    H)."""
    H = h_prev.shape[-1]
    da, h_prev, rh = da.reshape(-1, 3 * H), h_prev.reshape(-1, H), rh.reshape(-1, H)
    return np.concatenate([da[:, : 2 * H].T @ h_prev, da[:, 2 * H :].T @ rh], axis=0)


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None):
    """Run the cell over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.  h0: (B, H) initial state.
        W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,): parameters, gates in PyTorch order r, z, n.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.

    Returns:
        ``out (T, B, H), h_n (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); T, B, I, H = 5, 2, 3, 4
        >>> p = [rng.normal(size=s) for s in [(3 * H, I), (3 * H, H), (3 * H,), (3 * H,)]]
        >>> out, h_n, cache = forward(rng.normal(size=(T, B, I)), np.zeros((B, H)), *p)
        >>> out.shape
        (5, 2, 4)
    """
    T, B, _ = x.shape
    H = h0.shape[-1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih)  # (T, B, 3H): all steps, one GEMM
    hs = np.empty((T + 1, B, H), dtype=x.dtype)  # carried states, hs[0] = h0
    gates = np.empty((T, B, 3 * H), dtype=x.dtype)  # r, z, n
    rh = np.empty((T, B, H), dtype=x.dtype)  # r * h_prev
    out = np.empty((T, B, H), dtype=x.dtype)
    hs[0] = h0
    for t in range(T):
        h, gates[t], rh[t] = recurrent_step(x_proj[t], hs[t], W_hh, b_hh)
        if m is None:
            hs[t + 1], out[t] = h, h
        else:  # padded rows keep their state
            hs[t + 1] = m[t] * h + (1 - m[t]) * hs[t]
            out[t] = m[t] * h
    cache = {"x": x, "mask": m, "W_ih": W_ih, "W_hh": W_hh, "hs": hs, "gates": gates, "rh": rh}
    return out, hs[T], cache


def backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n: (B, H) with respect to the final state.

    Returns:
        dict ``x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,)``.
    """
    x, m, W_ih, hs = cache["x"], cache["mask"], cache["W_ih"], cache["hs"]
    T, B, I = x.shape
    da = np.empty((T, B, 3 * hs.shape[-1]), dtype=x.dtype)  # pre-activation gradients, all steps
    dh_carry = dh_n.copy()  # gradient at the carried state h_t
    for t in reversed(range(T)):
        dh = dout[t] + dh_carry if m is None else m[t] * (dout[t] + dh_carry)
        da[t], _, (dh_prev,), _ = backward_step(t, (dh,), cache)
        if m is not None:  # padded rows pass it straight through
            dh_prev += (1 - m[t]) * dh_carry
        dh_carry = dh_prev
    return gradients_after_loop(da, x, hs, cache["rh"], W_ih, dh_carry)


def gradients_after_loop(da, x, hs, rh, W_ih, dh0):
    """dx and every weight gradient from ``da`` (T, B, 3H), each one matrix product over all T*B rows."""
    T, B, I = x.shape
    da2 = da.reshape(T * B, -1)  # (TB, 3H)
    db = da2.sum(0)
    return {
        "x": (da2 @ W_ih).reshape(T, B, I),
        "W_ih": da2.T @ x.reshape(T * B, I),
        "W_hh": recurrent_weight_gradient(da, hs[:-1], rh),
        "b_ih": db,
        "b_hh": db.copy(),
        "h0": dh0,
    }


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh,)``, the gradient reaching h_t, to step t's part.

    Returns ``da, da`` (B, 3H), the gradient of ``x_t W_ih^T + b_ih`` and of the recurrent terms (the same
    array: the biases only appear as a sum), ``(dh_prev,)`` reaching h_{t-1}, and ``(dh,)``, the gradient at
    step t's state.
    """
    (dh,) = dstates
    da, dh_prev = recurrent_step_backward(dh, cache["hs"][t], cache["W_hh"], cache["gates"][t])
    return da, da, (dh_prev,), (dh,)
