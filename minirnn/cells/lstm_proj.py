"""The LSTM with a recurrent projection (Sak, Senior and Beaufays 2014, "LSTMP"): PyTorch's
``nn.LSTM(proj_size=P)``, TF1's ``LSTMCell(num_proj=P)``. ``minirnn.LSTM(..., proj_size=P)``.

Plain NumPy, to be read beside the equations; ``minirnn/kernels/lstm_proj.py`` runs the same loop fast. The
cell is ``cells/lstm.py`` with one more matrix: the output ``m = o * tanh(c)`` (size H) is projected down to
``h = m W_hr^T`` (size P < H), and h is what the gates see at the next step and what the layer outputs. c
keeps size H.

Shapes (row vectors, PyTorch layout and gate order ``i, f, g, o``)::

    x       (B, I)  one step,  (T, B, I) a sequence (time-major)
    h       (B, P)      c (B, H)
    W_ih    (4H, I)     W_hh (4H, P)     b_ih, b_hh (4H,)     W_hr (P, H)   (PyTorch: ``weight_hr_l{k}``)

Forward, one step::

    a          = x W_ih^T + b_ih + h_prev W_hh^T + b_hh          (B, 4H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c          = f * c_prev + i * g
    m          = o * tanh(c)                                      (B, H)
    h          = m W_hr^T                                         (B, P)

Backward, one step, given dh (B, P) and dc (B, H)::

    dm = dh W_hr,   dW_hr += dh^T m
    do = dm * tanh(c),   dc = dc + dm * o * (1 - tanh(c)^2)
    di = dc * g,   df = dc * c_prev,   dg = dc * i,   dc_prev = dc * f
    da = [di * i(1-i),  df * f(1-f),  dg * (1-g^2),  do * o(1-o)]    (B, 4H)
    dh_prev = da W_hh,   dx = da W_ih,   dW_ih += da^T x,   dW_hh += da^T h_prev,   db_ih = db_hh += sum_B da
"""

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, project_inputs, sigmoid, weight_gradients
from .lstm import gate_gradients


def step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, W_hr):
    """One step. x (B, I), h_prev (B, P), c_prev (B, H), W_ih (4H, I), W_hh (4H, P), b_* (4H,), W_hr (P, H).

    Returns ``h (B, P), c (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); B, I, H, P = 2, 3, 4, 2
        >>> h, c, cache = step_forward(rng.normal(size=(B, I)), np.zeros((B, P)), np.zeros((B, H)),
        ...     rng.normal(size=(4 * H, I)), rng.normal(size=(4 * H, P)), np.zeros(4 * H), np.zeros(4 * H),
        ...     rng.normal(size=(P, H)))
        >>> h.shape, c.shape
        ((2, 2), (2, 4))
    """
    x_proj = x @ W_ih.T + b_ih  # (B, 4H)
    h, c, m, step_cache = recurrent_step(x_proj, h_prev, c_prev, W_hh, b_hh, W_hr)
    return h, c, (x, W_ih, W_hr, m, step_cache)


def step_backward(dh, dc, cache):
    """Backward of :func:`step_forward`. dh (B, P), dc (B, H): gradients arriving at the new h and c.

    Returns ``dx, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh, dW_hr`` (shapes of the inputs).
    """
    x, W_ih, W_hr, m, step_cache = cache
    h_prev, c_prev, W_hh, gates, tanh_c = step_cache
    da, dc_prev = gate_gradients(dh @ W_hr, dc, c_prev, gates, tanh_c)  # dm = dh W_hr  (B, H)
    return da @ W_ih, da @ W_hh, dc_prev, da.T @ x, da.T @ h_prev, da.sum(0), da.sum(0), dh.T @ m


