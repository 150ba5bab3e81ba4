"""What each cell is, said once: its name, gates, states, parameters, options and how frameworks order its
blocks.

Everything outside ``cells/`` and ``kernels/`` asks this file about a cell and calls it through one
convention, so that no layer, grader, measurement or importer branches on a cell's name:

    cell = registry.get("lstm")
    out, states, cache = cell.forward(x, states, weights, mask=None, backend="numpy", **options)
    dx, dstates0, dweights = cell.backward(dout, dstates, cache)     # one backward per cache
    da_x, da_h, dstates_prev, dstates_total = cell.backward_step(t, dstates, cache.inner)

``states`` is always a tuple, in the order of ``cell.states`` (``("h",)`` or ``("h", "c")``); ``weights`` a
tuple in the order of ``cell.parameters`` (``W_ih, W_hh, b_ih, b_hh``). ``backend="numpy"`` runs the readable
loop of ``minirnn/cells/<module>.py``, ``"numba"`` the compiled one of ``minirnn/kernels/<module>.py``; both
modules keep the signatures a student reads there (``forward(x, h0, c0, W_ih, ...)``), and this file adapts
them.

A new cell variant is one file in ``cells/``, one in ``kernels/`` and one entry in :data:`CELLS`. A layer
finds its cell with :func:`choose` from its constructor switches (``LSTM(layer_norm=True)`` runs ``ln_lstm``).
Cells with ``recurrent_mask=True`` take ``recurrent_mask=`` (B, H) in :meth:`Cell.forward`: recurrent dropout.

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
from dataclasses import dataclass, field, replace
from typing import NamedTuple

BACKENDS = ("numpy", "numba")


class SequenceCache(NamedTuple):
    """What :meth:`Cell.forward` keeps for :meth:`Cell.backward`: the module that ran and the module's own
    cache."""

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
        keras_biases: 1 when Keras keeps one bias (b_ih + b_hh), 2 when it keeps both (GRU
        ``reset_after=True``). color: the cell's colour in every figure.
        readable: the module of the readable loop when it is not ``minirnn.cells.<module>``.
        family: the base cell whose layer runs this variant (``"lstm"`` for ``"lstm_peephole"``); "" for a
        base cell. switches: the layer's constructor arguments that select this cell in its family, as truth
        values
            (``{"peepholes": True}``; ``{"proj_size": True}`` means proj_size > 0); an argument a cell does
            not list must be off. See :func:`choose`.
        keras_options: the Keras layer arguments that make the Keras class this cell (GRU ``{"reset_after":
        True}``). recurrent_mask: True when ``forward`` takes ``recurrent_mask`` (B, H), the per-sequence
        dropout mask
            on h_{t-1} where it enters the recurrent product (``recurrent_dropout`` of the layers).
        extra_shapes: parameters beyond those ``parameter_shapes`` knows: PyTorch-style base name -> shape in
            units of ``"GH"`` (G * H) or ``"H"``, e.g. ``{"ln_c_weight": ("H",)}`` (layer norm's gains and
            biases).
        initial_values: base name -> the constant a layer starts that parameter at (a gain at 1, not random).
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
    parameters: tuple = (
        ("weight_ih", "W_ih"),
        ("weight_hh", "W_hh"),
        ("bias_ih", "b_ih"),
        ("bias_hh", "b_hh"),
    )
    family: str = ""
    switches: dict = field(default_factory=dict)
    keras_options: dict = field(default_factory=dict)
    recurrent_mask: bool = False
    extra_shapes: dict = field(default_factory=dict)
    initial_values: dict = field(default_factory=dict)

    @property
    def num_gates(self) -> int:
        """G: the weight matrices have G * H rows."""
        return len(self.gates)

    def parameter_shapes(self, input_size: int, hidden_size: int, proj_size: int = 0) -> dict:
        """PyTorch base name -> shape for one layer and direction, e.g. ``{"weight_ih": (4H, I), ...}``.

        ``proj_size`` (P) is the size of h for a cell with ``weight_hr`` (an LSTM with projections); 0
        otherwise.
        """
        GH, H, R = self.num_gates * hidden_size, hidden_size, self.state_sizes(hidden_size, proj_size)["h"]
        shapes = {
            "weight_ih": (GH, input_size),
            "weight_hh": (GH, R),
            "bias_ih": (GH,),
            "bias_hh": (GH,),
            "weight_hr": (R, H),
            "weight_ci": (H,),
            "weight_cf": (H,),
            "weight_co": (H,),
        }
        sizes = {"GH": GH, "H": H}
        shapes.update({base: tuple(sizes[d] for d in dims) for base, dims in self.extra_shapes.items()})
        return {base: shapes[base] for base, _ in self.parameters}

    def state_sizes(self, hidden_size: int, proj_size: int = 0) -> dict:
        """The size of each state: ``{"h": H}``, ``{"h": H, "c": H}``, or ``{"h": P, "c": H}`` with
        projections.

        Example:
            >>> get("lstm_proj").state_sizes(8, proj_size=3), get("gru").state_sizes(8)
            ({'h': 3, 'c': 8}, {'h': 8})
        """
        projected = any(base == "weight_hr" for base, _ in self.parameters)
        if projected != (proj_size > 0):
            raise ValueError(
                f"{self.title}: proj_size must be {'> 0' if projected else '0'}, got {proj_size}"
            )
        sizes = {"h": proj_size if projected else hidden_size, "c": hidden_size}
        return {state: sizes[state] for state in self.states}

    def default_options(self) -> dict:
        """Each option at its default value (``{"nonlinearity": "tanh"}`` for the RNN)."""
        return {key: values[0] for key, values in self.options.items()}

    def implementation(self, backend: str = "numpy"):
        """The module that runs the time loop: ``minirnn.cells.<module>`` or ``minirnn.kernels.<module>``."""
        if backend not in BACKENDS:
            raise ValueError(f"backend must be one of {BACKENDS}, got {backend!r}")
        if backend == "numpy":
            return importlib.import_module(self.readable or f"minirnn.cells.{self.module}")
        return importlib.import_module(f"minirnn.kernels.{self.module}")  # compiles on its first call

    def forward(self, x, states, weights, mask=None, *, backend="numpy", recurrent_mask=None, **options):
        """Run the cell over a sequence. x (T, B, I); states tuple of (B, H); weights tuple; mask (T, B) or
        None; recurrent_mask (B, H) or None (only for cells with ``recurrent_mask=True``).

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
        """BPTT for :meth:`forward`. dout (T, B, H); dstates tuple of (B, H), the gradients of the final
        states.

        Returns ``dx (T, B, I)``, the initial states' gradients (a tuple) and a dict of weight gradients by
        argument name (``W_ih``, ...). A cache serves one backward: the compiled loop writes gradients over
        its buffers.
        """
        from ..kernels._common import mark_spent, require_unspent  # the use-once rule is the kernels'

        require_unspent(cache.inner)
        grads = cache.module.backward(dout, *dstates, cache.inner)
        mark_spent(cache.inner)
        dstates0 = tuple(grads[f"{state}0"] for state in self.states)
        return grads["x"], dstates0, {arg: grads[arg] for _, arg in self.parameters}

    def step_forward(self, x, states, weights, **options):
        """One step of the readable cell: x (B, I), states tuple of (B, H), weights tuple -> (new states,
        cache).

        The step a decoder or an agent takes one at a time (``cells.<module>.step_forward``, adapted to
        tuples).
        """
        *new, cache = self.implementation("numpy").step_forward(x, *states, *weights, **options)
        return tuple(new), cache

    def step_backward(self, dstates, cache):
        """Backward of :meth:`step_forward`: dstates tuple -> ``dx, dstates_prev`` (tuple), weight gradients
        (tuple)."""
        n = len(self.states)
        dx, *rest = self.implementation("numpy").step_backward(*dstates, cache)
        return dx, tuple(rest[:n]), tuple(rest[n:])

    def backward_step(self, t, dstates, cache: dict):
        """One step of BPTT on a (readable or compiled) forward cache, with no padding; see
        ``cells.<module>``."""
        return self.implementation("numpy").backward_step(t, dstates, cache)

    def gate_values(self, cache: dict) -> dict:
        """The gates of a forward cache by name, each (T, B, H), after their nonlinearities (``{"i": ...,
        ...}``)."""
        gates = cache["gates"]
        H = gates.shape[-1] // self.num_gates
        return {name: gates[..., k * H : (k + 1) * H] for k, name in enumerate(self.gates)}


