"""The layer-normalised GRU: the GRU of ``gru.py`` (PyTorch's variant) with its input and recurrent products
normalised separately (Ba, Kiros & Hinton 2016), each over all 3H pre-activations of a row.

Plain NumPy; ``minirnn/kernels/ln_gru.py`` runs the same computation fast. LN is ``layer_norm.py``'s
``LN(v) = (v - mean(v)) / sqrt(var(v) + eps)`` before its gain.

Shapes (row vectors, PyTorch layout and gate order ``r, z, n``)::

    x (B, I),  h (B, H),  W_ih (3H, I),  W_hh (3H, H),  b_ih, b_hh (3H,)
    g_ih, g_hh (3H,)  the gains of the two normalised products (``ln_ih_weight``, ``ln_hh_weight``)

Forward, one step (m: the recurrent-dropout mask, or 1)::

    u = x W_ih^T,   v = (h_prev * m) W_hh^T                                     (B, 3H)
    xr, xz, xn = split(g_ih * LN(u) + b_ih)       hr, hz, hn = split(g_hh * LN(v) + b_hh)
    r = sigmoid(xr + hr),   z = sigmoid(xz + hz),   n = tanh(xn + r * hn)
    h = (1 - z) * n + z * h_prev

b_ih and b_hh are the biases of the two normalisations (a separate LN bias would be the same parameter twice).

Backward, one step, given dh: ``gru.gate_gradients`` gives dx_proj, dh_proj (B, 3H), the gradients of the two
normalised terms, and the shortcut dh * z; then::

    db_ih += sum_B dx_proj,   db_hh += sum_B dh_proj,   dg_ih += sum_B dx_proj * u_hat,   dg_hh += sum_B
    dh_proj * v_hat dv = LN_backward(dh_proj * g_hh),   dh_prev = dh * z + (dv W_hh) * m,   dW_hh += dv^T
    (h_prev * m) du = LN_backward(dx_proj * g_ih),   dx = du W_ih,                        dW_ih += du^T x
"""

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, dropped, sigmoid, weight_gradients
from .gru import gate_gradients
from .layer_norm import normalize, normalize_backward, normalize_inputs, sum_rows

PARAMETERS = ("W_ih", "W_hh", "b_ih", "b_hh", "g_ih", "g_hh")


def recurrent_step(x_term, h_prev, W_hh, b_hh, g_hh, recurrent_mask=None):
    """The part of a step inside the time loop; ``x_term = g_ih * LN(x W_ih^T) + b_ih`` (B, 3H) comes
    precomputed.

    Returns ``h (B, H)`` and ``saved = (gates (B, 3H) = [r, z, n], hn (B, H), v_hat (B, 3H), v_rstd (B, 1))``.
    """
    H = h_prev.shape[-1]
    v_hat, v_rstd = normalize(dropped(h_prev, recurrent_mask) @ W_hh.T)  # (B, 3H), (B, 1)
    h_term = g_hh * v_hat + b_hh  # (B, 3H)
    r = sigmoid(x_term[:, :H] + h_term[:, :H])
    z = sigmoid(x_term[:, H : 2 * H] + h_term[:, H : 2 * H])
    hn = h_term[:, 2 * H :]
    n = np.tanh(x_term[:, 2 * H :] + r * hn)
    h = (1 - z) * n + z * h_prev
    return h, (np.concatenate([r, z, n], axis=1), hn, v_hat, v_rstd)


def step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, recurrent_mask=None):
    """One layer-normalised GRU step. x (B, I), h_prev (B, H), weights as in the module docstring.

    Returns ``h (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); B, I, H = 2, 3, 4
        >>> w = [rng.normal(size=s) for s in [(3 * H, I), (3 * H, H), (3 * H,), (3 * H,), (3 * H,), (3 * H,)]]
        >>> h, cache = step_forward(rng.normal(size=(B, I)), np.zeros((B, H)), *w)
        >>> h.shape
        (2, 4)
    """
    _, h, cache = forward(x[None], h_prev, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, recurrent_mask=recurrent_mask)
    return h, cache


