"""What each cell is, said once: its name, gates, states, parameters, options and how frameworks order its blocks.

Everything outside ``cells/`` and ``kernels/`` asks this file about a cell and calls it through one convention, so
that no layer, grader, measurement or importer branches on a cell's name:

    cell = registry.get("lstm")
    out, states, cache = cell.forward(x, states, weights, mask=None, backend="numpy", **options)
    dx, dstates0, dweights = cell.backward(dout, dstates, cache)     # one backward per cache
    da_x, da_h, dstates_prev, dstates_total = cell.backward_step(t, dstates, cache.inner)

``states`` is always a tuple, in the order of ``cell.states`` (``("h",)`` or ``("h", "c")``); ``weights`` a tuple in the
order of ``cell.parameters`` (``W_ih, W_hh, b_ih, b_hh``). ``backend="numpy"`` runs the readable loop of
``minirnn/cells/<module>.py``, ``"numba"`` the compiled one of ``minirnn/kernels/<module>.py``; both modules keep the
signatures a student reads there (``forward(x, h0, c0, W_ih, ...)``), and this file adapts them.

A new cell variant is one file in ``cells/``, one in ``kernels/`` and one entry in :data:`CELLS`. A layer finds its
cell with :func:`select` from its constructor choices (``LSTM(layer_norm=True)`` runs ``ln_lstm``). Cells with
``recurrent_mask=True`` take ``recurrent_mask=`` (B, H) in :meth:`Cell.forward`: recurrent dropout.

Example:
    >>> import numpy as np
    >>> cell = get("gru")
    >>> cell.states, cell.gates, cell.parameter_shapes(input_size=3, hidden_size=4)["weight_hh"]
    (('h',), ('r', 'z', 'n'), (12, 4))
    >>> rng = np.random.default_rng(0)
    >>> weights = tuple(rng.normal(size=s) for s in cell.parameter_shapes(3, 4).values())
    >>> out, (h_n,), cache = cell.forward(rng.normal(size=(5, 2, 3)), (np.zeros((2, 4)),), weights)
    >>> dx, (dh0,), dweights = cell.backward(np.ones_like(out), (np.zeros((2, 4)),), cache)
    >>> dx.shape, sorted(dweights)
    ((5, 2, 3), ['W_hh', 'W_ih', 'b_hh', 'b_ih'])
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from typing import NamedTuple

BACKENDS = ("numpy", "numba")


class SequenceCache(NamedTuple):
    """What :meth:`Cell.forward` keeps for :meth:`Cell.backward`: the module that ran and the module's own cache."""
    module: object
    inner: dict


