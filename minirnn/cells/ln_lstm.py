"""The layer-normalised LSTM (Ba, Kiros & Hinton 2016): the LSTM of ``lstm.py`` with its input and recurrent
pre-activations normalised separately, and the cell state normalised before the output tanh.

Plain NumPy; ``minirnn/kernels/ln_lstm.py`` runs the same computation fast. LN is ``layer_norm.py``'s
``LN(v) = gain * (v - mean(v)) / sqrt(var(v) + eps)``, over all 4H pre-activations of a row (or the H of c).

Shapes (row vectors, PyTorch layout and gate order ``i, f, g, o``)::

    x (B, I),  h, c (B, H),  W_ih (4H, I),  W_hh (4H, H),  b_ih, b_hh (4H,)
    g_ih, g_hh (4H,)  the gains of the two normalised products (``ln_ih_weight``, ``ln_hh_weight``)
    g_c, b_c (H,)     the gain and bias of the normalised cell state (``ln_c_weight``, ``ln_c_bias``)

Forward, one step (m: the recurrent-dropout mask, or 1)::

    u = x W_ih^T,   v = (h_prev * m) W_hh^T                                     (B, 4H)
    a = g_ih * LN(u) + b_ih  +  g_hh * LN(v) + b_hh                             (B, 4H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c = f * c_prev + i * g                  (the carried, unnormalised cell state)
    h = o * tanh(g_c * LN(c) + b_c)

b_ih and b_hh are the biases of the two normalisations (a separate LN bias would be the same parameter twice).

Backward, one step, given dh and dc (k = tanh(g_c * LN(c) + b_c), c_hat = LN(c) before its gain)::

    do = dh * k,   dk = dh * o * (1 - k^2),   dg_c += sum_B dk * c_hat,   db_c += sum_B dk
    dc = dc + LN_backward(dk * g_c)                  LN_backward: layer_norm.normalize_backward
    di = dc * g,   df = dc * c_prev,   dg = dc * i,   dc_prev = dc * f
    da = [di * i(1-i),  df * f(1-f),  dg * (1-g^2),  do * o(1-o)]               (B, 4H)
    db_ih = db_hh += sum_B da,   dg_hh += sum_B da * v_hat,   dg_ih += sum_B da * u_hat
    dv = LN_backward(da * g_hh),   dh_prev = (dv W_hh) * m,   dW_hh += dv^T (h_prev * m)
    du = LN_backward(da * g_ih),   dx = du W_ih,              dW_ih += du^T x
"""

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, dropped, sigmoid, weight_gradients
from .layer_norm import normalize, normalize_backward, normalize_inputs, sum_rows

PARAMETERS = ("W_ih", "W_hh", "b_ih", "b_hh", "g_ih", "g_hh", "g_c", "b_c")


def recurrent_step(x_term, h_prev, c_prev, W_hh, b_hh, g_hh, g_c, b_c, recurrent_mask=None):
    """The part of a step inside the time loop; ``x_term = g_ih * LN(x W_ih^T) + b_ih`` (B, 4H) comes
    precomputed.

    Returns ``h, c`` (B, H) and ``saved = (gates (B, 4H), v_hat (B, 4H), v_rstd (B, 1), c_hat (B, H),
    c_rstd (B, 1), tanh_c (B, H))``, what the backward needs.
    """
    H = h_prev.shape[-1]
    v_hat, v_rstd = normalize(dropped(h_prev, recurrent_mask) @ W_hh.T)  # (B, 4H), (B, 1)
    a = x_term + g_hh * v_hat + b_hh  # (B, 4H)
    i, f = sigmoid(a[:, :H]), sigmoid(a[:, H : 2 * H])
    g, o = np.tanh(a[:, 2 * H : 3 * H]), sigmoid(a[:, 3 * H :])
    c = f * c_prev + i * g  # (B, H)
    c_hat, c_rstd = normalize(c)
    tanh_c = np.tanh(g_c * c_hat + b_c)
    h = o * tanh_c
    return h, c, (np.concatenate([i, f, g, o], axis=1), v_hat, v_rstd, c_hat, c_rstd, tanh_c)


