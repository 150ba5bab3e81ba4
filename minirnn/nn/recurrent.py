"""RNN, LSTM and GRU layers with PyTorch's constructor, weight names, shapes and semantics.

A layer stacks ``num_layers`` cells, optionally in both directions, over a batch of sequences. The math of one cell
over one sequence lives in ``minirnn/cells`` (readable NumPy) and ``minirnn/kernels`` (the same loops under Numba);
this file only wires cells together: layer after layer, forward and reverse, padding, dropout, and the gradients back.

    out, h_n        = rnn(x, h0=None, lengths=None)          # RNN and GRU
    out, (h_n, c_n) = lstm(x, (h0, c0) or None, lengths=None)
    dx, dh0         = rnn.backward(dout, dh_n=None)          # None means zeros
    dx, (dh0, dc0)  = lstm.backward(dout, (dh_n, dc_n) or None)

One backward per forward, as in torch without ``retain_graph``: the compiled backward writes the gate gradients over
the saved gate values (so the peak memory stays near what the forward stores), and a second call raises.

Shapes: ``x`` (T, B, I), or (B, T, I) with ``batch_first=True``, or (T, I) unbatched; ``out`` (T, B, D*H) with D = 2 when
bidirectional (forward features first, then reverse); ``h0``/``h_n`` (num_layers*D, B, H), row ``layer*D + direction``.
``lengths`` (B integers in 1..T) follows ``pack_padded_sequence``: sequence b ends at step lengths[b]-1, its outputs
after that are zero, the reverse direction starts at its last real step, and padded inputs get zero gradient.
"""
from __future__ import annotations

import numbers

import numpy as np

from .. import cells
from .module import Module
from .validation import require_finite
from ..kernels.threads import recurrent_work, uses_blas

BACKENDS = ("auto", "numpy", "numba")
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}


def _select_backend(backend, cell):
    """The module (``cells.<cell>`` or ``kernels.<cell>``) that runs the time loop.

    ``"auto"`` is the Numba loop at every size. Small problems: it has no per-step Python overhead (6-12x faster than
    the NumPy loop at B=4, H=16). Medium and large ones: since its ``tanh`` vectorises (``kernels/_math.py``) its fused
    gate math beats NumPy's one-pass-per-operation ufuncs, and the GEMMs are the same BLAS calls (benchmarks/speed.py:
    0.6-0.85x the NumPy loop's time at B=32, H=128 and B=64, H=512).
    """
    if backend == "auto":
        backend = "numba"
    if backend == "numpy":
        return getattr(cells, cell)
    from .. import kernels  # compiled lazily, on first use
    return getattr(kernels, cell)


