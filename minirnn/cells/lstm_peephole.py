"""The LSTM with peephole connections (Gers and Schmidhuber 2000; TF's ``LSTMCell(use_peepholes=True)``):
the input and forget gates see the previous cell state c_{t-1}, the output gate sees the new one c_t, each
through a diagonal weight. ``minirnn.LSTM(..., peepholes=True)``.

Plain NumPy, to be read beside the equations; ``minirnn/kernels/lstm_peephole.py`` runs the same loop fast.
PyTorch has no such cell; its parameters are named in PyTorch's style: ``weight_ci_l{k}``, ``weight_cf_l{k}``,
``weight_co_l{k}`` (each (H,)), after the four of ``nn.LSTM``.

Shapes (row vectors, PyTorch layout and gate order ``i, f, g, o``)::

    x       (B, I)  one step,  (T, B, I) a sequence (time-major)
    h, c    (B, H)
    W_ih    (4H, I)     W_hh (4H, H)     b_ih, b_hh (4H,)     w_ci, w_cf, w_co (H,)

Forward, one step (``a_* `` are the blocks of ``x W_ih^T + b_ih + h_prev W_hh^T + b_hh``)::

    i = sigmoid(a_i + w_ci * c_prev)
    f = sigmoid(a_f + w_cf * c_prev)
    g = tanh(a_g)
    c = f * c_prev + i * g
    o = sigmoid(a_o + w_co * c)                                   the new c, so o comes after c
    h = o * tanh(c)

Backward, one step, given dh and dc (the gradients arriving at h and c)::

    do = dh * tanh(c),   da_o = do * o(1-o)
    dc = dc + dh * o * (1 - tanh(c)^2) + da_o * w_co              c also reaches the loss through o
    di = dc * g,   df = dc * c_prev,   dg = dc * i
    da_i = di * i(1-i),   da_f = df * f(1-f),   da_g = dg * (1-g^2),   da = [da_i, da_f, da_g, da_o]   (B, 4H)
    dc_prev = dc * f + da_i * w_ci + da_f * w_cf dh_prev = da W_hh,   dx = da W_ih,   dW_ih += da^T x,   dW_hh
    += da^T h_prev,   db_ih = db_hh += sum_B da dw_ci += sum_B da_i * c_prev,   dw_cf += sum_B da_f * c_prev, 
dw_co += sum_B da_o * c """

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, project_inputs, sigmoid, weight_gradients


def step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """One step. x (B, I), h_prev/c_prev (B, H), W_ih (4H, I), W_hh (4H, H), b_* (4H,), w_c* (H,).

    Returns ``h, c, cache``.

    Example:
        >>> rng = np.random.default_rng(0); B, I, H = 2, 3, 4
        >>> h, c, cache = step_forward(rng.normal(size=(B, I)), np.zeros((B, H)), np.ones((B, H)),
        ...     rng.normal(size=(4 * H, I)), rng.normal(size=(4 * H, H)), np.zeros(4 * H), np.zeros(4 * H),
        ...     *rng.normal(size=(3, H)))
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """
    x_proj = x @ W_ih.T + b_ih  # (B, 4H)
    h, c, step_cache = recurrent_step(x_proj, h_prev, c_prev, W_hh, b_hh, w_ci, w_cf, w_co)
    return h, c, (x, W_ih, c, step_cache)


def step_backward(dh, dc, cache):
    """Backward of :func:`step_forward`. dh, dc (B, H): gradients arriving at the new h and c.

    Returns ``dx, dh_prev, dc_prev, dW_ih, dW_hh, db_ih, db_hh, dw_ci, dw_cf, dw_co`` (shapes of the inputs).
    """
    x, W_ih, c, (h_prev, c_prev, W_hh, gates, tanh_c, peepholes) = cache
    H = dh.shape[-1]
    da, dc_prev, _ = gate_gradients(dh, dc, c_prev, gates, tanh_c, *peepholes)
    dw_ci, dw_cf, dw_co = [
        (da[:, k * H : (k + 1) * H] * s).sum(0) for k, s in ((0, c_prev), (1, c_prev), (3, c))
    ]
    return da @ W_ih, da @ W_hh, dc_prev, da.T @ x, da.T @ h_prev, da.sum(0), da.sum(0), dw_ci, dw_cf, dw_co


def recurrent_step(x_proj, h_prev, c_prev, W_hh, b_hh, w_ci, w_cf, w_co):
    """The part of a step inside the time loop; ``x_proj = x W_ih^T + b_ih`` (B, 4H) comes precomputed.

    Returns ``h, c, cache`` with ``cache = (h_prev, c_prev, W_hh, gates, tanh_c, (w_ci, w_cf, w_co))``.
    """
    H = h_prev.shape[-1]
    a = x_proj + h_prev @ W_hh.T + b_hh  # (B, 4H)
    i = sigmoid(a[:, 0 * H : 1 * H] + w_ci * c_prev)
    f = sigmoid(a[:, 1 * H : 2 * H] + w_cf * c_prev)
    g = np.tanh(a[:, 2 * H : 3 * H])
    c = f * c_prev + i * g  # (B, H)
    o = sigmoid(a[:, 3 * H : 4 * H] + w_co * c)
    tanh_c = np.tanh(c)
    h = o * tanh_c
    gates = np.concatenate([i, f, g, o], axis=1)  # (B, 4H) after their nonlinearities
    return h, c, (h_prev, c_prev, W_hh, gates, tanh_c, (w_ci, w_cf, w_co))