def step_backward(dh, cache):
    """Backward of :func:`step_forward`. dh (B, H): the gradient arriving at h.

    Returns ``dx (B, I), dh_prev (B, H)`` and the weight gradients in the order of :data:`PARAMETERS`.
    """
    grads = backward(np.zeros_like(dh)[None], dh, cache)
    return (grads["x"][0], grads["h0"], *(grads[name] for name in PARAMETERS))


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, g_ih, g_hh, mask=None, recurrent_mask=None):
    """Run the layer-normalised GRU over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.  h0: (B, H) initial state.
        W_ih (3H, I), W_hh (3H, H), b_ih, b_hh, g_ih, g_hh (3H,): see the module docstring.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.
        recurrent_mask: optional (B, H) recurrent-dropout mask on h_{t-1}, the same at every step.

    Returns:
        ``out (T, B, H), h_n (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); T, B, I, H = 5, 2, 3, 4
        >>> w = [rng.normal(size=s) for s in [(3 * H, I), (3 * H, H), (3 * H,), (3 * H,), (3 * H,), (3 * H,)]]
        >>> out, h_n, cache = forward(rng.normal(size=(T, B, I)), np.zeros((B, H)), *w)
        >>> out.shape
        (5, 2, 4)
    """
    T, B, _ = x.shape
    H = h0.shape[-1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_term, u_hat, u_rstd = normalize_inputs(x, W_ih, g_ih)  # (T, B, 3H): all steps at once
    x_term += b_ih
    hs = np.empty((T + 1, B, H), dtype=x.dtype)  # carried states, hs[0] = h0
    gates, v_hat = np.empty((T, B, 3 * H), dtype=x.dtype), np.empty((T, B, 3 * H), dtype=x.dtype)
    hn, v_rstd = np.empty((T, B, H), dtype=x.dtype), np.empty((T, B, 1), dtype=x.dtype)
    out = np.empty((T, B, H), dtype=x.dtype)
    hs[0] = h0
    for t in range(T):
        h, (gates[t], hn[t], v_hat[t], v_rstd[t]) = recurrent_step(
            x_term[t], hs[t], W_hh, b_hh, g_hh, recurrent_mask
        )
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
        "g_ih": g_ih,
        "g_hh": g_hh,
        "hs": hs,
        "gates": gates,
        "hn": hn,
        "u_hat": u_hat,
        "u_rstd": u_rstd,
        "v_hat": v_hat,
        "v_rstd": v_rstd,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cache


def backward(dout, dh_n, cache):
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n: (B, H) with respect to the final state.

    Returns:
        dict of gradients ``x, h0`` and every parameter of :data:`PARAMETERS` (shapes of the inputs).
    """
    x, m, hs = cache["x"], cache["mask"], cache["hs"]
    T, B, _ = x.shape
    dx_proj = np.empty((T, B, 3 * hs.shape[-1]), dtype=x.dtype)  # gradients of the two normalised terms
    dh_proj, dv = np.empty_like(dx_proj), np.empty_like(dx_proj)
    dh_carry = dh_n.copy()  # gradient at the carried state h_t
    for t in reversed(range(T)):
        dh = dout[t] + dh_carry if m is None else m[t] * (dout[t] + dh_carry)
        dx_proj[t], dh_proj[t], dv[t], dh_prev = _step_back(t, dh, cache)
        if m is not None:  # padded rows pass it straight through
            dh_prev += (1 - m[t]) * dh_carry
        dh_carry = dh_prev
    du = normalize_backward(dx_proj * cache["g_ih"], cache["u_hat"], cache["u_rstd"])  # (T, B, 3H)
    grads = weight_gradients(du, dv, x, dropped(hs, cache["recurrent_mask"]), cache["W_ih"])
    grads["b_ih"], grads["b_hh"] = sum_rows(dx_proj), sum_rows(dh_proj)
    grads["g_ih"], grads["g_hh"] = sum_rows(dx_proj * cache["u_hat"]), sum_rows(dh_proj * cache["v_hat"])
    grads["h0"] = dh_carry
    return grads


def _step_back(t, dh, cache):
    """Step t of BPTT: ``dx_proj, dh_proj, dv`` (B, 3H) and ``dh_prev`` (B, H) (module docstring)."""
    dx_proj, dh_proj, dh_direct = gate_gradients(dh, cache["hs"][t], cache["gates"][t], cache["hn"][t])
    dv = normalize_backward(dh_proj * cache["g_hh"], cache["v_hat"][t], cache["v_rstd"][t])
    return dx_proj, dh_proj, dv, dh_direct + dropped(dv @ cache["W_hh"], cache["recurrent_mask"])


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh,)``, the gradient reaching h_t, to step t's part.

    Returns ``du, dv`` (B, 3H), the gradients of ``x_t W_ih^T`` and ``(h_{t-1} * m) W_hh^T`` (before their
    normalisation), ``(dh_prev,)`` reaching h_{t-1}, and ``(dh,)``.
    """
    (dh,) = dstates
    dx_proj, _, dv, dh_prev = _step_back(t, dh, cache)
    du = normalize_backward(dx_proj * cache["g_ih"], cache["u_hat"][t], cache["u_rstd"][t])
    return du, dv, (dh_prev,), (dh,)