RNN = Cell(
    "rnn",
    "tanh RNN",
    gates=("a",),
    states=("h",),
    module="rnn",
    torch_class="RNN",
    keras_class="SimpleRNN",
    keras_gates=("a",),
    keras_biases=1,
    color="#1f77b4",
    recurrent_mask=True,
    options={"nonlinearity": ("tanh", "relu")},
)
LSTM = Cell(
    "lstm",
    "LSTM",
    gates=("i", "f", "g", "o"),
    states=("h", "c"),
    module="lstm",
    torch_class="LSTM",
    keras_class="LSTM",
    keras_gates=("i", "f", "g", "o"),
    keras_biases=1,
    color="#d62728",
    recurrent_mask=True,
)
GRU = Cell(
    "gru",
    "GRU",
    gates=("r", "z", "n"),
    states=("h",),
    module="gru",
    torch_class="GRU",
    keras_class="GRU",
    keras_gates=("z", "r", "n"),
    keras_biases=2,
    color="#2ca02c",
    recurrent_mask=True,
    switches={"reset_after": True},
    keras_options={"reset_after": True},
)

# The variants (issue #18): each runs in its family's layer, selected by a constructor argument. Each is its
# base cell with what differs replaced (dataclasses.replace), so that a fact of the base (gates, states,
# Keras' gate order, ...) is written once; a field a variant does not name is its base's.
GRU_RESET_BEFORE = replace(
    GRU,
    name="gru_reset_before",
    title="GRU (reset before)",
    module="gru_reset_before",
    torch_class="",  # PyTorch's GRU resets after the recurrent product only
    keras_biases=1,
    color="#8c564b",
    recurrent_mask=False,
    family="gru",
    switches={"reset_after": False},
    keras_options={"reset_after": False},
)
LSTM_PROJ = replace(
    LSTM,
    name="lstm_proj",
    title="LSTM (projections)",
    module="lstm_proj",
    keras_class="",
    color="#ff7f0e",
    recurrent_mask=False,
    family="lstm",
    switches={"proj_size": True},
    parameters=LSTM.parameters + (("weight_hr", "W_hr"),),
)
LSTM_PEEPHOLE = replace(
    LSTM,
    name="lstm_peephole",
    title="LSTM (peepholes)",
    module="lstm_peephole",
    torch_class="",
    keras_class="",
    color="#9467bd",
    recurrent_mask=False,
    family="lstm",
    switches={"peepholes": True},
    parameters=LSTM.parameters + (("weight_ci", "w_ci"), ("weight_cf", "w_cf"), ("weight_co", "w_co")),
)

