"""The LSTM cell: one step forward and backward, and the whole sequence with backpropagation through time.

This is the page to read with the equations on the other screen. Everything is plain NumPy; the Numba loops in
``minirnn/kernels/lstm.py`` make the same computation fast and are tested against this file.

Shapes (row vectors, PyTorch layout and gate order ``i, f, g, o``)::

    x       (B, I)  one step,  (T, B, I) a sequence (time-major)
    h, c    (B, H)
    W_ih    (4H, I)     W_hh (4H, H)     b_ih, b_hh (4H,)

Forward, one step::

    a          = x W_ih^T + b_ih + h_prev W_hh^T + b_hh          (B, 4H)
    i, f, g, o = sigmoid(a_i), sigmoid(a_f), tanh(a_g), sigmoid(a_o)
    c          = f * c_prev + i * g
    h          = o * tanh(c)

Backward, one step, given dh and dc (the gradients arriving at h and c)::

    do = dh * tanh(c)
    dc = dc + dh * o * (1 - tanh(c)^2)
    di = dc * g,   df = dc * c_prev,   dg = dc * i,   dc_prev = dc * f
    da = [di * i(1-i),  df * f(1-f),  dg * (1-g^2),  do * o(1-o)]    (B, 4H)
    dh_prev = da W_hh,   dx = da W_ih,   dW_ih += da^T x,   dW_hh += da^T h_prev,   db_ih = db_hh += sum_B da

The term ``dc_prev = dc * f`` is the additive cell path: the gradient reaches ``c_{t-1}`` scaled only by the
forget gate.

Recurrent dropout (Gal & Ghahramani 2016): one mask m (B, H) per sequence, entries 0 or 1/(1-p), the same at
every
step and for all four gate blocks, on h_prev where it enters the recurrent product::

    a = x W_ih^T + b_ih + (h_prev * m) W_hh^T + b_hh
    dh_prev = (da W_hh) * m,   dW_hh += da^T (h_prev * m)

One mask for the four blocks is Gal's tied form and keeps the single (B, H) x (H, 4H) product. Keras draws
four masks, one per block; with the four set equal, Keras computes exactly this
(tests/interop/test_keras_variants.py).
"""

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, dropped, project_inputs, sigmoid, weight_gradients


def step_forward(x, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh, recurrent_mask=None):
    """One LSTM step. x (B, I), h_prev/c_prev (B, H), W_ih (4H, I), W_hh (4H, H), b_ih/b_hh (4H,);
    recurrent_mask (B, H) or None (recurrent dropout, see the module docstring).

    Returns ``h, c, cache``: the new states (B, H) and what :func:`step_backward` needs.

    Example:
        >>> rng = np.random.default_rng(0); B, I, H = 2, 3, 4
        >>> W_ih, W_hh = rng.normal(size=(4 * H, I)), rng.normal(size=(4 * H, H))
        >>> h, c, cache = step_forward(rng.normal(size=(B, I)), np.zeros((B, H)), np.zeros((B, H)),
        ...                            W_ih, W_hh, np.zeros(4 * H), np.zeros(4 * H))
        >>> h.shape, c.shape
        ((2, 4), (2, 4))
    """
    x_proj = x @ W_ih.T + b_ih  # (B, 4H)
    h, c, cache = recurrent_step(x_proj, dropped(h_prev, recurrent_mask), c_prev, W_hh, b_hh)  # h_prev * m
    return h, c, (x, W_ih, cache, recurrent_mask)


def step_backward(dh, dc, cache):
    """Backward of :func:`step_forward`. dh, dc (B, H): gradients arriving at the new h and c.

    Returns ``dx (B, I), dh_prev (B, H), dc_prev (B, H), dW_ih (4H, I), dW_hh (4H, H), db_ih (4H,), db_hh
    (4H,)``.
    """
    x, W_ih, step_cache, recurrent_mask = cache
    da, dh_in, dc_prev = recurrent_step_backward(dh, dc, step_cache)
    h_in = step_cache[0]  # h_prev * m: what met W_hh
    return da @ W_ih, dropped(dh_in, recurrent_mask), dc_prev, da.T @ x, da.T @ h_in, da.sum(0), da.sum(0)


def recurrent_step(x_proj, h_prev, c_prev, W_hh, b_hh):
    """The part of a step that must run inside the time loop; ``x_proj = x W_ih^T + b_ih`` (B, 4H) comes
    precomputed.

    Returns ``h, c, cache`` with ``cache = (h_prev, c_prev, W_hh, gates, tanh_c)``. (Under recurrent dropout
    the callers pass ``h_prev * m``: h_prev enters the step only through W_hh.)
    """
    H = h_prev.shape[-1]
    a = x_proj + h_prev @ W_hh.T + b_hh  # (B, 4H)
    i = sigmoid(a[:, 0 * H : 1 * H])
    f = sigmoid(a[:, 1 * H : 2 * H])
    g = np.tanh(a[:, 2 * H : 3 * H])
    o = sigmoid(a[:, 3 * H : 4 * H])
    c = f * c_prev + i * g  # (B, H)
    tanh_c = np.tanh(c)
    h = o * tanh_c
    gates = np.concatenate([i, f, g, o], axis=1)  # (B, 4H) after their nonlinearities
    return h, c, (h_prev, c_prev, W_hh, gates, tanh_c)