def gate_gradients(dh, dc, c_prev, gates, tanh_c, w_ci, w_cf, w_co):
    """From dh, dc (B, H) to ``da`` (B, 4H), ``dc_prev`` (B, H) and ``dc`` at c_t (all paths); see the
    docstring."""
    H = dh.shape[-1]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    do = dh * tanh_c
    da_o = do * o * (1 - o)
    dc = dc + dh * o * (1 - tanh_c * tanh_c) + da_o * w_co
    di, df, dg = dc * g, dc * c_prev, dc * i
    da_i, da_f = di * i * (1 - i), df * f * (1 - f)
    dc_prev = dc * f + da_i * w_ci + da_f * w_cf
    da = np.concatenate([da_i, da_f, dg * (1 - g * g), da_o], axis=1)
    return da, dc_prev, dc


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co, mask=None):
    """Run the cell over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.
        h0, c0: (B, H) initial states.
        W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,): as ``cells.lstm``;  w_ci, w_cf, w_co (H,): the
        peepholes. mask: optional (T, B) booleans; False marks padding: the states are carried, the output is
        zero.

    Returns:
        ``out (T, B, H), h_n (B, H), c_n (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); T, B, I, H = 5, 2, 3, 4
        >>> p = [rng.normal(size=s) for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,), (H,), (H,), (H,)]]
        >>> out, h_n, c_n, cache = forward(rng.normal(size=(T, B, I)), np.zeros((B, H)), np.zeros((B, H)), *p)
        >>> out.shape, bool(np.allclose(out[-1], h_n))
        ((5, 2, 4), True)
    """
    T, B, _ = x.shape
    H = h0.shape[-1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih)  # (T, B, 4H): all steps, one GEMM
    hs = np.empty((T + 1, B, H), dtype=x.dtype)  # carried states, hs[0] = h0
    cs = np.empty((T + 1, B, H), dtype=x.dtype)
    gates = np.empty((T, B, 4 * H), dtype=x.dtype)
    tanh_c = np.empty((T, B, H), dtype=x.dtype)
    out = np.empty((T, B, H), dtype=x.dtype)
    hs[0], cs[0] = h0, c0
    peepholes = (w_ci, w_cf, w_co)
    for t in range(T):
        h, c, (_, _, _, gates[t], tanh_c[t], _) = recurrent_step(
            x_proj[t], hs[t], cs[t], W_hh, b_hh, *peepholes
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
        "peepholes": peepholes,
        "hs": hs,
        "cs": cs,
        "gates": gates,
        "tanh_c": tanh_c,
    }
    return out, hs[T], cs[T], cache


def backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n, dc_n: (B, H) with respect to the final
            states.

    Returns:
        dict ``x, h0, c0, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co`` (shapes of the inputs).
    """
    x, m, W_ih, hs = cache["x"], cache["mask"], cache["W_ih"], cache["hs"]
    T, B, _ = x.shape
    H = hs.shape[-1]
    da = np.empty((T, B, 4 * H), dtype=x.dtype)  # pre-activation gradients, all steps
    dh_carry, dc_carry = dh_n.copy(), dc_n.copy()  # gradient at the carried states h_t, c_t
    for t in reversed(range(T)):
        if m is None:
            dh, dc = dout[t] + dh_carry, dc_carry
        else:  # only real steps pass gradient into the cell
            dh, dc = m[t] * (dout[t] + dh_carry), m[t] * dc_carry
        da[t], _, (dh_prev, dc_prev), _ = backward_step(t, (dh, dc), cache)
        if m is not None:  # padded rows pass it straight through
            dh_prev += (1 - m[t]) * dh_carry
            dc_prev += (1 - m[t]) * dc_carry
        dh_carry, dc_carry = dh_prev, dc_prev
    grads = weight_gradients(da, da, x, hs, W_ih)  # dx and the LSTM's weight gradients
    grads.update(peephole_gradients(da, cache["cs"]))
    grads["h0"], grads["c0"] = dh_carry, dc_carry
    return grads


def peephole_gradients(da, cs):
    """``dw_ci = sum da_i * c_prev,  dw_cf = sum da_f * c_prev,  dw_co = sum da_o * c`` over all steps and
    rows.

    da (T, B, 4H); cs (T+1, B, H) the carried cell states, so ``cs[:-1]`` are the c_{t-1} and ``cs[1:]`` the
    c_t (at a padded step cs carries the old c, but da is zero there).
    """
    H = cs.shape[-1]
    c_prev, c = cs[:-1], cs[1:]
    return {
        "w_ci": np.einsum("tbh,tbh->h", da[..., :H], c_prev),
        "w_cf": np.einsum("tbh,tbh->h", da[..., H : 2 * H], c_prev),
        "w_co": np.einsum("tbh,tbh->h", da[..., 3 * H :], c),
    }


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh, dc)``, the gradients reaching h_t and c_t from
    later.

    Returns ``da, da`` (B, 4H), ``(dh_prev, dc_prev)`` and ``(dh, dc_total)``, where ``dc_total`` also counts
    the paths from c_t through h_t and through the output gate's peephole.
    """
    dh, dc = dstates
    da, dc_prev, dc_total = gate_gradients(
        dh, dc, cache["cs"][t], cache["gates"][t], cache["tanh_c"][t], *cache["peepholes"]
    )
    return da, da, (da @ cache["W_hh"], dc_prev), (dh, dc_total)
