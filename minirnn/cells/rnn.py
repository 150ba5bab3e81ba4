"""The vanilla (Elman) RNN cell with tanh or ReLU: one step forward and backward, and the whole sequence with
BPTT.

Plain NumPy, to be read beside the equations; ``minirnn/kernels/rnn.py`` runs the same computation fast.

Shapes (row vectors, PyTorch layout)::

    x       (B, I)  one step,  (T, B, I) a sequence (time-major)
    h       (B, H)
    W_ih    (H, I)     W_hh (H, H)     b_ih, b_hh (H,)

Forward, one step (phi is tanh or relu)::

    a = x W_ih^T + b_ih + h_prev W_hh^T + b_hh                        (B, H)
    h = phi(a)

Backward, one step, given dh::

    da      = dh * phi'(a)          tanh: 1 - h^2       relu: 1 where h > 0, else 0
    dh_prev = da W_hh,   dx = da W_ih,   dW_ih += da^T x,   dW_hh += da^T h_prev,   db_ih = db_hh += sum_B da

So dh_{t-1} = (dh_t * phi'(a_t)) W_hh: across many steps the gradient is multiplied again and again by
diag(phi'(a)) W_hh, which is why it vanishes (or explodes) over long sequences.

Recurrent dropout (Gal & Ghahramani 2016; Keras ``recurrent_dropout``): one mask m (B, H) per sequence,
entries 0 or
1/(1-p), the same at every step, on h_prev where it enters the recurrent product::

    a = x W_ih^T + b_ih + (h_prev * m) W_hh^T + b_hh
    dh_prev = (da W_hh) * m,   dW_hh += da^T (h_prev * m)
"""

from __future__ import annotations

import numpy as np

from ._common import as_step_mask, dropped, project_inputs, weight_gradients

NONLINEARITIES = ("tanh", "relu")


def activate(a, nonlinearity):
    """phi(a): ``np.tanh(a)`` or ``max(a, 0)``."""
    if nonlinearity == "tanh":
        return np.tanh(a)
    if nonlinearity == "relu":
        return np.maximum(a, 0)
    raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")


def activation_slope(h, nonlinearity):
    """phi'(a) written with the output h = phi(a): ``1 - h^2`` for tanh, ``h > 0`` for relu (same dtype as
    h)."""
    if nonlinearity == "tanh":
        return 1 - h * h
    if nonlinearity == "relu":
        return (h > 0).astype(h.dtype)
    raise ValueError(f"nonlinearity must be one of {NONLINEARITIES}, got {nonlinearity!r}")


def step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh", recurrent_mask=None):
    """One RNN step. x (B, I), h_prev (B, H), W_ih (H, I), W_hh (H, H), b_ih/b_hh (H,); recurrent_mask (B, H)
    or
    None: recurrent dropout, ``h_prev * recurrent_mask`` enters the product with W_hh.

    Returns ``h (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0)
        >>> h, cache = step_forward(rng.normal(size=(2, 3)), np.zeros((2, 4)), rng.normal(size=(4, 3)),
        ...                         rng.normal(size=(4, 4)), np.zeros(4), np.zeros(4))
        >>> h.shape
        (2, 4)
    """
    x_proj = x @ W_ih.T + b_ih  # (B, H)
    h = recurrent_step(
        x_proj, dropped(h_prev, recurrent_mask), W_hh, b_hh, nonlinearity
    )  # h_prev * m meets W_hh
    return h, (x, h_prev, W_ih, W_hh, h, nonlinearity, recurrent_mask)


def step_backward(dh, cache):
    """Backward of :func:`step_forward`. dh (B, H): the gradient arriving at h.

    Returns ``dx (B, I), dh_prev (B, H), dW_ih (H, I), dW_hh (H, H), db_ih (H,), db_hh (H,)``.
    """
    x, h_prev, W_ih, W_hh, h, nonlinearity, rmask = cache
    da = dh * activation_slope(h, nonlinearity)  # (B, H)
    h_prev = dropped(h_prev, rmask)  # what met W_hh: h_prev * m
    return da @ W_ih, dropped(da @ W_hh, rmask), da.T @ x, da.T @ h_prev, da.sum(0), da.sum(0)


