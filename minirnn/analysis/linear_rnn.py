"""The linear RNN ``h_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` (no activation): the one case of BPTT
with a closed form. With ``W_hh = g Q`` (Q orthogonal) every step back multiplies the gradient norm by exactly
g.

It is a cell like the others for the measurements (``LINEAR`` below is its registry entry, with
:func:`forward` and :func:`backward_step` in the cells' convention), but not a layer of the library: it has no
compiled loop and no ``backward`` of its own.
"""

from __future__ import annotations

import numpy as np

from ..cells.registry import Cell
from ..nn.module import Module

#: The linear RNN's entry, shaped like the registry's cells (readable loop only: this file).
LINEAR = Cell(
    "linear",
    "linear RNN",
    gates=("a",),
    states=("h",),
    module="linear_rnn",
    torch_class="",
    keras_class="",
    keras_gates=("a",),
    keras_biases=1,
    color="#555555",
    readable="minirnn.analysis.linear_rnn",
)


def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None):
    """Forward of the linear RNN with the cache layout of ``cells.rnn.forward``: x (T, B, I), h0 (B, H).

    Returns ``out (T, B, H), h_n (B, H), cache`` (``hs`` (T+1, B, H) the carried states). No padding mask.

    Example:
        >>> out, h_n, cache = forward(np.ones((3, 1, 2)), np.zeros((1, 2)), np.eye(2), np.eye(2), np.zeros(2),
        ...                           np.zeros(2))
        >>> out[:, 0, 0].tolist()
        [1.0, 2.0, 3.0]
    """
    if mask is not None:
        raise ValueError("the linear RNN of the measurements takes no mask")
    T, B, _ = x.shape
    x_proj = x @ W_ih.T + b_ih  # (T, B, H)
    hs = np.empty((T + 1, B, h0.shape[-1]), dtype=x.dtype)
    hs[0] = h0
    for t in range(T):
        hs[t + 1] = x_proj[t] + hs[t] @ W_hh.T + b_hh
    return hs[1:].copy(), hs[T], {"x": x, "W_ih": W_ih, "W_hh": W_hh, "hs": hs, "h_new": hs[1:]}


def backward_step(t, dstates, cache):
    """One step back: the step Jacobian is W_hh itself, ``dh_prev = dh W_hh`` (see
    ``cells.rnn.backward_step``)."""
    (dh,) = dstates
    return dh, dh, (dh @ cache["W_hh"],), (dh,)


class LinearRNN(Module):
    """An RNN without activation, ``h_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``: the textbook case of
    BPTT.

    Its step Jacobian is ``W_hh`` itself, so with ``W_hh = g Q`` (Q orthogonal) every step back multiplies
    the gradient norm by exactly g. Parameters have PyTorch's names (``weight_ih_l0`` ...) and default init,
    like :class:`minirnn.RNN`; only :func:`gradient_profile` and friends use it (it has no ``backward`` of its
    own).

    Example:
        >>> lin = LinearRNN(3, 4, seed=0)
        >>> out, h_n = lin(np.ones((5, 2, 3)))
        >>> out.shape, h_n.shape
        ((5, 2, 4), (1, 2, 4))
    """

    cell = LINEAR
    num_layers, bidirectional, options = 1, False, {}

    def __init__(self, input_size, hidden_size, *, dtype=np.float64, seed=None):
        super().__init__()
        self.input_size, self.hidden_size, self.dtype = int(input_size), int(hidden_size), np.dtype(dtype)
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(hidden_size)
        shapes = {
            "weight_ih_l0": (hidden_size, input_size),
            "weight_hh_l0": (hidden_size, hidden_size),
            "bias_ih_l0": (hidden_size,),
            "bias_hh_l0": (hidden_size,),
        }
        for name, shape in shapes.items():
            self._own_params[name] = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
            self._own_grads[name] = np.zeros(shape, dtype=self.dtype)

    def __call__(self, x, h0=None):
        """x (T, B, I), h0 (1, B, H) or None -> out (T, B, H), h_n (1, B, H)."""
        h0 = np.zeros((1, x.shape[1], self.hidden_size), self.dtype) if h0 is None else h0
        p = self.params
        out, h_n, _ = forward(
            x, h0[0], p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]
        )
        return out, h_n[None]

    def __repr__(self):
        return f"LinearRNN({self.input_size}, {self.hidden_size})"
