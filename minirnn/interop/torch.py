"""PyTorch weights in and out. PyTorch's layout is minirnn's own (weight names, gate order, two biases), so
this
direction is a copy; torch is imported only inside the functions that need it."""

from __future__ import annotations

import re

import numpy as np

from ..nn.recurrent import GRU, LAYERS, LSTM  # noqa: F401 (GRU, LSTM: the docstring examples)
from ._common import cell_of, parse_cell, to_numpy


def from_torch(
    module_or_state_dict,
    cell=None,
    *,
    batch_first=None,
    nonlinearity=None,
    dropout=None,
    prefix="",
    dtype=None,
    seed=None,
    backend="auto",
):
    """A minirnn RNN/LSTM/GRU with the weights (and, from a module, the constructor arguments) of a PyTorch
    one.

    From an ``nn.RNN/LSTM/GRU`` module everything is read off the module: cell, input_size, hidden_size,
    num_layers, bias, batch_first, bidirectional, nonlinearity, dropout, proj_size; the dtype is that of the
    weights. From a ``state_dict`` (tensors or arrays) the sizes are read off the shapes: ``weight_ih_l0`` is
    (G*H, I), ``weight_hh_l0`` (G*H, H), and the gate factor G = 1, 4, 3 names the cell (RNN, LSTM, GRU);
    ``weight_hr_l0`` (P, H) means an LSTM with ``proj_size=P`` (``weight_hh_l0`` is then (4H, P)), and
    ``weight_ci_l0`` an LSTM with ``peepholes=True``
    (minirnn's own names). A state_dict does not record ``batch_first``, ``dropout`` or an RNN's
    ``nonlinearity``: pass them (defaults False, 0.0, "tanh").

    Args:
        module_or_state_dict: ``torch.nn.RNN/LSTM/GRU``, or a dict name -> tensor/array with PyTorch's names.
        cell: optional 'rnn' | 'lstm' | 'gru' (or the minirnn class); checked against the module or the
        shapes. batch_first, nonlinearity, dropout: override (module) or supply (state_dict) these constructor
        arguments. prefix: a key prefix to strip from a state_dict, e.g. ``"rnn."`` for the recurrent part of
        a whole
        model. dtype: the minirnn dtype (default: the weights' dtype, float32 or float64).
        seed, backend: passed to the minirnn layer (``seed`` only seeds dropout here: all weights are loaded).
    Returns:
        a minirnn ``RNN``, ``LSTM`` or ``GRU``.
    Raises:
        ValueError for missing or inconsistent keys and shapes, or a ``cell`` that contradicts the weights;
        TypeError for anything else.

    Example:
        >>> import torch
        >>> t = torch.nn.LSTM(10, 20, num_layers=2, batch_first=True, dtype=torch.float64)
        >>> lstm = from_torch(t)
        >>> lstm
        LSTM(10, 20, num_layers=2, batch_first=True)
        >>> from_torch(t.state_dict(), batch_first=True).hidden_size
        20
    """
    want = parse_cell(cell)
    source = module_or_state_dict
    if hasattr(source, "mode") and hasattr(source, "state_dict") and hasattr(source, "hidden_size"):
        spec, state, kwargs = _read_torch_module(source, want, cell, batch_first, dropout)
        prefix = ""
    elif isinstance(source, dict):
        state, spec, kwargs = _read_torch_state_dict(source, want, prefix)
        kwargs.update(batch_first=bool(batch_first), dropout=0.0 if dropout is None else dropout)
    else:
        raise TypeError(
            "module_or_state_dict must be a torch.nn.RNN/LSTM/GRU or a state_dict (dict of name -> "
            f"tensor), got {type(source).__name__}"
        )
    if nonlinearity is not None:
        if "nonlinearity" not in spec.options:
            raise ValueError(
                f"nonlinearity applies to an RNN only, got nonlinearity={nonlinearity!r} for a {spec.title}"
            )
        kwargs["nonlinearity"] = nonlinearity
    arrays = {
        k[len(prefix) :]: to_numpy(v, f"state_dict[{k!r}]") for k, v in state.items() if k.startswith(prefix)
    }
    if dtype is None:
        dtype = arrays["weight_ih_l0"].dtype
    layer = LAYERS[spec.name](**kwargs, dtype=dtype, seed=seed, backend=backend)
    layer.load_state_dict({k: v.astype(layer.dtype) for k, v in arrays.items()})
    return layer


def _read_torch_module(source, want, cell, batch_first, dropout):
    """(cell, state_dict, constructor kwargs) read off a ``torch.nn.RNN/LSTM/GRU`` module."""
    specs = [c for c in (cls.cell for cls in LAYERS.values()) if c.torch_class == type(source).__name__]
    if not specs:
        raise ValueError(
            f"module is a {type(source).__name__}; expected one of "
            f"{tuple(cls.cell.torch_class for cls in LAYERS.values())}"
        )
    spec = specs[0]
    if want is not None and want != spec:
        raise ValueError(f"cell={cell!r} contradicts the module, which is a {type(source).__name__}")
    kwargs = dict(
        input_size=source.input_size,
        hidden_size=source.hidden_size,
        num_layers=source.num_layers,
        bias=bool(source.bias),
        bidirectional=bool(source.bidirectional),
        batch_first=bool(source.batch_first) if batch_first is None else batch_first,
        dropout=float(source.dropout) if dropout is None else dropout,
    )
    kwargs.update({key: getattr(source, key) for key in spec.options})  # torch.nn.RNN's nonlinearity
    if getattr(source, "proj_size", 0):  # an LSTM with projections
        kwargs["proj_size"] = int(source.proj_size)
    return spec, source.state_dict(), kwargs


