"""Initialisations that keep gradients alive, in the style of ``torch.nn.init``: each function fills in place
and returns what it filled.

Arrays (any float array with at least 2 dimensions, flattened to (rows, cols) = (shape[0], prod(shape[1:]))):

- :func:`orthogonal_`: a (semi-)orthogonal matrix times ``gain``: W^T W = gain^2 I when rows >= cols, W W^T =
  gain^2 I otherwise (Saxe et al. 2014; Keras' default ``recurrent_initializer``).
- :func:`identity_`: ``gain`` times the identity (the IRNN's W_hh = I with ReLU, Le, Jaitly & Hinton 2015).

Layers (a ``minirnn.RNN``/``LSTM``/``GRU``; every layer and direction):

- :func:`forget_bias_`: the LSTM forget gate's total bias b_ih + b_hh = ``value`` (Gers et al. 2000;
  Jozefowicz et al. 2015; Keras' ``unit_forget_bias=True`` is value 1).
- :func:`chrono_`: Tallec & Ollivier's (2018) chrono initialisation, b_f = log(u), u ~ U(1, T_max - 1), and
  the input gate's b_i = -b_f (LSTM); for the GRU the update gate z (h_t = (1 - z) n + z h_{t-1}) takes b_z =
  log(u). A gate held near sigmoid(log u) = u / (1 + u) forgets with a characteristic time of about u steps.

The total bias of a gate block is written into ``bias_ih`` and ``bias_hh`` is set to 0 there, so that the
gate's pre-activation bias is exactly the value asked for.

Example:
    >>> import numpy as np, minirnn
    >>> W = np.empty((8, 8))
    >>> bool(np.allclose(minirnn.init.orthogonal_(W, gain=2.0, rng=0).T @ W, 4 * np.eye(8)))
    True
    >>> lstm = minirnn.init.forget_bias_(minirnn.LSTM(3, 4, seed=0), 1.0)
    >>> (lstm.params["bias_ih_l0"] + lstm.params["bias_hh_l0"])[4:8].tolist()
    [1.0, 1.0, 1.0, 1.0]
"""

from __future__ import annotations

import numbers

import numpy as np

__all__ = ["orthogonal_", "identity_", "forget_bias_", "chrono_"]


def _generator(rng):
    if isinstance(rng, np.random.Generator):
        return rng
    if rng is None or (isinstance(rng, numbers.Integral) and not isinstance(rng, bool)):
        return np.random.default_rng(rng)
    raise TypeError(f"rng must be None, an int seed or a numpy.random.Generator, got {type(rng).__name__}")


def _matrix(W, name="W"):
    """W as a writable float ndarray with >= 2 dimensions, else TypeError/ValueError naming ``name``."""
    if not isinstance(W, np.ndarray):
        raise TypeError(f"{name} must be a numpy.ndarray (filled in place), got {type(W).__name__}")
    if W.ndim < 2:
        raise ValueError(f"{name} must have at least 2 dimensions, got shape {W.shape}")
    if not np.issubdtype(W.dtype, np.floating):
        raise TypeError(f"{name} must have a floating dtype, got {W.dtype}")
    if not W.flags.writeable:
        raise ValueError(f"{name} must be writeable (it is filled in place)")
    return W


def _gain(gain):
    if isinstance(gain, bool) or not isinstance(gain, numbers.Real) or not np.isfinite(gain):
        raise TypeError(f"gain must be a finite real number, got {gain!r}")
    return float(gain)


def orthogonal_(W, gain=1.0, rng=None):
    """Fill W (rows, cols, ...) with a random (semi-)orthogonal matrix times ``gain``, in place; returns W.

        A ~ N(0, 1) of shape (max, min);   A = Q R (QR);   Q <- Q diag(sign(diag R))    (Haar-distributed)
        W = gain * Q  (rows >= cols)   or   gain * Q^T  (rows < cols)

    so W^T W = gain^2 I (cols x cols) when rows >= cols, W W^T = gain^2 I (rows x rows) otherwise, as
    ``torch.nn.init.orthogonal_``. ``rng``: None, an int seed or a ``numpy.random.Generator``.

    Example:
        >>> W = orthogonal_(np.empty((12, 3)), rng=0)            # an LSTM's weight_hh for H = 3: (4H, H)
        >>> bool(np.allclose(W.T @ W, np.eye(3)))
        True
    """
    W, gain = _matrix(W), _gain(gain)
    rows = W.shape[0]
    cols = W.size // rows
    A = _generator(rng).normal(size=(max(rows, cols), min(rows, cols)))
    Q, R = np.linalg.qr(A)  # Q (max, min), orthonormal columns
    Q = Q * np.sign(np.diag(R))  # signs fixed: Haar measure
    W[...] = (gain * (Q if rows >= cols else Q.T)).reshape(W.shape)
    return W