_LN = (("ln_ih_weight", "g_ih"), ("ln_hh_weight", "g_hh"))
LN_LSTM = replace(
    LSTM,
    name="ln_lstm",
    title="LN-LSTM",
    module="ln_lstm",
    torch_class="",
    keras_class="",
    color="#17becf",
    parameters=LSTM.parameters + _LN + (("ln_c_weight", "g_c"), ("ln_c_bias", "b_c")),
    extra_shapes={
        "ln_ih_weight": ("GH",),
        "ln_hh_weight": ("GH",),
        "ln_c_weight": ("H",),
        "ln_c_bias": ("H",),
    },
    initial_values={"ln_ih_weight": 1.0, "ln_hh_weight": 1.0, "ln_c_weight": 1.0, "ln_c_bias": 0.0},
    family="lstm",
    switches={"layer_norm": True},
)
LN_GRU = replace(
    GRU,
    name="ln_gru",
    title="LN-GRU",
    module="ln_gru",
    torch_class="",
    keras_class="",
    keras_options={},
    color="#bcbd22",
    parameters=GRU.parameters + _LN,
    extra_shapes={"ln_ih_weight": ("GH",), "ln_hh_weight": ("GH",)},
    initial_values={"ln_ih_weight": 1.0, "ln_hh_weight": 1.0},
    family="gru",
    switches={"reset_after": True, "layer_norm": True},
)