def _read_torch_state_dict(state, want, prefix):
    """Sizes and cell from the shapes of a PyTorch recurrent state_dict; returns (state, cell, kwargs).

    It is long because a foreign state_dict is validated key by key and shape by shape before any
    array is used, each with its own sentence.
    """
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {type(prefix).__name__}")
    keys = [k[len(prefix) :] for k in state if isinstance(k, str) and k.startswith(prefix)]
    pattern = re.compile(
        r"^(weight_ih|weight_hh|bias_ih|bias_hh|weight_hr|weight_ci|weight_cf|weight_co)_l(\d+)"
        r"(_reverse)?$"
    )
    if "weight_ih_l0" not in keys or "weight_hh_l0" not in keys:
        raise ValueError(
            f"state_dict must hold PyTorch recurrent weights 'weight_ih_l0' and 'weight_hh_l0' "
            f"(after prefix {prefix!r}), got keys {sorted(keys)[:8]}"
        )
    strange = [k for k in keys if not pattern.match(k)]
    if strange:
        raise ValueError(
            f"state_dict has keys that are not recurrent weights: {strange} (pass prefix= to select "
            "the recurrent part of a bigger model)"
        )
    w_ih = np.shape(state[prefix + "weight_ih_l0"])
    w_hh = np.shape(state[prefix + "weight_hh_l0"])
    w_hr = np.shape(state[prefix + "weight_hr_l0"]) if "weight_hr_l0" in keys else None  # (P, H): projections
    hidden = w_hr[1] if w_hr is not None and len(w_hr) == 2 else (w_hh[1] if len(w_hh) == 2 else 0)
    if (
        len(w_ih) != 2
        or len(w_hh) != 2
        or w_hh[0] != w_ih[0]
        or not hidden
        or w_hh[0] % hidden
        or (w_hr is not None and (len(w_hr) != 2 or w_hr[0] != w_hh[1]))
    ):
        raise ValueError(
            f"state_dict['weight_ih_l0'] and ['weight_hh_l0'] must be (G*H, I) and (G*H, H) with "
            f"G in 1, 4, 3 (or (4H, P) with weight_hr_l0 (P, H)), got {tuple(w_ih)} and {tuple(w_hh)}"
            + (f" and weight_hr_l0 {tuple(w_hr)}" if w_hr is not None else "")
        )
    factor = w_hh[0] // hidden
    by_gates = {cls.cell.num_gates: cls.cell for cls in LAYERS.values()}
    if factor not in by_gates:
        raise ValueError(
            f"state_dict['weight_hh_l0'] has {w_hh[0]} rows = {factor} x hidden_size {hidden}; "
            "expected 1 (RNN), 4 (LSTM) or 3 (GRU) times"
        )
    spec = by_gates[factor]
    if want is not None and want != spec:
        raise ValueError(
            f"cell={want.name!r} contradicts the state_dict, whose weight_hh_l0 {tuple(w_hh)} has gate "
            f"factor {factor} ({spec.title})"
        )
    num_layers = 1 + max(int(pattern.match(k).group(2)) for k in keys)
    kwargs = dict(
        input_size=w_ih[1],
        hidden_size=hidden,
        num_layers=num_layers,
        bias=("bias_ih_l0" in keys),
        bidirectional=("weight_ih_l0_reverse" in keys),
    )
    if w_hr is not None:
        kwargs["proj_size"] = w_hr[0]
    if "weight_ci_l0" in keys:
        kwargs["peepholes"] = True
    if ("proj_size" in kwargs or "peepholes" in kwargs) and "c" not in spec.states:
        raise ValueError(
            f"state_dict has weight_hr/weight_c* entries, which only an LSTM has, but its gate factor "
            f"{factor} is a {spec.title}'s"
        )
    return state, spec, kwargs


def to_torch_state_dict(layer):
    """The parameters of a minirnn RNN/LSTM/GRU as a PyTorch ``state_dict`` (an OrderedDict of CPU tensors,
    copies).

    Loads into the ``torch.nn`` twin built with the same constructor arguments (see :func:`to_torch`).

    Example:
        >>> import torch
        >>> gru = GRU(10, 20, seed=0)
        >>> sd = to_torch_state_dict(gru)
        >>> list(sd)[:2], tuple(sd["weight_hh_l0"].shape)
        (['weight_ih_l0', 'weight_hh_l0'], (60, 20))
    """
    import collections

    import torch

    cell_of(layer)  # any cell: these are named arrays, PyTorch-style
    return collections.OrderedDict((k, torch.from_numpy(v.copy())) for k, v in layer.params.items())


def to_torch(layer):
    """A ``torch.nn.RNN/LSTM/GRU`` with the constructor arguments and the weights of a minirnn layer.

    Example:
        >>> lstm = LSTM(10, 20, num_layers=2, batch_first=True, seed=0)
        >>> to_torch(lstm)
        LSTM(10, 20, num_layers=2, batch_first=True)
        >>> to_torch(LSTM(10, 20, proj_size=5))
        LSTM(10, 20, proj_size=5)
    """
    import torch

    spec = cell_of(layer, framework="torch")
    kwargs = dict(
        num_layers=layer.num_layers,
        bias=layer.bias,
        batch_first=layer.batch_first,
        dropout=layer.dropout,
        bidirectional=layer.bidirectional,
        **layer.options,
        dtype=torch.float64 if layer.dtype == np.float64 else torch.float32,
    )
    if layer.proj_size:
        kwargs["proj_size"] = layer.proj_size
    module = getattr(torch.nn, spec.torch_class)(layer.input_size, layer.hidden_size, **kwargs)
    module.load_state_dict(to_torch_state_dict(layer))
    return module
