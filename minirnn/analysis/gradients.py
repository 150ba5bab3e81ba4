"""Exact per-step gradient norms from the hand-written BPTT, and the Jacobian products behind them.

For a tanh RNN one step back multiplies the gradient by ``dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh``, so the
gradient reaching step t from a loss at the last step passes through T-1-t such factors. Everything here runs
the readable forward of the layer's cell and then its ``backward_step`` (``minirnn/cells/<cell>.py``) from the
last step
back: one
backward pass, no finite differences, no math of its own. Work in float64: in float32 a ratio of 1e-20
underflows.
"""

from __future__ import annotations

import numpy as np

from ..nn.recurrent import LAYERS, RNN, LSTM  # noqa: F401 (RNN, LSTM: the docstring examples)
from .linear_rnn import LinearRNN


def title(cell: str) -> str:
    """How figures and tables name a cell: ``"tanh RNN"``, ``"LSTM"``, ``"GRU"``, ``"linear RNN"``."""
    return make_layer(cell, 1, 1, seed=0).cell.title


def _cell_of(layer):
    """The cell of a single-layer, one-direction layer; TypeError/ValueError otherwise."""
    if not isinstance(layer, (LinearRNN, *LAYERS.values())):
        raise TypeError(
            f"layer must be a minirnn RNN, LSTM, GRU or vanishing.LinearRNN, got {type(layer).__name__}"
        )
    if layer.num_layers != 1 or layer.bidirectional:
        raise ValueError(
            f"layer must have num_layers=1 and bidirectional=False to have one h_t per step, got "
            f"num_layers={layer.num_layers}, bidirectional={layer.bidirectional}"
        )
    return layer.cell


def _forward(layer, x, states=None):
    """Run the readable forward of the layer's cell on its weights; returns (cell, cache dict).

    ``states``: None (zeros) or a tuple with one (B, H) array or None per state of the cell.
    """
    cell = _cell_of(layer)
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != layer.input_size:
        raise ValueError(
            f"x must have shape (T, B, input_size) = (T, B, {layer.input_size}) (time-major), got {x.shape}"
        )
    B, H = x.shape[1], layer.hidden_size
    states = (None,) * len(cell.states) if states is None else states
    init = tuple(
        np.zeros((B, H), dtype=x.dtype) if s is None else np.asarray(s, dtype=x.dtype).reshape(B, H)
        for s in states
    )
    p = layer.params
    zeros = np.zeros(p["weight_hh_l0"].shape[0], dtype=x.dtype)
    weights = tuple(p.get(f"{base}_l0", zeros) for base, _ in cell.parameters)
    _, _, cache = cell.forward(x, init, weights, backend="numpy", **layer.options)
    return cell, cache.inner


def _backward_trace(cell, cache, dh_last):
    """BPTT from a loss on the last hidden state only, recording the gradient at every step.

    ``dh_last`` may have more rows than the batch when the batch is 1: each row is then one cotangent (this
    is how :func:`jacobian_singular_values` gets a whole Jacobian in one pass).

    Returns dict state name -> (T, R, H), the total gradient at that state of each step (``h``; ``c`` for the
    LSTM, through h_t and through c_{t+1}), and ``x`` (T, R, I): dL/dx_t.
    """
    W_ih = cache["W_ih"]
    T = cache["hs"].shape[0] - 1
    R, H = dh_last.shape
    trace = {state: np.empty((T, R, H), dtype=dh_last.dtype) for state in cell.states}
    trace["x"] = np.empty((T, R, W_ih.shape[1]), dtype=dh_last.dtype)
    carry = (dh_last.copy(), *(np.zeros_like(dh_last) for _ in cell.states[1:]))
    for t in reversed(range(T)):
        da_x, _, carry, total = cell.backward_step(t, carry, cache)
        for state, value in zip(cell.states, total):
            trace[state][t] = value
        trace["x"][t] = da_x @ W_ih  # (R, I)
    return trace


