"""The GRU cell (PyTorch's variant): one step forward and backward, and the whole sequence with BPTT.

Plain NumPy, to be read beside the equations; ``minirnn/kernels/gru.py`` runs the same computation fast.

Shapes (row vectors, PyTorch layout and gate order ``r, z, n``)::

    x       (B, I)  one step,  (T, B, I) a sequence (time-major)
    h       (B, H)
    W_ih    (3H, I)     W_hh (3H, H)     b_ih, b_hh (3H,)

Forward, one step. The reset gate multiplies ``h_prev W_hn^T + b_hn`` (PyTorch, and Keras
``reset_after=True``)::

    xr, xz, xn = split(x W_ih^T + b_ih)                               (B, H) each
    hr, hz, hn = split(h_prev W_hh^T + b_hh)
    r = sigmoid(xr + hr)
    z = sigmoid(xz + hz)
    n = tanh(xn + r * hn)
    h = (1 - z) * n + z * h_prev

Backward, one step, given dh::

    dn = dh * (1 - z),   dz = dh * (h_prev - n)
    dan = dn * (1 - n^2),   dr = dan * hn
    dar = dr * r(1-r),   daz = dz * z(1-z)
    dx_proj = [dar, daz, dan]        dh_proj = [dar, daz, dan * r]    (B, 3H)
    dh_prev = dh * z + dh_proj W_hh,   dx = dx_proj W_ih
    dW_ih += dx_proj^T x,   dW_hh += dh_proj^T h_prev,   db_ih += sum_B dx_proj,   db_hh += sum_B dh_proj

The term ``dh * z`` is the gated shortcut: where z is near 1 the gradient reaches h_prev almost untouched.

Recurrent dropout (Gal & Ghahramani 2016): one mask m (B, H) per sequence, entries 0 or 1/(1-p), the same at
every step and for all three gate blocks, on h_prev where it enters the recurrent product; the shortcut ``z *
h_prev`` keeps
the undropped state (as Keras)::

    hr, hz, hn = split((h_prev * m) W_hh^T + b_hh)
    dh_prev = dh * z + (dh_proj W_hh) * m,   dW_hh += dh_proj^T (h_prev * m)

Keras draws three masks, one per block; with the three set equal, Keras computes exactly this.
"""

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, dropped, project_inputs, sigmoid, weight_gradients


def step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh, recurrent_mask=None):
    """One GRU step. x (B, I), h_prev (B, H), W_ih (3H, I), W_hh (3H, H), b_ih/b_hh (3H,); recurrent_mask (B,
    H) or None (recurrent dropout, see the module docstring).

    Returns ``h (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); B, I, H = 2, 3, 4
        >>> h, cache = step_forward(rng.normal(size=(B, I)), np.zeros((B, H)), rng.normal(size=(3 * H, I)),
        ...                         rng.normal(size=(3 * H, H)), np.zeros(3 * H), np.zeros(3 * H))
        >>> h.shape
        (2, 4)
    """
    x_proj = x @ W_ih.T + b_ih  # (B, 3H)
    h, gates, hn = recurrent_step(x_proj, h_prev, W_hh, b_hh, recurrent_mask)
    return h, (x, h_prev, W_ih, W_hh, gates, hn, recurrent_mask)


def step_backward(dh, cache):
    """Backward of :func:`step_forward`. dh (B, H): the gradient arriving at h.

    Returns ``dx (B, I), dh_prev (B, H), dW_ih (3H, I), dW_hh (3H, H), db_ih (3H,), db_hh (3H,)``.
    """
    x, h_prev, W_ih, W_hh, gates, hn, rmask = cache
    dx_proj, dh_proj, dh_prev = recurrent_step_backward(dh, h_prev, W_hh, gates, hn, rmask)
    h_in = dropped(h_prev, rmask)  # h_prev * m: what met W_hh
    return dx_proj @ W_ih, dh_prev, dx_proj.T @ x, dh_proj.T @ h_in, dx_proj.sum(0), dh_proj.sum(0)