def identity_(W, gain=1.0):
    """Fill W (rows, cols) with ``gain`` times the identity (ones on the main diagonal, zeros elsewhere);
    returns W.

    Example:
        >>> identity_(np.empty((2, 3)), gain=0.5).tolist()
        [[0.5, 0.0, 0.0], [0.0, 0.5, 0.0]]
    """
    W, gain = _matrix(W), _gain(gain)
    if W.ndim != 2:
        raise ValueError(f"W must have 2 dimensions for identity_, got shape {W.shape}")
    W[...] = 0.0
    np.fill_diagonal(W, gain)
    return W


def _bias_blocks(layer, gate):
    """For every layer and direction: (bias_ih, bias_hh, slice of ``gate``'s block). TypeError/ValueError
    else."""
    from .recurrent import LAYERS

    if not isinstance(layer, tuple(LAYERS.values())):
        raise TypeError(f"layer must be a minirnn RNN, LSTM or GRU, got {type(layer).__name__}")
    gates = layer.cell.gates
    if gate not in gates:
        raise ValueError(f"layer must have a '{gate}' gate, got a {type(layer).__name__} with gates {gates}")
    if not layer.bias:
        raise ValueError("layer must have biases (bias=True) to set a gate bias, got bias=False")
    H, k = layer.hidden_size, gates.index(gate)
    block = slice(k * H, (k + 1) * H)
    return [
        (layer.params[name], layer.params[name.replace("bias_ih", "bias_hh")], block)
        for name in layer.params
        if name.startswith("bias_ih")
    ]


def forget_bias_(lstm, value):
    """Set the total forget-gate bias of every layer and direction of an LSTM to ``value``, in place; returns
    it.

        b_ih[f block] = value,   b_hh[f block] = 0          so the forget gate starts near sigmoid(value)

    Keras' default (``unit_forget_bias=True``) is value 1: sigmoid(1) = 0.73 instead of PyTorch's 0.5.

    Example:
        >>> import minirnn
        >>> lstm = forget_bias_(minirnn.LSTM(2, 3, num_layers=2, seed=0), 2.0)
        >>> float(lstm.params["bias_ih_l1"][3:6].sum() + lstm.params["bias_hh_l1"][3:6].sum())
        6.0
    """
    value = _gain(value)
    for b_ih, b_hh, block in _bias_blocks(lstm, "f"):
        b_ih[block], b_hh[block] = value, 0.0
    return lstm


def chrono_(layer, T_max, rng=None):
    """Chrono initialisation (Tallec & Ollivier 2018) of an LSTM or GRU, every layer and direction; returns
    it.

        LSTM:  b_f = log(u),  b_i = -log(u),   u ~ U(1, T_max - 1) per unit      (total biases; b_hh blocks =
        0) GRU:   b_z = log(u)                    (z is the GRU's keep gate: h_t = (1 - z) * n + z * h_{t-1})

    ``T_max``: the longest dependency expected, > 2. A unit with b_f = log u has a forget gate near u / (1 +
    u) and keeps its memory for about u steps. The tanh RNN has no gate to set: ValueError.

    Example:
        >>> import minirnn
        >>> lstm = chrono_(minirnn.LSTM(2, 5, seed=0), T_max=100, rng=0)
        >>> b = lstm.params["bias_ih_l0"]
        >>> bool(np.all(b[5:10] >= 0) and np.all(b[5:10] <= np.log(99)) and np.allclose(b[0:5], -b[5:10]))
        True
    """
    if isinstance(T_max, bool) or not isinstance(T_max, numbers.Real) or not T_max > 2:
        raise ValueError(f"T_max must be a number > 2 (the longest dependency in steps), got {T_max!r}")
    gates = getattr(getattr(layer, "cell", None), "gates", ())
    keep, opposite = ("f", "i") if "f" in gates else ("z", None)
    rng = _generator(rng)
    for b_ih, b_hh, block in _bias_blocks(layer, keep):
        log_u = np.log(rng.uniform(1.0, T_max - 1.0, size=b_ih[block].shape))
        b_ih[block], b_hh[block] = log_u, 0.0
        if opposite is not None:
            k = layer.cell.gates.index(opposite) * layer.hidden_size
            b_ih[k : k + layer.hidden_size], b_hh[k : k + layer.hidden_size] = -log_u, 0.0
    return layer