class _Recurrent(Module):
    """What RNN, LSTM and GRU share: parameters, validation, stacking, directions, padding, dropout."""

    _cell = "rnn"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, *, dtype=np.float64, seed=None, backend="auto", nonlinearity="tanh"):
        super().__init__()
        name = type(self).__name__
        for arg, value in (("input_size", input_size), ("hidden_size", hidden_size), ("num_layers", num_layers)):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1), got {dropout!r}")
        for arg, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name}: {arg} must be True or False, got {value!r}")
        if backend not in BACKENDS:
            raise ValueError(f"{name}: backend must be one of {BACKENDS}, got {backend!r}")
        if nonlinearity not in cells.rnn.NONLINEARITIES:
            raise ValueError(f"{name}: nonlinearity must be one of {cells.rnn.NONLINEARITIES}, got {nonlinearity!r}")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{name}: dtype must be np.float32 or np.float64, got {dtype!r}") from None
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"{name}: dtype must be np.float32 or np.float64, got {dtype}")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0):
            raise TypeError(f"{name}: seed must be None or an integer >= 0, got {seed!r}")

        self.input_size, self.hidden_size, self.num_layers = int(input_size), int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout, self.nonlinearity, self.dtype, self.backend = float(dropout), nonlinearity, dtype, backend
        self.num_directions = 2 if bidirectional else 1
        init_seed, dropout_seed = np.random.SeedSequence(seed).spawn(2)
        self._dropout_rng = np.random.default_rng(dropout_seed)
        self.reset_parameters(np.random.default_rng(init_seed))
        self._cache = None

    # -- parameters ------------------------------------------------------------------------------------------------
    def _names(self, layer, direction):
        """PyTorch's parameter names for one layer and direction: weight_ih_l1_reverse, ..."""
        suffix = f"l{layer}" + ("_reverse" if direction == 1 else "")
        names = [f"weight_ih_{suffix}", f"weight_hh_{suffix}"]
        return names + ([f"bias_ih_{suffix}", f"bias_hh_{suffix}"] if self.bias else [])

    def reset_parameters(self, rng=None):
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does (in PyTorch's parameter order)."""
        rng = np.random.default_rng(rng)
        H, G, D = self.hidden_size, _GATES[self._cell], self.num_directions
        bound = 1 / np.sqrt(H)
        self._own_params.clear()
        for layer in range(self.num_layers):
            layer_input = self.input_size if layer == 0 else H * D
            for direction in range(D):
                shapes = [(G * H, layer_input), (G * H, H), (G * H,), (G * H,)]
                for name, shape in zip(self._names(layer, direction), shapes):
                    self._own_params[name] = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
        self._own_grads.clear()
        self._own_grads.update({name: np.zeros_like(p) for name, p in self._own_params.items()})

    def _weights(self, layer, direction):
        """(W_ih, W_hh, b_ih, b_hh) for one layer and direction; zero biases when ``bias=False``."""
        names = self._names(layer, direction)
        W_ih, W_hh = self._own_params[names[0]], self._own_params[names[1]]
        if self.bias:
            return W_ih, W_hh, self._own_params[names[2]], self._own_params[names[3]]
        zeros = np.zeros(W_hh.shape[0], dtype=self.dtype)
        return W_ih, W_hh, zeros, zeros

    # -- validation ------------------------------------------------------------------------------------------------
    def _check_array(self, arg, value, shape, what):
        """``value`` must be a finite ndarray of the layer's dtype and the given shape; returns it."""
        name = type(self).__name__
        if not isinstance(value, np.ndarray):
            raise TypeError(f"{name}: {arg} must be a numpy.ndarray of {self.dtype}, got {type(value).__name__}")
        if value.dtype != self.dtype:
            raise TypeError(f"{name}: {arg} must have dtype {self.dtype} (the layer's dtype), got {value.dtype}; "
                            f"convert with {arg}.astype(np.{self.dtype})")
        if value.shape != shape:
            raise ValueError(f"{name}: {arg} must have shape {what} = {shape}, got {value.shape}")
        require_finite(value, f"{name}: {arg}")
        return value

    def _check_input(self, x):
        """Validate x; returns it time-major (T, B, I) and whether it was unbatched."""
        name = type(self).__name__
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name}: x must be a numpy.ndarray of {self.dtype}, got {type(x).__name__}")
        if x.ndim not in (2, 3):
            layout = "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
            raise ValueError(f"{name}: x must have 3 dimensions {layout} or 2 (seq_len, input_size), "
                             f"got shape {x.shape}")
        if x.shape[-1] != self.input_size:
            raise ValueError(f"{name}: x must have input_size = {self.input_size} features in its last dimension, "
                             f"got shape {x.shape}")
        if 0 in x.shape:
            raise ValueError(f"{name}: x must not be empty, got shape {x.shape}")
        self._check_array("x", x, x.shape, "x.shape")
        unbatched = x.ndim == 2
        if unbatched:
            x = x[:, None, :]
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        return x, unbatched

    def _check_lengths(self, lengths, T, B):
        """lengths (B,) integers in 1..T -> a (T, B) boolean mask, or None."""
        name = type(self).__name__
        if lengths is None:
            return None
        if hasattr(lengths, "detach"):  # a torch tensor
            lengths = lengths.detach().cpu().numpy()
        lengths = np.asarray(lengths)
        if lengths.dtype == bool or not np.issubdtype(lengths.dtype, np.integer):
            raise TypeError(f"{name}: lengths must be integers, got dtype {lengths.dtype}")
        if lengths.shape != (B,):
            raise ValueError(f"{name}: lengths must have one entry per sequence, shape ({B},), got {lengths.shape}")
        if lengths.min() < 1 or lengths.max() > T:
            raise ValueError(f"{name}: lengths must lie in 1..{T} (the sequence length), "
                             f"got min {lengths.min()} and max {lengths.max()}")
        return np.arange(T)[:, None] < lengths[None, :]

    def _state_shape(self, B, unbatched):
        LD, H = self.num_layers * self.num_directions, self.hidden_size
        return ((LD, H), "(num_layers * num_directions, hidden_size)") if unbatched else \
            ((LD, B, H), "(num_layers * num_directions, batch, hidden_size)")

    def _check_state(self, arg, value, B, unbatched):
        """A state (h0, c0 or a gradient of one) -> (L*D, B, H) array; None -> zeros."""
        shape, what = self._state_shape(B, unbatched)
        if value is None:
            return np.zeros((shape[0], B, self.hidden_size), dtype=self.dtype)
        self._check_array(arg, value, shape, what)
        return value[:, None, :] if unbatched else value

    # -- forward ---------------------------------------------------------------------------------------------------
    @uses_blas(recurrent_work)                                       # BLAS threads by call size (kernels/threads.py)
    def _forward(self, x, states, lengths):
        """Shared forward. ``states`` is a tuple of (L*D, B, H) arrays: (h0,) or (h0, c0)."""
        T, B, _ = x.shape
        mask = self._check_lengths(lengths, T, B)
        impl = _select_backend(self.backend, self._cell)
        reverse_index = None
        if self.bidirectional:                                       # t -> L_b - 1 - t inside each sequence
            t = np.arange(T)[:, None]
            L = np.full(B, T) if mask is None else mask.sum(0)
            reverse_index = np.where(t < L, L - 1 - t, t)            # (T, B); its own inverse
        finals = [[] for _ in states]                                # per state kind, rows layer*D + direction
        caches, dropout_masks = [], []
        layer_input = np.ascontiguousarray(x)
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:     # inverted dropout between layers
                keep = self._dropout_rng.random(layer_input.shape) >= self.dropout
                drop = (keep / (1 - self.dropout)).astype(self.dtype)
                layer_input = layer_input * drop
                dropout_masks.append(drop)
            else:
                dropout_masks.append(None)
            outputs = []
            for direction in range(self.num_directions):
                row = layer * self.num_directions + direction
                seq = layer_input if direction == 0 else _reorder(layer_input, reverse_index)
                init = [np.ascontiguousarray(s[row]) for s in states]
                out, final, cache = self._run_cell(impl, seq, init, self._weights(layer, direction), mask)
                outputs.append(out if direction == 0 else _reorder(out, reverse_index))
                for kind, value in zip(finals, final):
                    kind.append(value)
                caches.append(cache)
            layer_input = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=2)  # (T, B, D*H)
        self._cache = {"caches": caches, "impl": impl, "reverse_index": reverse_index, "dropout": dropout_masks,
                       "shape": (T, B), "num_states": len(states)}
        return layer_input, tuple(np.stack(kind) for kind in finals)

    def _run_cell(self, impl, x, init, weights, mask):
        """One cell over one sequence: returns (out, final states tuple, cache)."""
        if self._cell == "lstm":
            out, h, c, cache = impl.forward(x, init[0], init[1], *weights, mask=mask)
            return out, (h, c), cache
        if self._cell == "gru":
            out, h, cache = impl.forward(x, init[0], *weights, mask=mask)
        else:
            out, h, cache = impl.forward(x, init[0], *weights, mask=mask, nonlinearity=self.nonlinearity)
        return out, (h,), cache

    @uses_blas(recurrent_work)
    def _backward(self, dout, dstates):
        """Shared backward. dout (T, B, D*H) time-major; dstates tuple of (L*D, B, H). Fills grads, returns dx, dstates0."""
        c = self._cache
        impl, reverse_index, H, D = c["impl"], c["reverse_index"], self.hidden_size, self.num_directions
        dinitial = [np.zeros_like(s) for s in dstates]
        d_layer_out = dout
        for layer in reversed(range(self.num_layers)):
            d_layer_in = None
            for direction in range(D):
                row = layer * D + direction
                d_out = np.ascontiguousarray(d_layer_out[:, :, direction * H:(direction + 1) * H])
                if direction == 1:
                    d_out = _reorder(d_out, reverse_index)
                finals = [np.ascontiguousarray(s[row]) for s in dstates]
                if self._cell == "lstm":
                    g = impl.backward(d_out, finals[0], finals[1], c["caches"][row])
                    dinitial[1][row] = g["c0"]
                else:
                    g = impl.backward(d_out, finals[0], c["caches"][row])
                dinitial[0][row] = g["h0"]
                dx = g["x"] if direction == 0 else _reorder(g["x"], reverse_index)
                d_layer_in = dx if d_layer_in is None else d_layer_in + dx
                for name, key in zip(self._names(layer, direction), ("W_ih", "W_hh", "b_ih", "b_hh")):
                    self._own_grads[name][...] = g[key]
            if c["dropout"][layer] is not None:
                d_layer_in = d_layer_in * c["dropout"][layer]
            d_layer_out = d_layer_in
        c["spent"] = True                                            # one backward per forward, on every backend
        return d_layer_out, dinitial

    def _wrap_output(self, out, unbatched):
        if unbatched:
            return out[:, 0, :]
        return out.transpose(1, 0, 2) if self.batch_first else out

    def _unwrap_dout(self, dout, unbatched):
        """Validate dout against the last forward's output and return it time-major (T, B, D*H)."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before a forward pass")
        if self._cache.get("spent"):
            raise RuntimeError(f"{type(self).__name__}.backward was already called for the last forward pass; run the "
                               "forward pass again (as torch needs without retain_graph=True): the backward pass writes "
                               "the gradients over the saved gate values, which saves memory")
        T, B = self._cache["shape"]
        DH = self.num_directions * self.hidden_size
        if unbatched:
            shape, what = (T, DH), "(seq_len, num_directions * hidden_size)"
        elif self.batch_first:
            shape, what = (B, T, DH), "(batch, seq_len, num_directions * hidden_size)"
        else:
            shape, what = (T, B, DH), "(seq_len, batch, num_directions * hidden_size)"
        self._check_array("dout", dout, shape, what)
        if unbatched:
            return dout[:, None, :]
        return np.ascontiguousarray(dout.transpose(1, 0, 2) if self.batch_first else dout)

    def __repr__(self):
        parts = [str(self.input_size), str(self.hidden_size)]
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0, "bidirectional": False}
        for key, default in defaults.items():
            if getattr(self, key) != default:
                parts.append(f"{key}={getattr(self, key)}")
        if self._cell == "rnn" and self.nonlinearity != "tanh":
            parts.append(f"nonlinearity={self.nonlinearity!r}")
        if self.dtype != np.float64:
            parts.append(f"dtype=np.{self.dtype}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _reorder(a, index):
    """a (T, B, F) reordered in time per sequence: out[t, b] = a[index[t, b], b]."""
    return np.ascontiguousarray(np.take_along_axis(a, index[:, :, None], axis=0))


class RNN(_Recurrent):
    """Elman RNN, as ``torch.nn.RNN``:  h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),  phi = tanh or relu.

    Args:
        input_size (I), hidden_size (H), num_layers, nonlinearity ("tanh" | "relu"), bias, batch_first, dropout
        (between layers, training only), bidirectional: as PyTorch.
        dtype: np.float64 (default) or np.float32.  seed: for the initial weights and dropout masks.
        backend: "auto" (default), "numpy" (the readable loop) or "numba" (the compiled loop).

    Parameters (``layer.params``): ``weight_ih_l{k}`` (H, I or D*H), ``weight_hh_l{k}`` (H, H), ``bias_ih_l{k}``,
    ``bias_hh_l{k}`` (H,), with suffix ``_reverse`` for the reverse direction.

    Example:
        >>> rnn = RNN(10, 20, num_layers=2, seed=0)
        >>> out, h_n = rnn(np.zeros((5, 3, 10)))
        >>> out.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
        >>> dx, dh0 = rnn.backward(np.ones_like(out))
        >>> dx.shape, rnn.grads["weight_hh_l1"].shape
        ((5, 3, 10), (20, 20))
    """

    _cell = "rnn"

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, *, dtype=np.float64, seed=None, backend="auto"):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, seed=seed, backend=backend, nonlinearity=nonlinearity)

    def __call__(self, x, h0=None, lengths=None):
        """x (T, B, I) | (B, T, I) if batch_first | (T, I); h0 (L*D, B, H) or None -> out (T, B, D*H), h_n (L*D, B, H)."""
        x, unbatched = self._check_input(x)
        h0 = self._check_state("h0", h0, x.shape[1], unbatched)
        out, (h_n,) = self._forward(x, (h0,), lengths)
        self._cache["unbatched"] = unbatched
        return self._wrap_output(out, unbatched), (h_n[:, 0] if unbatched else h_n)

    forward = __call__

    def backward(self, dout, dh_n=None):
        """dout like ``out``, dh_n like ``h_n`` (None: zeros) -> dx like ``x``, dh0 like ``h0``; fills ``self.grads``."""
        unbatched = self._cache is not None and self._cache["unbatched"]
        d = self._unwrap_dout(dout, unbatched)
        dh_n = self._check_state("dh_n", dh_n, self._cache["shape"][1], unbatched)
        dx, (dh0,) = self._backward(d, (dh_n,))
        return self._wrap_output(dx, unbatched), (dh0[:, 0] if unbatched else dh0)


class GRU(RNN):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gates r, z, n; the reset gate multiplies h W_hn^T + b_hn)::

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)      z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))   h' = (1 - z) * n + z * h

    Same arguments as :class:`RNN` without ``nonlinearity``; weights are (3H, ...) in the order r, z, n.

    Example:
        >>> gru = GRU(10, 20, batch_first=True, seed=0)
        >>> out, h_n = gru(np.zeros((3, 5, 10)))
        >>> out.shape, h_n.shape
        ((3, 5, 20), (1, 3, 20))
    """

    _cell = "gru"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, *, dtype=np.float64, seed=None, backend="auto"):
        _Recurrent.__init__(self, input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                            dtype=dtype, seed=seed, backend=backend)


