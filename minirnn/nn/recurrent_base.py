"""What RNN, LSTM and GRU share: parameters, validation, stacking, directions, padding, dropout, merges, and
the choice of backend (``use_backend``). The public layers are in ``recurrent.py``; the math is in
``minirnn/cells``."""

from __future__ import annotations

import contextlib
import inspect
import numbers

import numpy as np

from ..cells import registry
from .merge import MERGE_MODES, merge, merge_backward, merged_size
from .module import Module
from .recurrent_checks import RecurrentChecks
from ..kernels.threads import recurrent_work, uses_blas


BACKENDS = ("auto", "numpy", "numba")
_AUTO = ["numba"]  # what backend="auto" runs; use_backend() changes it for a block of code


@contextlib.contextmanager
def use_backend(backend):
    """Run every layer built with ``backend="auto"`` (the default) on ``backend`` inside a ``with`` block.

    ``use_backend("numpy")`` runs the readable loops of ``minirnn/cells/`` - the code a student reads - so a
    breakpoint or a print placed there is reached from any layer or model; ``"numba"`` is the compiled loop of
    ``minirnn/kernels/``, which ``"auto"`` means otherwise (faster at every size: docs/performance.md).

    Example:
        >>> import minirnn
        >>> with minirnn.use_backend("numpy"):
        ...     out, (h_n, c_n) = minirnn.LSTM(3, 4, seed=0)(np.zeros((5, 2, 3)))
        >>> out.shape
        (5, 2, 4)
    """
    if backend not in ("numpy", "numba"):
        raise ValueError(f"use_backend: backend must be 'numpy' or 'numba', got {backend!r}")
    previous, _AUTO[0] = _AUTO[0], backend
    try:
        yield
    finally:
        _AUTO[0] = previous