def gradient_profile(layer, x, dh_last, h0=None, c0=None):
    """Exact gradient norms at every step for the loss ``L = sum(dh_last * h_{T-1})``, from the hand-written
    BPTT.

    Args:
        layer: a single-layer, one-direction ``minirnn.RNN``, ``LSTM``, ``GRU`` or :class:`LinearRNN`.
        x: (T, B, I) input, time-major (whatever the layer's ``batch_first``).
        dh_last: (B, H), the weights of the loss on the last hidden state (``np.ones`` = sum of the last
        state). h0, c0: optional (B, H) initial states (zeros by default).

    Returns:
        dict of arrays (T,), Frobenius norms over the batch: ``h`` ||dL/dh_t||, ``c`` ||dL/dc_t|| (LSTM only,
        else None; the total derivative, through h_t and through c_{t+1}), ``x`` ||dL/dx_t|| (the input
        sensitivity).

    Example:
        >>> rnn = RNN(8, 16, seed=0)
        >>> prof = gradient_profile(rnn, np.random.default_rng(0).normal(size=(30, 1, 8)), np.ones((1, 16)))
        >>> prof["h"].shape, bool(prof["h"][0] < prof["h"][-1])
        ((30,), True)
    """
    cell, cache = _forward(layer, x, (h0, c0)[: len(_cell_of(layer).states)])
    dh_last = np.asarray(dh_last, dtype=cache["hs"].dtype)
    B, H = cache["hs"].shape[1:]
    if dh_last.shape != (B, H):
        raise ValueError(f"dh_last must have shape (batch, hidden_size) = ({B}, {H}), got {dh_last.shape}")
    trace = _backward_trace(cell, cache, dh_last)
    norm = lambda a: None if a is None else np.sqrt((a * a).sum(axis=(1, 2)))  # noqa: E731
    return {"h": norm(trace["h"]), "c": norm(trace.get("c")), "x": norm(trace["x"])}


def gradient_norms(layer, x, dh_last, h0=None):
    """||dL/dh_t|| for t = 0..T-1 (array (T,)), L = sum(dh_last * h_{T-1}); see :func:`gradient_profile`.

    Example:
        >>> lstm = LSTM(8, 16, seed=0)
        >>> gradient_norms(lstm, np.zeros((10, 2, 8)), np.ones((2, 16))).shape
        (10,)
    """
    return gradient_profile(layer, x, dh_last, h0)["h"]


def jacobian_singular_values(layer, x, h0=None, c0=None, batch_index=0):
    """Singular values of the Jacobian product ``dh_{T-1}/dh_t`` for every t, for one sequence of the batch.

    For the LSTM this is the partial derivative with c_t held fixed (the h-to-h block of the state Jacobian).
    One backward pass with H cotangents (the rows of the identity) gives all T matrices.

    Returns:
        (T, H) array, row t = the singular values of dh_{T-1}/dh_t in decreasing order (row T-1 is all ones).

    Example:
        >>> s = jacobian_singular_values(RNN(4, 8, seed=0), np.zeros((6, 1, 4)))
        >>> s.shape, bool(np.allclose(s[-1], 1))
        ((6, 8), True)
    """
    x = np.asarray(x)[:, batch_index : batch_index + 1]
    H = layer.hidden_size
    pick = lambda s: None if s is None else np.asarray(s).reshape(-1, H)[batch_index : batch_index + 1]
    cell, cache = _forward(layer, x, (pick(h0), pick(c0))[: len(_cell_of(layer).states)])
    _broadcast_cache(cache, H)
    trace = _backward_trace(cell, cache, np.eye(H, dtype=x.dtype))  # row k: d h_{T-1}[k] / d h_t
    return np.linalg.svd(trace["h"], compute_uv=False)  # (T, H)


def _broadcast_cache(cache, rows):
    """Repeat the single sequence of a B=1 cache over ``rows`` rows (read-only views), so a batch of
    cotangents fits."""
    for key, a in cache.items():
        if key != "x" and isinstance(a, np.ndarray) and a.ndim == 3:  # (T or T+1, 1, F) per-step arrays
            cache[key] = np.broadcast_to(a, a.shape[:-2] + (rows, a.shape[-1]))