def recurrent_step(x_proj, h_prev, W_hh, b_hh, recurrent_mask=None):
    """The part of a step inside the time loop; ``x_proj = x W_ih^T + b_ih`` (B, 3H) comes precomputed.

    Returns ``h (B, H)``, ``gates (B, 3H)`` = [r, z, n] and ``hn (B, H)`` = h_prev W_hn^T + b_hn (needed by
    backward); with a recurrent_mask m (B, H), ``h_prev * m`` enters the product instead of h_prev.
    """
    H = h_prev.shape[-1]
    h_proj = dropped(h_prev, recurrent_mask) @ W_hh.T + b_hh  # (B, 3H)
    r = sigmoid(x_proj[:, :H] + h_proj[:, :H])
    z = sigmoid(x_proj[:, H : 2 * H] + h_proj[:, H : 2 * H])
    hn = h_proj[:, 2 * H :]
    n = np.tanh(x_proj[:, 2 * H :] + r * hn)
    h = (1 - z) * n + z * h_prev
    return h, np.concatenate([r, z, n], axis=1), hn


def recurrent_step_backward(dh, h_prev, W_hh, gates, hn, recurrent_mask=None):
    """Backward of :func:`recurrent_step`: returns ``dx_proj (B, 3H), dh_proj (B, 3H), dh_prev (B, H)``."""
    dx_proj, dh_proj, dh_direct = gate_gradients(dh, h_prev, gates, hn)
    return dx_proj, dh_proj, dh_direct + dropped(dh_proj @ W_hh, recurrent_mask)


def gate_gradients(dh, h_prev, gates, hn):
    """From dh (B, H) to the gradients of ``x_proj`` and ``h_proj`` (B, 3H each) and the shortcut ``dh *
    z``."""
    H = dh.shape[-1]
    r, z, n = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H :]
    dn = dh * (1 - z)
    dz = dh * (h_prev - n)
    dan = dn * (1 - n * n)
    dar = dan * hn * r * (1 - r)
    daz = dz * z * (1 - z)
    dx_proj = np.concatenate([dar, daz, dan], axis=1)
    dh_proj = np.concatenate([dar, daz, dan * r], axis=1)
    return dx_proj, dh_proj, dh * z


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None, recurrent_mask=None):
    """Run the GRU over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.  h0: (B, H) initial state.
        W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,): parameters, gates in PyTorch order r, z, n.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.
        recurrent_mask: optional (B, H) recurrent-dropout mask, the same at every step (module docstring).

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
    hn = np.empty((T, B, H), dtype=x.dtype)
    out = np.empty((T, B, H), dtype=x.dtype)
    hs[0] = h0
    for t in range(T):
        h, gates[t], hn[t] = recurrent_step(x_proj[t], hs[t], W_hh, b_hh, recurrent_mask)
        if m is None:
            hs[t + 1], out[t] = h, h
        else:  # padded rows keep their state
            hs[t + 1] = m[t] * h + (1 - m[t]) * hs[t]
            out[t] = m[t] * h
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
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n: (B, H) with respect to the final state.

    Returns:
        dict ``x (T, B, I), h0 (B, H), W_ih (3H, I), W_hh (3H, H), b_ih (3H,), b_hh (3H,)``.
    """
    x, m, W_ih, hs = cache["x"], cache["mask"], cache["W_ih"], cache["hs"]
    T, B, _ = x.shape
    dx_proj = np.empty((T, B, 3 * hs.shape[-1]), dtype=x.dtype)  # gradients of the two projections, all steps
    dh_proj = np.empty_like(dx_proj)
    dh_carry = dh_n.copy()  # gradient at the carried state h_t
    for t in reversed(range(T)):
        dh = dout[t] + dh_carry if m is None else m[t] * (dout[t] + dh_carry)
        dx_proj[t], dh_proj[t], (dh_prev,), _ = backward_step(t, (dh,), cache)
        if m is not None:  # padded rows pass it straight through
            dh_prev += (1 - m[t]) * dh_carry
        dh_carry = dh_prev
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(dx_proj, dh_proj, x, hs_in, W_ih)  # dx and the weight gradients: one GEMM each
    grads["h0"] = dh_carry
    return grads


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh,)``, the gradient reaching h_t, to step t's part.

    Returns ``dx_proj, dh_proj`` (B, 3H), the gradients of ``x_t W_ih^T + b_ih`` and ``h_{t-1} W_hh^T + b_hh``
    (they differ in the n block), ``(dh_prev,)`` reaching h_{t-1}, and ``(dh,)``, the gradient at step t's
    state.
    """
    (dh,) = dstates
    dx_proj, dh_proj, dh_prev = recurrent_step_backward(
        dh, cache["hs"][t], cache["W_hh"], cache["gates"][t], cache["hn"][t], cache.get("recurrent_mask")
    )
    return dx_proj, dh_proj, (dh_prev,), (dh,)