class _Recurrent(RecurrentChecks, Module):
    """What RNN, LSTM and GRU share: parameters, validation, stacking, directions, padding, dropout.

    Everything that differs between them is in ``cell`` (a :class:`minirnn.cells.registry.Cell`): the gate
    count, the states, the parameters and the functions that run one layer and direction over a sequence.
    """

    cell = registry.RNN

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        dtype=np.float64,
        seed=None,
        backend="auto",
        proj_size=0,
        switches=None,
        recurrent_dropout=0.0,
        merge_mode="concat",
        **options,
    ):
        """It is long because every constructor argument is validated, with its own sentence, before any
        parameter is drawn."""
        super().__init__()
        name = type(self).__name__
        self.cell = self._choose_cell(name, hidden_size, proj_size, switches)
        for arg, value in (
            ("input_size", input_size),
            ("hidden_size", hidden_size),
            ("num_layers", num_layers),
        ):
            if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 1:
                raise ValueError(f"{name}: {arg} must be a positive integer, got {value!r}")
        if isinstance(dropout, bool) or not isinstance(dropout, numbers.Real) or not 0 <= dropout < 1:
            raise ValueError(f"{name}: dropout must be a number in [0, 1), got {dropout!r}")
        if (
            isinstance(recurrent_dropout, bool)
            or not isinstance(recurrent_dropout, numbers.Real)
            or not 0 <= recurrent_dropout < 1
        ):
            raise ValueError(
                f"{name}: recurrent_dropout must be a number in [0, 1), got {recurrent_dropout!r}"
            )
        if recurrent_dropout > 0 and not self.cell.recurrent_mask:
            raise ValueError(
                f"{name}: recurrent_dropout is not available for the {self.cell.title} cell, "
                f"got recurrent_dropout={recurrent_dropout!r}"
            )
        if not isinstance(merge_mode, str) or merge_mode not in MERGE_MODES:
            raise ValueError(f"{name}: merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
        for arg, value in (("bias", bias), ("batch_first", batch_first), ("bidirectional", bidirectional)):
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name}: {arg} must be True or False, got {value!r}")
        if backend not in BACKENDS:
            raise ValueError(f"{name}: backend must be one of {BACKENDS}, got {backend!r}")
        for key, value in options.items():
            allowed = self.cell.options[key]
            if value not in allowed:
                raise ValueError(f"{name}: {key} must be one of {allowed}, got {value!r}")
        try:
            dtype = np.dtype(dtype)
        except TypeError:
            raise TypeError(f"{name}: dtype must be np.float32 or np.float64, got {dtype!r}") from None
        if dtype not in (np.float32, np.float64):
            raise TypeError(f"{name}: dtype must be np.float32 or np.float64, got {dtype}")
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, numbers.Integral) or seed < 0
        ):
            raise TypeError(f"{name}: seed must be None or an integer >= 0, got {seed!r}")

        self.input_size, self.hidden_size, self.num_layers = (
            int(input_size),
            int(hidden_size),
            int(num_layers),
        )
        self.bias, self.batch_first, self.bidirectional = bool(bias), bool(batch_first), bool(bidirectional)
        self.dropout, self.dtype, self.backend = float(dropout), dtype, backend
        self.proj_size = int(proj_size)
        self.state_sizes = self.cell.state_sizes(self.hidden_size, self.proj_size)  # {"h": H or P, "c": H}
        self.direction_size = self.state_sizes["h"]  # the features of out per direction
        self.recurrent_dropout, self.merge_mode = float(recurrent_dropout), merge_mode
        self.options = {
            **self.cell.default_options(),
            **options,
        }  # the cell's own settings (RNN: nonlinearity)
        self.num_directions = 2 if bidirectional else 1
        init_seed, dropout_seed = np.random.SeedSequence(seed).spawn(2)
        self._dropout_rng = np.random.default_rng(dropout_seed)
        self.reset_parameters(np.random.default_rng(init_seed))
        self._cache = None

    def _choose_cell(self, name, hidden_size, proj_size, switches):
        """The registry cell that the constructor arguments select (``proj_size``, ``peepholes``,
        ``reset_after``)."""
        if switches is None and not proj_size:
            return self.cell
        switches = switches or {}
        for arg, value in switches.items():
            if not isinstance(value, (bool, np.bool_)):
                raise TypeError(f"{name}: {arg} must be True or False, got {value!r}")
        if (
            isinstance(proj_size, bool)
            or not isinstance(proj_size, numbers.Integral)
            or proj_size < 0
            or (proj_size and isinstance(hidden_size, numbers.Integral) and proj_size >= hidden_size)
        ):
            raise ValueError(
                f"{name}: proj_size must be an integer in 0..hidden_size-1 (0: no projection), got "
                f"{proj_size!r} with hidden_size={hidden_size!r}"
            )
        self._switches = {**({"proj_size": int(proj_size)} if proj_size else {}), **switches}
        family = self.cell.family or self.cell.name
        return registry.choose(family, where=name, proj_size=proj_size, **switches)

    # -- parameters
    # ------------------------------------------------------------------------------------------------
    def _shapes(self, layer, direction):
        """PyTorch name -> shape of every parameter of one layer and direction (``weight_ih_l1_reverse``:
        (G*H, 2H))."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        layer_input = self.input_size if layer == 0 else self.output_size
        shapes = self.cell.parameter_shapes(layer_input, self.hidden_size, self.proj_size)
        return {
            base + suffix: shape for base, shape in shapes.items() if self.bias or not base.startswith("bias")
        }

    def reset_parameters(self, rng=None):
        """Draw every parameter from U(-1/sqrt(H), 1/sqrt(H)) as PyTorch does (in PyTorch's parameter
        order)."""
        rng = np.random.default_rng(rng)
        bound = 1 / np.sqrt(self.hidden_size)
        self._own_params.clear()
        for layer in range(self.num_layers):
            for direction in range(self.num_directions):
                for name, shape in self._shapes(layer, direction).items():
                    constant = self.cell.initial_values.get(
                        name.rsplit("_l", 1)[0]
                    )  # layer norm: gains 1, biases 0
                    value = (
                        rng.uniform(-bound, bound, size=shape)
                        if constant is None
                        else np.full(shape, constant)
                    )
                    self._own_params[name] = value.astype(self.dtype)
        self._own_grads.clear()
        self._own_grads.update({name: np.zeros_like(p) for name, p in self._own_params.items()})

    def _weights(self, layer, direction):
        """The cell's weights of one layer and direction, in the order its forward takes them; zero biases
        when
        ``bias=False``."""
        suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
        weights = []
        for base, _ in self.cell.parameters:
            value = self._own_params.get(base + suffix)
            if value is None:  # bias=False: a zero bias of the right size
                value = np.zeros(self._own_params["weight_hh" + suffix].shape[0], dtype=self.dtype)
            weights.append(value)
        return tuple(weights)

    @property
    def output_size(self) -> int:
        """Features of ``out``: ``D * H`` (``merge_mode="concat"``, the default, or one direction), else ``H``
        (P in place of H for an LSTM with ``proj_size=P``)."""
        return merged_size(self.direction_size, self.num_directions, self.merge_mode)

    def _recurrent_mask(self, B):
        """One (B, H) inverted-dropout mask on h_{t-1} for a whole sequence (training only), or None."""
        if not (self.training and self.recurrent_dropout > 0):
            return None
        keep = self._dropout_rng.random((B, self.hidden_size)) >= self.recurrent_dropout
        return (keep / (1 - self.recurrent_dropout)).astype(self.dtype)

    # -- forward
    # ---------------------------------------------------------------------------------------------------
    @uses_blas(recurrent_work)  # BLAS threads by call size (kernels/threads.py)
    def _forward(self, x, states, lengths):
        """Shared forward. ``states`` is a tuple of (L*D, B, H) arrays in the order of ``cell.states``."""
        T, B, _ = x.shape
        mask = self._check_lengths(lengths, T, B)
        backend = _AUTO[0] if self.backend == "auto" else self.backend
        reverse_index = None
        if self.bidirectional:  # t -> L_b - 1 - t inside each sequence
            t = np.arange(T)[:, None]
            L = np.full(B, T) if mask is None else mask.sum(0)
            reverse_index = np.where(t < L, L - 1 - t, t)  # (T, B); its own inverse
        finals = [[] for _ in states]  # per state kind, rows layer*D + direction
        caches, dropout_masks, merged = [], [], []
        layer_input = x.copy()  # the cache must not see the caller change x
        for layer in range(self.num_layers):
            if layer > 0 and self.training and self.dropout > 0:  # inverted dropout between layers
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
                init = tuple(np.ascontiguousarray(s[row]) for s in states)
                out, final, cache = self.cell.forward(
                    seq,
                    init,
                    self._weights(layer, direction),
                    mask,
                    backend=backend,
                    recurrent_mask=self._recurrent_mask(B),
                    **self.options,
                )
                outputs.append(out if direction == 0 else _reorder(out, reverse_index))
                for kind, value in zip(finals, final):
                    kind.append(value)
                caches.append(cache)
            layer_input = merge(outputs, self.merge_mode)  # (T, B, D*H) concat, else (T, B, H)
            merged.append(
                outputs if self.merge_mode == "mul" else [None] * len(outputs)
            )  # mul's backward needs them
        self._cache = {
            "caches": caches,
            "reverse_index": reverse_index,
            "dropout": dropout_masks,
            "shape": (T, B),
            "merged": merged,
        }
        return layer_input, tuple(np.stack(kind) for kind in finals)

    @uses_blas(recurrent_work)
    def _backward(self, dout, dstates):
        """Shared backward. dout (T, B, D*H) time-major; dstates tuple of (L*D, B, H). Fills grads, returns
        dx, dstates0."""
        c = self._cache
        reverse_index, D = c["reverse_index"], self.num_directions
        dinitial = [np.zeros_like(s) for s in dstates]
        d_layer_out = dout
        for layer in reversed(range(self.num_layers)):
            d_layer_in = None
            d_outs = merge_backward(d_layer_out, c["merged"][layer], self.merge_mode)  # (T, B, H) each
            for direction in range(D):
                row = layer * D + direction
                d_out = d_outs[direction]
                if direction == 1:
                    d_out = _reorder(d_out, reverse_index)
                finals = tuple(np.ascontiguousarray(s[row]) for s in dstates)
                dx, d0, dweights = self.cell.backward(d_out, finals, c["caches"][row])
                for kind, value in zip(dinitial, d0):
                    kind[row] = value
                dx = dx if direction == 0 else _reorder(dx, reverse_index)
                d_layer_in = dx if d_layer_in is None else d_layer_in + dx
                suffix = f"_l{layer}" + ("_reverse" if direction == 1 else "")
                for base, arg in self.cell.parameters:
                    if base + suffix in self._own_grads:
                        self._own_grads[base + suffix][...] = dweights[arg]
            if c["dropout"][layer] is not None:
                d_layer_in = d_layer_in * c["dropout"][layer]
            d_layer_out = d_layer_in
        c["spent"] = True  # one backward per forward, on every backend
        return d_layer_out, dinitial

    def gates(self, layer=0, direction=0) -> dict:
        """The gate values of the last forward pass for one layer and direction, by name, each (T, B, H)
        time-major (after the nonlinearities; PyTorch's gate names: LSTM ``i, f, g, o``, GRU ``r, z, n``).

        Example:
            >>> from minirnn import GRU, LSTM; lstm = LSTM(3, 4, seed=0)
            >>> _ = lstm(np.zeros((5, 2, 3)))
            >>> sorted(lstm.gates()), lstm.gates()["f"].shape
            (['f', 'g', 'i', 'o'], (5, 2, 4))
        """
        if self._cache is None or self._cache.get("spent"):
            raise RuntimeError(
                f"{type(self).__name__}.gates: run a forward pass first (a backward pass overwrites "
                "the saved gates with their gradients)"
            )
        cache = self._cache["caches"][layer * self.num_directions + direction]
        return {name: value.copy() for name, value in self.cell.gate_values(cache.inner).items()}

    def _wrap_output(self, out, unbatched):
        if unbatched:
            return out[:, 0, :]
        return out.transpose(1, 0, 2) if self.batch_first else out

    def _unwrap_dout(self, dout, unbatched):
        """Validate dout against the last forward's output and return it time-major (T, B, D*H)."""
        if self._cache is None:
            raise RuntimeError(f"{type(self).__name__}.backward called before a forward pass")
        if self._cache.get("spent"):
            raise RuntimeError(
                f"{type(self).__name__}.backward was already called for the last forward pass; run the "
                "forward pass again (as torch needs without retain_graph=True): the backward pass writes "
                "the gradients over the saved gate values, which saves memory"
            )
        T, B = self._cache["shape"]
        DH = self.output_size
        size = "proj_size" if self.proj_size else "hidden_size"
        if unbatched:
            shape, what = (T, DH), f"(seq_len, num_directions * {size})"
        elif self.batch_first:
            shape, what = (B, T, DH), f"(batch, seq_len, num_directions * {size})"
        else:
            shape, what = (T, B, DH), f"(seq_len, batch, num_directions * {size})"
        self._check_array("dout", dout, shape, what)
        if unbatched:
            return dout[:, None, :]
        return np.ascontiguousarray(dout.transpose(1, 0, 2) if self.batch_first else dout)

    # -- the states: one array (RNN, GRU) or a tuple (LSTM) at the API, always a tuple inside
    # ----------------------
    def _call(self, x, hx, lengths, arg):
        """The forward of every layer: validate, run, and return ``out`` and the final states as the caller
        gave them."""
        x, unbatched = self._check_input(x)
        B = x.shape[1]
        given = self.unpack_states(hx, arg)
        states = tuple(
            self._check_state(f"{s}0", v, B, unbatched, s) for s, v in zip(self.cell.states, given)
        )
        out, finals = self._forward(x, states, lengths)
        self._cache["unbatched"] = unbatched
        return self._wrap_output(out, unbatched), self.pack_states(
            [f[:, 0] if unbatched else f for f in finals]
        )

    def _call_backward(self, dout, dhx, arg):
        """The backward of every layer: validate, run BPTT, fill ``grads``; returns dx and the initial
        states' grads."""
        unbatched = self._cache is not None and self._cache["unbatched"]
        d = self._unwrap_dout(dout, unbatched)
        B = self._cache["shape"][1]
        given = self.unpack_states(dhx, arg)
        dstates = tuple(
            self._check_state(f"d{s}_n", v, B, unbatched, s) for s, v in zip(self.cell.states, given)
        )
        dx, d0 = self._backward(d, dstates)
        return self._wrap_output(dx, unbatched), self.pack_states([v[:, 0] if unbatched else v for v in d0])

    def __repr__(self):
        parts = [str(self.input_size), str(self.hidden_size)]
        defaults = {
            "num_layers": 1,
            "bias": True,
            "batch_first": False,
            "dropout": 0.0,
            "bidirectional": False,
            "recurrent_dropout": 0.0,
            "merge_mode": "concat",
        }
        for key, default in defaults.items():
            if getattr(self, key) != default:
                parts.append(f"{key}={getattr(self, key)!r}")
        defaults = self.cell.default_options()
        parts += [f"{key}={value!r}" for key, value in self.options.items() if value != defaults[key]]
        signature = inspect.signature(type(self).__init__).parameters  # proj_size, peepholes, reset_after
        parts += [
            f"{key}={value!r}"
            for key, value in getattr(self, "_switches", {}).items()
            if key in signature and value != signature[key].default
        ]
        if self.dtype != np.float64:
            parts.append(f"dtype=np.{self.dtype}")
        return f"{type(self).__name__}({', '.join(parts)})"


def _reorder(a, index):
    """a (T, B, F) reordered in time per sequence: out[t, b] = a[index[t, b], b]."""
    return np.ascontiguousarray(np.take_along_axis(a, index[:, :, None], axis=0))