def step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, g_c, b_c, recurrent_mask=None):
    """One layer-normalised LSTM step. x (B, I), h_prev/c_prev (B, H), weights as in the module docstring.

    Returns ``h, c, cache``.

    Example:
        >>> rng = np.random.default_rng(0); B, I, H = 2, 3, 4
        >>> w = [rng.normal(size=s) for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,), (4 * H,), (4 * H,),
        ...                                   (H,), (H,)]]
        >>> h, c, cache = step_forward(rng.normal(size=(B, I)), np.zeros((B, H)), np.zeros((B, H)), *w)
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """
    out, h, c, cache = forward(
        x[None], h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, g_c, b_c, recurrent_mask=recurrent_mask
    )
    return h, c, cache


def step_backward(dh, dc, cache):
    """Backward of :func:`step_forward`. dh, dc (B, H): the gradients arriving at the new h and c.

    Returns ``dx (B, I), dh_prev, dc_prev (B, H)`` and the weight gradients in the order of
    :data:`PARAMETERS`.
    """
    grads = backward(np.zeros_like(dh)[None], dh, dc, cache)
    return (grads["x"][0], grads["h0"], grads["c0"], *(grads[name] for name in PARAMETERS))


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, g_c, b_c, mask=None, recurrent_mask=None):
    """Run the layer-normalised LSTM over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.  h0, c0: (B, H) initial states.
        W_ih (4H, I), W_hh (4H, H), b_ih, b_hh, g_ih, g_hh (4H,), g_c, b_c (H,): see the module docstring.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.
        recurrent_mask: optional (B, H) recurrent-dropout mask on h_{t-1}, the same at every step.

    Returns:
        ``out (T, B, H), h_n (B, H), c_n (B, H), cache``.

    The input side ``g_ih * LN(x W_ih^T) + b_ih`` of all T steps is computed before the loop.

    Example:
        >>> rng = np.random.default_rng(0); T, B, I, H = 5, 2, 3, 4
        >>> w = [rng.normal(size=s) for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,), (4 * H,), (4 * H,),
        ...                                   (H,), (H,)]]
        >>> out, h_n, c_n, cache = forward(rng.normal(size=(T, B, I)), np.zeros((B, H)), np.zeros((B, H)), *w)
        >>> out.shape, bool(np.allclose(out[-1], h_n))
        ((5, 2, 4), True)
    """
    T, B, _ = x.shape
    H = h0.shape[-1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_term, u_hat, u_rstd = normalize_inputs(x, W_ih, g_ih)  # (T, B, 4H): all steps at once
    x_term += b_ih
    hs, cs = np.empty((T + 1, B, H), dtype=x.dtype), np.empty((T + 1, B, H), dtype=x.dtype)
    gates, v_hat = np.empty((T, B, 4 * H), dtype=x.dtype), np.empty((T, B, 4 * H), dtype=x.dtype)
    v_rstd, c_rstd = np.empty((T, B, 1), dtype=x.dtype), np.empty((T, B, 1), dtype=x.dtype)
    c_hat, tanh_c = np.empty((T, B, H), dtype=x.dtype), np.empty((T, B, H), dtype=x.dtype)
    out = np.empty((T, B, H), dtype=x.dtype)
    hs[0], cs[0] = h0, c0
    for t in range(T):
        h, c, (gates[t], v_hat[t], v_rstd[t], c_hat[t], c_rstd[t], tanh_c[t]) = recurrent_step(
            x_term[t], hs[t], cs[t], W_hh, b_hh, g_hh, g_c, b_c, recurrent_mask
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
        "g_ih": g_ih,
        "g_hh": g_hh,
        "g_c": g_c,
        "hs": hs,
        "cs": cs,
        "gates": gates,
        "tanh_c": tanh_c,
        "u_hat": u_hat,
        "u_rstd": u_rstd,
        "v_hat": v_hat,
        "v_rstd": v_rstd,
        "c_hat": c_hat,
        "c_rstd": c_rstd,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cs[T], cache


def backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n, dc_n: (B, H) with respect to the final
            states.

    Returns:
        dict of gradients ``x, h0, c0`` and every parameter of :data:`PARAMETERS` (shapes of the inputs).
    """
    x, m, hs = cache["x"], cache["mask"], cache["hs"]
    T, B, _ = x.shape
    H = hs.shape[-1]
    da = np.empty((T, B, 4 * H), dtype=x.dtype)  # gradients of a, all steps
    dv = np.empty_like(da)  # gradients of v = (h_prev * m) W_hh^T
    dk = np.empty((T, B, H), dtype=x.dtype)  # gradients of k's argument g_c LN(c) + b_c
    dh_carry, dc_carry = dh_n.copy(), dc_n.copy()  # gradient at the carried state h_t, c_t
    for t in reversed(range(T)):
        if m is None:
            dh, dc = dout[t] + dh_carry, dc_carry
        else:  # only real steps pass gradient into the cell
            dh, dc = m[t] * (dout[t] + dh_carry), m[t] * dc_carry
        da[t], dv[t], dk[t], (dh_prev, dc_prev), _ = _step_back(t, dh, dc, cache)
        if m is not None:  # padded rows pass it straight through
            dh_prev += (1 - m[t]) * dh_carry
            dc_prev += (1 - m[t]) * dc_carry
        dh_carry, dc_carry = dh_prev, dc_prev
    du = normalize_backward(da * cache["g_ih"], cache["u_hat"], cache["u_rstd"])  # (T, B, 4H)
    grads = weight_gradients(du, dv, x, dropped(hs, cache["recurrent_mask"]), cache["W_ih"])
    grads["b_ih"] = sum_rows(da)
    grads["b_hh"] = grads["b_ih"].copy()
    grads["g_ih"], grads["g_hh"] = sum_rows(da * cache["u_hat"]), sum_rows(da * cache["v_hat"])
    grads["g_c"], grads["b_c"] = sum_rows(dk * cache["c_hat"]), sum_rows(dk)
    grads["h0"], grads["c0"] = dh_carry, dc_carry
    return grads


def _step_back(t, dh, dc, cache):
    """Step t of BPTT: ``da, dv (B, 4H), dk (B, H), (dh_prev, dc_prev), dc_total`` (module docstring)."""
    gates, tanh_c, c_prev = cache["gates"][t], cache["tanh_c"][t], cache["cs"][t]
    H = dh.shape[-1]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    do = dh * tanh_c
    dk = dh * o * (1 - tanh_c * tanh_c)  # (B, H)
    dc_total = dc + normalize_backward(dk * cache["g_c"], cache["c_hat"][t], cache["c_rstd"][t])
    di, df, dg = dc_total * g, dc_total * c_prev, dc_total * i
    dc_prev = dc_total * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    dv = normalize_backward(da * cache["g_hh"], cache["v_hat"][t], cache["v_rstd"][t])
    dh_prev = dropped(dv @ cache["W_hh"], cache["recurrent_mask"])
    return da, dv, dk, (dh_prev, dc_prev), dc_total


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh, dc)``, the gradients reaching h_t and c_t from
    later.

    Returns ``du, dv`` (B, 4H), the gradients of ``x_t W_ih^T`` and ``(h_{t-1} * m) W_hh^T`` (before their
    normalisation), ``(dh_prev, dc_prev)`` reaching the previous states, and ``(dh, dc_total)``, the
    gradients at step t's own states (dc_total also counts the path through h_t).
    """
    dh, dc = dstates
    da, dv, _, prev, dc_total = _step_back(t, dh, dc, cache)
    du = normalize_backward(da * cache["g_ih"], cache["u_hat"][t], cache["u_rstd"][t])
    return du, dv, prev, (dh, dc_total)
