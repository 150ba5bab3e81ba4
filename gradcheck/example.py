"""An example for ``gradcheck --target``: a vanilla tanh RNN with its backward written by hand, in plain
NumPy.

    gradcheck --target gradcheck.example:loss_and_grads

Copy this file to start your own: ``loss_and_grads(params) -> (loss, grads)`` and ``make_params(seed) ->
params``. The loss is ``sum(h_t * G_t)`` over all steps with a fixed random ``G`` (never a plain sum, which
hides errors that cancel across units).
"""

import numpy as np

T, B, I, H = 4, 2, 3, 5


def make_params(seed=0):
    """The point to check at: inputs, initial state and weights, all float64. x (T, B, I), h0 (B, H), Wx (I,
    H), Wh (H, H), b (H,)."""
    rng = np.random.default_rng(seed)
    return {
        "x": rng.normal(size=(T, B, I)),
        "h0": rng.normal(size=(B, H)),
        "Wx": rng.normal(scale=0.5, size=(I, H)),
        "Wh": rng.normal(scale=0.5, size=(H, H)),
        "b": rng.normal(scale=0.1, size=H),
    }


_G = np.random.default_rng(1234).normal(size=(T, B, H))  # the fixed upstream gradient


def loss_and_grads(params):
    """Forward h_t = tanh(x_t Wx + h_{t-1} Wh + b), loss = sum_t sum(h_t * G_t); backward through time by
    hand.

    Returns (loss, grads) with grads a dict holding the gradient of every entry of params.

    Example:
        >>> loss, grads = loss_and_grads(make_params())
        >>> sorted(grads)
        ['Wh', 'Wx', 'b', 'h0', 'x']
    """
    x, h0, Wx, Wh, b = (params[k] for k in ("x", "h0", "Wx", "Wh", "b"))
    hs = [h0]
    for t in range(T):
        hs.append(np.tanh(x[t] @ Wx + hs[-1] @ Wh + b))
    loss = float(sum(np.sum(hs[t + 1] * _G[t]) for t in range(T)))

    grads = {"x": np.zeros_like(x), "Wx": np.zeros_like(Wx), "Wh": np.zeros_like(Wh), "b": np.zeros_like(b)}
    dh = np.zeros_like(h0)
    for t in reversed(range(T)):
        da = (dh + _G[t]) * (1 - hs[t + 1] ** 2)  # (B, H)
        grads["x"][t] = da @ Wx.T
        grads["Wx"] += x[t].T @ da
        grads["Wh"] += hs[t].T @ da
        grads["b"] += da.sum(axis=0)
        dh = da @ Wh.T
    grads["h0"] = dh
    return loss, grads