def recurrent_step_backward(dh, dc, cache):
    """Backward of :func:`recurrent_step`. Returns ``da (B, 4H), dh_prev (B, H), dc_prev (B, H)``.

    ``da`` is the gradient of the pre-activations, i.e. of both ``x_proj`` and ``h_prev W_hh^T + b_hh``.
    """
    h_prev, c_prev, W_hh, gates, tanh_c = cache
    da, dc_prev = gate_gradients(dh, dc, c_prev, gates, tanh_c)
    return da, da @ W_hh, dc_prev


def gate_gradients(dh, dc, c_prev, gates, tanh_c):
    """From dh, dc (B, H) to the pre-activation gradient ``da`` (B, 4H) and ``dc_prev`` (B, H); see the
    module docstring."""
    H = dh.shape[-1]
    i, f, g, o = gates[:, :H], gates[:, H : 2 * H], gates[:, 2 * H : 3 * H], gates[:, 3 * H :]
    do = dh * tanh_c
    dc = dc + dh * o * (1 - tanh_c * tanh_c)
    di, df, dg = dc * g, dc * c_prev, dc * i
    dc_prev = dc * f
    da = np.concatenate([di * i * (1 - i), df * f * (1 - f), dg * (1 - g * g), do * o * (1 - o)], axis=1)
    return da, dc_prev


def forward(x, h0, c0, W_ih, W_hh, b_ih, b_hh, mask=None, recurrent_mask=None):
    """Run the LSTM over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.
        h0, c0: (B, H) initial states.
        W_ih (4H, I), W_hh (4H, H), b_ih (4H,), b_hh (4H,): parameters, gates in PyTorch order i, f, g, o.
        mask: optional (T, B) booleans; where ``mask[t, b]`` is False the step is padding: the state is
            carried unchanged and the output is zero (PyTorch's ``pack_padded_sequence`` when the mask is a
            prefix).
        recurrent_mask: optional (B, H) recurrent-dropout mask, the same at every step (module docstring).

    Returns:
        ``out (T, B, H), h_n (B, H), c_n (B, H), cache``.

    The input projection ``x W_ih^T + b_ih`` for all T steps is one matrix product before the loop.

    Example:
        >>> rng = np.random.default_rng(0); T, B, I, H = 5, 2, 3, 4
        >>> p = [rng.normal(size=s) for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]]
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
    for t in range(T):
        h, c, (_, _, _, gates[t], tanh_c[t]) = recurrent_step(
            x_proj[t], dropped(hs[t], recurrent_mask), cs[t], W_hh, b_hh
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
        "hs": hs,
        "cs": cs,
        "gates": gates,
        "tanh_c": tanh_c,
        "recurrent_mask": recurrent_mask,
    }
    return out, hs[T], cs[T], cache


def backward(dout, dh_n, dc_n, cache):
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, H) gradient of the loss with respect to ``out``.
        dh_n, dc_n: (B, H) gradients with respect to the final states (zeros if the loss does not use them).
        cache: from :func:`forward`.

    Returns:
        dict of gradients ``x (T, B, I), h0 (B, H), c0 (B, H), W_ih, W_hh, b_ih, b_hh`` (shapes of the
        inputs).

    The loop only carries dh and dc back through time; the weight gradients are single matrix products after
    it.
    """
    x, m, W_ih, hs = cache["x"], cache["mask"], cache["W_ih"], cache["hs"]
    T, B, _ = x.shape
    da = np.empty((T, B, 4 * hs.shape[-1]), dtype=x.dtype)  # pre-activation gradients, all steps
    dh_carry, dc_carry = dh_n.copy(), dc_n.copy()  # gradient at the carried state h_t, c_t
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
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(da, da, x, hs_in, W_ih)  # dx and the weight gradients: one GEMM each
    grads["h0"], grads["c0"] = dh_carry, dc_carry
    return grads


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh, dc)``, the gradients reaching h_t and c_t from
    later.

    Returns ``da_x, da_h`` (B, 4H), the gradients of ``x_t W_ih^T + b_ih`` and ``h_{t-1} W_hh^T + b_hh`` (one
    array here), ``(dh_prev, dc_prev)`` reaching the previous states, and ``(dh, dc_total)``, the gradients at
    step t's own states, where ``dc_total = dc + dh * o * (1 - tanh(c)^2)`` also counts the path through h_t
    (the sum :func:`gate_gradients` forms first).
    """
    dh, dc = dstates
    gates, tanh_c = cache["gates"][t], cache["tanh_c"][t]
    da, dc_prev = gate_gradients(dh, dc, cache["cs"][t], gates, tanh_c)
    o = gates[:, 3 * dh.shape[-1] :]
    dh_prev = dropped(da @ cache["W_hh"], cache.get("recurrent_mask"))
    return da, da, (dh_prev, dc_prev), (dh, dc + dh * o * (1 - tanh_c * tanh_c))