@dataclass(frozen=True)
class Cell:
    """One recurrent cell: everything code around the cells needs to know about it.

    Attributes:
        name: the registry key (``"lstm"``).  title: how figures and tables name it (``"LSTM"``).
        gates: the row blocks of W_ih / W_hh in PyTorch's order (``("i", "f", "g", "o")``); G = len(gates).
        states: the carried states (``("h",)`` or ``("h", "c")``); ``h`` is also the output.
        parameters: (PyTorch base name, argument name) of each parameter, in the order ``forward`` takes them.
        module: the file name in ``cells/`` and ``kernels/``.
        options: extra keyword arguments of ``forward`` and their allowed values, the default first.
        torch_class, keras_class: the framework layers that are this cell (``"LSTM"``; Keras ``"SimpleRNN"``).
        keras_gates: the same blocks in the order Keras stores them (Keras GRU: ``("z", "r", "n")``).
        keras_biases: 1 when Keras keeps one bias (b_ih + b_hh), 2 when it keeps both (GRU ``reset_after=True``).
        color: the cell's colour in every figure.
        readable: the module of the readable loop when it is not ``minirnn.cells.<module>``.
        recurrent_mask: True when ``forward`` takes ``recurrent_mask`` (B, H), the per-sequence dropout mask on
            h_{t-1} where it enters the recurrent product (``recurrent_dropout`` of the layers).
        extra_shapes: the parameters beyond W_ih, W_hh, b_ih, b_hh: PyTorch-style base name -> shape in units of
            ``"GH"`` (G * H) or ``"H"``, e.g. ``{"ln_c_weight": ("H",)}`` (layer norm's gains and biases).
        initial_values: base name -> the constant a layer starts that parameter at (a gain at 1, not random).
        layer, layer_options: the layer that runs this cell and the constructor choices that select it
            (``"lstm", {"layer_norm": True}``); empty for a layer's own cell (see :func:`select`).
    """

    name: str
    title: str
    gates: tuple
    states: tuple
    module: str
    torch_class: str
    keras_class: str
    keras_gates: tuple
    keras_biases: int
    color: str = "#333333"
    readable: str = ""
    options: dict = field(default_factory=dict)
    parameters: tuple = (("weight_ih", "W_ih"), ("weight_hh", "W_hh"), ("bias_ih", "b_ih"), ("bias_hh", "b_hh"))
    recurrent_mask: bool = False
    extra_shapes: dict = field(default_factory=dict)
    initial_values: dict = field(default_factory=dict)
    layer: str = ""
    layer_options: dict = field(default_factory=dict)

    @property
    def num_gates(self) -> int:
        """G: the weight matrices have G * H rows."""
        return len(self.gates)

    def parameter_shapes(self, input_size: int, hidden_size: int) -> dict:
        """PyTorch base name -> shape for one layer and direction, e.g. ``{"weight_ih": (4H, I), ...}``."""
        GH = self.num_gates * hidden_size
        shapes = {"weight_ih": (GH, input_size), "weight_hh": (GH, hidden_size), "bias_ih": (GH,), "bias_hh": (GH,)}
        sizes = {"GH": GH, "H": hidden_size}
        shapes.update({base: tuple(sizes[d] for d in dims) for base, dims in self.extra_shapes.items()})
        return {base: shapes[base] for base, _ in self.parameters}

    def default_options(self) -> dict:
        """Each option at its default value (``{"nonlinearity": "tanh"}`` for the RNN)."""
        return {key: values[0] for key, values in self.options.items()}

    def implementation(self, backend: str = "numpy"):
        """The module that runs the time loop: ``minirnn.cells.<module>`` or ``minirnn.kernels.<module>``."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "numpy":
            return importlib.import_module(self.readable or f"minirnn.cells.{self.module}")
        return importlib.import_module(f"minirnn.kernels.{self.module}")    # compiles on its first call

    def forward(self, x, states, weights, mask=None, *, backend="numpy", recurrent_mask=None, **options):
        """Run the cell over a sequence. x (T, B, I); states tuple of (B, H); weights tuple; mask (T, B) or None;
        recurrent_mask (B, H) or None (only for cells with ``recurrent_mask=True``).

        Returns ``out (T, B, H)``, the final states (a tuple like ``states``) and a :class:`SequenceCache`.
        """
        module = self.implementation(backend)
        if recurrent_mask is not None:
            if not self.recurrent_mask:
                raise ValueError(f"the {self.title} cell takes no recurrent_mask (recurrent dropout)")
            options = {**options, "recurrent_mask": recurrent_mask}
        out, *final, cache = module.forward(x, *states, *weights, mask=mask, **options)
        return out, tuple(final), SequenceCache(module, cache)

    def backward(self, dout, dstates, cache):
        """BPTT for :meth:`forward`. dout (T, B, H); dstates tuple of (B, H), the gradients of the final states.

        Returns ``dx (T, B, I)``, the initial states' gradients (a tuple) and a dict of weight gradients by argument
        name (``W_ih``, ...). A cache serves one backward: the compiled loop writes gradients over its buffers.
        """
        from ..kernels._common import mark_spent, require_unspent     # the use-once rule is the kernels'

        require_unspent(cache.inner)
        grads = cache.module.backward(dout, *dstates, cache.inner)
        mark_spent(cache.inner)
        dstates0 = tuple(grads[f"{state}0"] for state in self.states)
        return grads["x"], dstates0, {arg: grads[arg] for _, arg in self.parameters}

    def backward_step(self, t, dstates, cache: dict):
        """One step of BPTT on a (readable or compiled) forward cache, with no padding; see ``cells.<module>``."""
        return self.implementation("numpy").backward_step(t, dstates, cache)

    def gate_values(self, cache: dict) -> dict:
        """The gates of a forward cache by name, each (T, B, H), after their nonlinearities (``{"i": ..., ...}``)."""
        gates = cache["gates"]
        H = gates.shape[-1] // self.num_gates
        return {name: gates[..., k * H:(k + 1) * H] for k, name in enumerate(self.gates)}


RNN = Cell("rnn", "tanh RNN", gates=("a",), states=("h",), module="rnn", torch_class="RNN",
           keras_class="SimpleRNN", keras_gates=("a",), keras_biases=1, color="#1f77b4", recurrent_mask=True,
           options={"nonlinearity": ("tanh", "relu")})
LSTM = Cell("lstm", "LSTM", gates=("i", "f", "g", "o"), states=("h", "c"), module="lstm", torch_class="LSTM",
            keras_class="LSTM", keras_gates=("i", "f", "g", "o"), keras_biases=1, color="#d62728",
            recurrent_mask=True)
GRU = Cell("gru", "GRU", gates=("r", "z", "n"), states=("h",), module="gru", torch_class="GRU",
           keras_class="GRU", keras_gates=("z", "r", "n"), keras_biases=2, color="#2ca02c",
           recurrent_mask=True)

_LN = (("ln_ih_weight", "g_ih"), ("ln_hh_weight", "g_hh"))
LN_LSTM = Cell("ln_lstm", "LN-LSTM", gates=LSTM.gates, states=LSTM.states, module="ln_lstm", torch_class="",
               keras_class="", keras_gates=LSTM.keras_gates, keras_biases=1, color="#9467bd", recurrent_mask=True,
               parameters=LSTM.parameters + _LN + (("ln_c_weight", "g_c"), ("ln_c_bias", "b_c")),
               extra_shapes={"ln_ih_weight": ("GH",), "ln_hh_weight": ("GH",), "ln_c_weight": ("H",),
                             "ln_c_bias": ("H",)},
               initial_values={"ln_ih_weight": 1.0, "ln_hh_weight": 1.0, "ln_c_weight": 1.0, "ln_c_bias": 0.0},
               layer="lstm", layer_options={"layer_norm": True})
LN_GRU = Cell("ln_gru", "LN-GRU", gates=GRU.gates, states=GRU.states, module="ln_gru", torch_class="",
              keras_class="", keras_gates=GRU.keras_gates, keras_biases=2, color="#8c564b", recurrent_mask=True,
              parameters=GRU.parameters + _LN, extra_shapes={"ln_ih_weight": ("GH",), "ln_hh_weight": ("GH",)},
              initial_values={"ln_ih_weight": 1.0, "ln_hh_weight": 1.0}, layer="gru", layer_options={"layer_norm": True})

#: Every cell by name.
CELLS = {cell.name: cell for cell in (RNN, LSTM, GRU, LN_LSTM, LN_GRU)}


def get(name: str) -> Cell:
    """The cell called ``name``; a ValueError lists the names there are."""
    if name not in CELLS:
        raise ValueError(f"cell must be one of {tuple(CELLS)}, got {name!r}")
    return CELLS[name]


def select(layer: str, **choices) -> Cell:
    """The cell a layer runs, from the layer's name and its constructor choices (those left at False/0 are ignored).

    Example:
        >>> select("lstm").name, select("lstm", layer_norm=True).name, select("gru", layer_norm=False).name
        ('lstm', 'ln_lstm', 'gru')
    """
    active = {key: value for key, value in choices.items() if value}
    for cell in CELLS.values():
        if (cell.layer or cell.name) == layer and cell.layer_options == active:
            return cell
    raise ValueError(f"{layer}: no cell has {', '.join(f'{k}={v!r}' for k, v in active.items())}")