class LSTM(_Recurrent):
    """Long short-term memory, as ``torch.nn.LSTM`` (gates i, f, g, o)::

        i, f, o = sigmoid(...),  g = tanh(...)   each of  x W_i*^T + b_i* + h W_h*^T + b_h*
        c' = f * c + i * g       h' = o * tanh(c')

    Same arguments as :class:`RNN` without ``nonlinearity``; weights are (4H, ...) in the order i, f, g, o.

    Example:
        >>> lstm = LSTM(10, 20, seed=0)
        >>> out, (h_n, c_n) = lstm(np.zeros((5, 3, 10)))
        >>> dx, (dh0, dc0) = lstm.backward(np.ones_like(out))
        >>> dx.shape, dc0.shape
        ((5, 3, 10), (1, 3, 20))
    """

    _cell = "lstm"

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False, dropout=0.0,
                 bidirectional=False, *, dtype=np.float64, seed=None, backend="auto"):
        super().__init__(input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional,
                         dtype=dtype, seed=seed, backend=backend)

    def __call__(self, x, hx=None, lengths=None):
        """x as in :class:`RNN`; hx = (h0, c0) each (L*D, B, H), or None -> out, (h_n, c_n)."""
        x, unbatched = self._check_input(x)
        B = x.shape[1]
        h0, c0 = self._split_pair("hx", hx)
        states = (self._check_state("h0", h0, B, unbatched), self._check_state("c0", c0, B, unbatched))
        out, (h_n, c_n) = self._forward(x, states, lengths)
        self._cache["unbatched"] = unbatched
        if unbatched:
            h_n, c_n = h_n[:, 0], c_n[:, 0]
        return self._wrap_output(out, unbatched), (h_n, c_n)

    forward = __call__

    def backward(self, dout, dhx=None):
        """dout like ``out``; dhx = (dh_n, dc_n) or None (zeros) -> dx, (dh0, dc0); fills ``self.grads``."""
        unbatched = self._cache is not None and self._cache["unbatched"]
        d = self._unwrap_dout(dout, unbatched)
        B = self._cache["shape"][1]
        dh_n, dc_n = self._split_pair("dhx", dhx)
        dstates = (self._check_state("dh_n", dh_n, B, unbatched), self._check_state("dc_n", dc_n, B, unbatched))
        dx, (dh0, dc0) = self._backward(d, dstates)
        if unbatched:
            dh0, dc0 = dh0[:, 0], dc0[:, 0]
        return self._wrap_output(dx, unbatched), (dh0, dc0)

    def _split_pair(self, arg, pair):
        if pair is None:
            return None, None
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise TypeError(f"{type(self).__name__}: {arg} must be a pair (h, c) of arrays or None, "
                            f"got {type(pair).__name__}")
        return pair