def decay_ratio(norms):
    """``norms[0] / norms[-1]``: how much of the gradient at the last step reaches the first one."""
    norms = np.asarray(norms)
    return norms[..., 0] / norms[..., -1]


def per_step_factor(norms):
    """The geometric mean of the per-step factors, ``(norms[0] / norms[-1]) ** (1 / (T - 1))``.

    It describes a profile only when the profile is a straight line on a log scale; an LSTM with a large
    forget bias loses most of its gradient in the first step back and then stays flat, which one mean
    misdescribes. Report :func:`first_step_drop` and :func:`mid_range_factor` instead.
    """
    norms = np.asarray(norms)
    return decay_ratio(norms) ** (1.0 / (norms.shape[-1] - 1))


def first_step_drop(norms):
    """``norms[-2] / norms[-1]``: what one step back from the loss keeps (T >= 2).

    Example:
        >>> float(first_step_drop([0.01, 0.1, 1.0]))
        0.1
    """
    norms = np.asarray(norms, dtype=float)
    return norms[..., -2] / norms[..., -1]


def mid_range_factor(norms, lo=0.1, hi=0.9):
    """The per-step factor of the least-squares line through log(norms) over the middle of the distances,
    ``lo (T-1) <= T-1-t <= hi (T-1)``: exp(slope of log ||dL/dh_t|| against the distance T-1-t).

        log norms[T-1-d] ~ a + d log f   for d in [lo (T-1), hi (T-1)]     ->  returns f

    Example:
        >>> d = np.arange(50)[::-1]                                   # distance of each t
        >>> round(float(mid_range_factor(0.8 ** d)), 6)
        0.8
    """
    norms = np.asarray(norms, dtype=float)
    T = norms.shape[-1]
    d = (T - 1) - np.arange(T)
    keep = (d >= lo * (T - 1)) & (d <= hi * (T - 1))
    logs = np.log(norms[..., keep])
    dk = d[keep] - d[keep].mean()
    slope = ((logs - logs.mean(axis=-1, keepdims=True)) * dk).sum(axis=-1) / (dk * dk).sum()
    return np.exp(slope)


def make_layer(cell, input_size, hidden_size, seed, dtype=np.float64):
    """A single-layer layer of kind ``cell`` ('rnn' tanh, 'lstm', 'gru', 'linear') with PyTorch's default
    init."""
    layers = {**LAYERS, LinearRNN.cell.name: LinearRNN}
    if cell not in layers:
        raise ValueError(f"cell must be one of {tuple(layers)}, got {cell!r}")
    return layers[cell](input_size, hidden_size, dtype=dtype, seed=seed)


def orthogonal(n, seed, gain=1.0):
    """``gain * Q`` with Q a Haar-random orthogonal (n, n) matrix (QR of a Gaussian, signs fixed)."""
    a = np.random.default_rng(seed).normal(size=(n, n))
    q, r = np.linalg.qr(a)
    return gain * q * np.sign(np.diag(r))


def set_gate_bias(layer, gate, value):
    """Make the total bias of one gate block equal ``value``: ``bias_ih`` block = value, ``bias_hh`` block =
    0.

    ``gate`` is one of 'i', 'f', 'g', 'o' (LSTM) or 'r', 'z', 'n' (GRU). With the total bias b and small
    ``x W^T + h W^T``, the gate sits near sigmoid(b): b = 3 gives a forget gate of 0.95.
    """
    blocks = _cell_of(layer).gates
    if gate not in blocks:
        raise ValueError(f"gate must be one of {blocks} for a {type(layer).__name__}, got {gate!r}")
    k, H = blocks.index(gate), layer.hidden_size
    layer.params["bias_ih_l0"][k * H : (k + 1) * H] = value
    layer.params["bias_hh_l0"][k * H : (k + 1) * H] = 0.0
    return layer