#: Every cell by name.
CELLS = {
    cell.name: cell for cell in (RNN, LSTM, GRU, GRU_RESET_BEFORE, LSTM_PROJ, LSTM_PEEPHOLE, LN_LSTM, LN_GRU)
}
#: The base cells (a layer's default cell; the variants are switches of these).
BASE_CELLS = tuple(name for name, cell in CELLS.items() if not cell.family)


def get(name: str) -> Cell:
    """The cell called ``name``; a ValueError lists the names there are."""
    if name not in CELLS:
        raise ValueError(f"cell must be one of {tuple(CELLS)}, got {name!r}")
    return CELLS[name]


def choose(family: str, where: str = "layer", **arguments) -> Cell:
    """The cell of ``family`` that a layer's constructor arguments select (see :attr:`Cell.switches`).

    Each argument counts by its truth value (``proj_size=3`` is on); a cell matches when the arguments it
    lists have its values and every other one is off. No match (a combination no cell implements) is a
    ValueError that names every argument given, with its value, and the combinations the family has (an
    argument that is off and that no cell of the family lists, like the GRU layer's ``proj_size=0``, is left
    out of it).

    Example:
        >>> choose("gru", reset_after=False).name, choose("lstm", proj_size=0, peepholes=False).name
        ('gru_reset_before', 'lstm')
        >>> choose("gru", where="GRU", reset_after=False, layer_norm=True)
        Traceback (most recent call last):
        ...
        ValueError: GRU: no GRU cell implements reset_after=False, layer_norm=True; the GRU cells are gru \
(reset_after=True, layer_norm=False), gru_reset_before (reset_after=False, layer_norm=False), ln_gru \
(reset_after=True, layer_norm=True) (see minirnn.cells.registry.CELLS)
    """
    members = [cell for cell in CELLS.values() if (cell.family or cell.name) == family]
    if not members:
        raise ValueError(f"{where}: family must be one of {BASE_CELLS}, got {family!r}")
    given = {key: bool(value) for key, value in arguments.items()}
    for cell in members:
        listed = all(given.get(key, False) == value for key, value in cell.switches.items())
        others_off = not any(value for key, value in given.items() if key not in cell.switches)
        if listed and others_off:
            return cell
    listed_by_family = {key for cell in members for key in cell.switches}
    shown = {key: value for key, value in arguments.items() if value or key in listed_by_family}
    keys = list(dict.fromkeys([*shown, *(key for cell in members for key in cell.switches)]))  # given first

    def setting(key, on):                                     # proj_size is a number: on means > 0
        numeric = not isinstance(arguments.get(key, False), bool)
        return (f"{key} > 0" if on else f"{key}=0") if numeric else f"{key}={on}"

    combinations = ", ".join(
        f"{cell.name} ({', '.join(setting(key, cell.switches.get(key, False)) for key in keys)})"
        for cell in members
    )
    given_text = ", ".join(f"{key}={value!r}" for key, value in shown.items()) or "no switches"
    raise ValueError(
        f"{where}: no {family.upper()} cell implements {given_text}; the {family.upper()} cells are "
        f"{combinations} (see minirnn.cells.registry.CELLS)"
    )