def recurrent_step(x_proj, h_prev, W_hh, b_hh, nonlinearity):
    """The part of a step inside the time loop: ``h = phi(x_proj + h_prev W_hh^T + b_hh)``, x_proj (B, H)
    precomputed.
    (Under recurrent dropout the callers pass ``h_prev * m``: h_prev enters the step only through W_hh.)"""
    return activate(x_proj + h_prev @ W_hh.T + b_hh, nonlinearity)


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None, nonlinearity="tanh", recurrent_mask=None):
    """Run the RNN over a whole sequence.

    Args:
        x: (T, B, I) inputs, time-major.  h0: (B, H) initial state.
        W_ih (H, I), W_hh (H, H), b_ih (H,), b_hh (H,): parameters.
        mask: optional (T, B) booleans; False marks padding: the state is carried, the output is zero.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        recurrent_mask: optional (B, H) recurrent-dropout mask, the same at every step: ``h_{t-1} *
            recurrent_mask`` enters the product with W_hh (see ``_common.dropped``).

    Returns:
        ``out (T, B, H), h_n (B, H), cache``.

    Example:
        >>> rng = np.random.default_rng(0); T, B, I, H = 5, 2, 3, 4
        >>> p = [rng.normal(size=s) for s in [(H, I), (H, H), (H,), (H,)]]
        >>> out, h_n, cache = forward(rng.normal(size=(T, B, I)), np.zeros((B, H)), *p)
        >>> out.shape
        (5, 2, 4)
    """
    T, B, _ = x.shape
    H = h0.shape[-1]
    m = as_step_mask(mask, x)  # (T, B, 1) or None
    x_proj = project_inputs(x, W_ih, b_ih)  # (T, B, H): all steps, one GEMM
    hs = np.empty((T + 1, B, H), dtype=x.dtype)  # carried states, hs[0] = h0
    h_new = np.empty((T, B, H), dtype=x.dtype)  # phi(a_t) before masking
    hs[0] = h0
    for t in range(T):
        h_new[t] = recurrent_step(x_proj[t], dropped(hs[t], recurrent_mask), W_hh, b_hh, nonlinearity)
        hs[t + 1] = h_new[t] if m is None else m[t] * h_new[t] + (1 - m[t]) * hs[t]
    out = h_new.copy() if m is None else m * h_new
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
    """Backpropagation through time for :func:`forward`.

    Args:
        dout: (T, B, H) gradient with respect to ``out``;  dh_n: (B, H) with respect to the final state.

    Returns:
        dict ``x (T, B, I), h0 (B, H), W_ih (H, I), W_hh (H, H), b_ih (H,), b_hh (H,)``.
    """
    x, m, W_ih, hs = cache["x"], cache["mask"], cache["W_ih"], cache["hs"]
    T, B, _ = x.shape
    da = np.empty((T, B, hs.shape[-1]), dtype=x.dtype)  # pre-activation gradients, all steps
    dh_carry = dh_n.copy()  # gradient at the carried state h_t
    for t in reversed(range(T)):
        dh = dout[t] + dh_carry if m is None else m[t] * (dout[t] + dh_carry)
        da[t], _, (dh_prev,), _ = backward_step(t, (dh,), cache)
        if m is not None:  # padded rows pass it straight through
            dh_prev += (1 - m[t]) * dh_carry
        dh_carry = dh_prev
    hs_in = dropped(hs, cache.get("recurrent_mask"))  # what met W_hh: h_{t-1} * m
    grads = weight_gradients(da, da, x, hs_in, W_ih)  # dx and the weight gradients: one GEMM each
    grads["h0"] = dh_carry
    return grads


def backward_step(t, dstates, cache):
    """Step t of :func:`backward` (no padding): from ``(dh,)``, the gradient reaching h_t, to step t's part.

    Returns ``da_x, da_h`` (B, H), the gradients of ``x_t W_ih^T + b_ih`` and ``h_{t-1} W_hh^T + b_hh`` (one
    array
    here), ``(dh_prev,)`` reaching h_{t-1}, and ``(dh,)``, the gradient at step t's own state::

        da = dh * phi'(a_t)        dh_prev = (da W_hh) * m        (m: the recurrent-dropout mask, or 1)
    """
    (dh,) = dstates
    da = dh * activation_slope(cache["h_new"][t], cache["nonlinearity"])  # (B, H)
    return da, da, (dropped(da @ cache["W_hh"], cache.get("recurrent_mask")),), (dh,)