def recurrent_step(x_proj, h_prev, c_prev, W_hh, b_hh, W_hr):
    """The part of a step inside the time loop; ``x_proj = x W_ih^T + b_ih`` (B, 4H) comes precomputed.

    Returns ``h (B, P), c (B, H), m (B, H)`` and ``(h_prev, c_prev, W_hh, gates, tanh_c)`` as ``cells.lstm``.
    """
    H = c_prev.shape[-1]
    a = x_proj + h_prev @ W_hh.T + b_hh  # (B, 4H)
    i = sigmoid(a[:, 0 * H : 1 * H])
    f = sigmoid(a[:, 1 * H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H : 4 * H])
    c = f * c_prev + i * g  # (B, H)
    tanh_c = np.tanh(c)
    m = o * tanh_c  # (B, H)
    h = m @ W_hr.T  # (B, P): the projection
    gates = np.concatenate([i, f, g, o], axis=1)  # (B, 4H) after their nonlinearities
    return h, c, m, (h_prev, c_prev, W_hh, gates, tanh_c)


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr, mask=None):
    """Run the cell over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.
        h0 (B, P), c0 (B, H): initial states.
        W_ih (4H, I), W_hh (4H, P), b_ih (4H,), b_hh (4H,), W_hr (P, H): parameters, gates in order i, f, g,
        o. mask: optional (T, B) booleans; False marks padding: the states are carried, the output is zero.

    Returns:
        ``out (T, B, P), h_n (B, P), c_n (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); T, B, I, H, P = 5, 2, 3, 4, 2
        >>> p = [rng.normal(size=s) for s in [(4 * H, I), (4 * H, P), (4 * H,), (4 * H,), (P, H)]]
        >>> out, h_n, c_n, cache = forward(rng.normal(size=(T, B, I)), np.zeros((B, P)), np.zeros((B, H)), *p)
        >>> out.shape, c_n.shape
        ((5, 2, 2), (2, 4))
    """
    T, B, _ = x.shape
    P, H = W_hr.shape
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih)  # (T, B, 4H): all steps, one GEMM
    hs = np.empty((T + 1, B, P), dtype=x.dtype)  # carried states, hs[0] = h0
    cs = np.empty((T + 1, B, H), dtype=x.dtype)
    gates = np.empty((T, B, 4 * H), dtype=x.dtype)
    tanh_c = np.empty((T, B, H), dtype=x.dtype)
    ms = np.empty((T, B, H), dtype=x.dtype)  # m = o * tanh(c), before the projection
    out = np.empty((T, B, P), dtype=x.dtype)
    hs[0], cs[0] = h0, c0
    for t in range(T):
        h, c, ms[t], (_, _, _, gates[t], tanh_c[t]) = recurrent_step(
            x_proj[t], hs[t], cs[t], W_hh, b_hh, W_hr
        )
        if m is None:
            hs[t + 1], cs[t + 1], out[t] = h, c, h
        else:  # padded rows keep their state
            hs[t + 1] = m[t] * h + (1 - m[t]) * hs[t]
            cs[t + 1] = m[t] * c + (1 - m[t]) * cs[t]
            out[t] = m[t] * h
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
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, P) gradient with respect to ``out``;  dh_n (B, P), dc_n (B, H): with respect to the
            final states.

    Returns:
        dict ``x, h0, c0, W_ih, W_hh, b_ih, b_hh, W_hr`` (shapes of the inputs).
    """
    x, m, W_ih, hs = cache["x"], cache["mask"], cache["W_ih"], cache["hs"]
    T, B, _ = x.shape
    P, H = cache["W_hr"].shape
    da = np.empty((T, B, 4 * H), dtype=x.dtype)  # pre-activation gradients, all steps
    dhs = np.empty((T, B, P), dtype=x.dtype)  # the gradient entering each step's h
    dh_carry, dc_carry = dh_n.copy(), dc_n.copy()  # gradient at the carried states h_t, c_t
    for t in reversed(range(T)):
        if m is None:
            dhs[t], dc = dout[t] + dh_carry, dc_carry
        else:  # only real steps pass gradient into the cell
            dhs[t], dc = m[t] * (dout[t] + dh_carry), m[t] * dc_carry
        da[t], _, (dh_prev, dc_prev), _ = backward_step(t, (dhs[t], dc), cache)
        if m is not None:  # padded rows pass it straight through
            dh_prev += (1 - m[t]) * dh_carry
            dc_prev += (1 - m[t]) * dc_carry
        dh_carry, dc_carry = dh_prev, dc_prev
    grads = weight_gradients(da, da, x, hs, W_ih)  # dx and the LSTM's weight gradients
    grads["W_hr"] = dhs.reshape(T * B, P).T @ cache["ms"].reshape(T * B, H)  # sum_t dh_t^T m_t  (P, H)
    grads["h0"], grads["c0"] = dh_carry, dc_carry
    return grads


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh, dc)``, the gradients reaching h_t (B, P) and c_t
    (B, H).

    Returns ``da, da`` (B, 4H), ``(dh_prev, dc_prev)`` and ``(dh, dc_total)``, where ``dc_total = dc + dm * o
    * (1 - tanh(c)^2)`` with ``dm = dh W_hr`` also counts the path through h_t.
    """
    dh, dc = dstates
    gates, tanh_c = cache["gates"][t], cache["tanh_c"][t]
    dm = dh @ cache["W_hr"]  # (B, H)
    da, dc_prev = gate_gradients(dm, dc, cache["cs"][t], gates, tanh_c)
    o = gates[:, 3 * dm.shape[-1] :]
    return da, da, (da @ cache["W_hh"], dc_prev), (dh, dc + dm * o * (1 - tanh_c * tanh_c))
