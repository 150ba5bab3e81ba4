"""Weights in and out: PyTorch modules and state_dicts, Keras SimpleRNN/LSTM/GRU layers and classifier models.

This file only moves and reorders arrays; it computes nothing. PyTorch's layout is minirnn's own (weight names, gate
order, two biases), so the torch direction is a copy. Keras differs in four ways, each handled here:

    kernel          Keras (in, G*H)      -> minirnn W_ih = kernel.T            (G*H, in)
    recurrent       Keras (H, G*H)       -> minirnn W_hh = recurrent_kernel.T  (G*H, H)
    bias            SimpleRNN, LSTM: one bias (G*H,) -> b_ih = bias, b_hh = 0  (exporting writes b_ih + b_hh)
                    GRU (reset_after=True): (2, 3H) = [input bias, recurrent bias] -> b_ih, b_hh exactly
    gate order      LSTM i, f, c, o = PyTorch's i, f, g, o;  GRU z, r, h -> PyTorch r, z, n (blocks swapped)

A Keras GRU with ``reset_after=False`` (the original Cho et al. cell, n = tanh(x W_in + (r * h) W_hn + b_n)) applies the
reset gate before the recurrent product; no choice of PyTorch-style weights reproduces it, so it is refused.

Variable lengths in Keras come from a ``Masking`` layer (or ``mask=``). Keras skips masked steps and carries the state,
like ``pack_padded_sequence``, so final states agree. What differs is the output at masked steps of a
``return_sequences=True`` layer: Keras (default ``zero_output_for_mask=False``) REPEATS the last real output there,
minirnn and PyTorch write zeros. Only real steps and final states are comparable; the models below use only those.

Entry points:

    layer = from_torch(nn_lstm_or_state_dict, cell=None, ...)      state = to_torch_state_dict(layer)
    layer = from_keras(keras_layer or [stacked keras layers])       weights = to_keras_weights(layer)
    model = classifier_from_keras(keras_model)                      keras_layers = to_keras(layer)

A whole PyTorch classifier needs no function: ``SequenceClassifier.load_state_dict(torch_model.state_dict())``.
torch and keras are imported only inside the functions that need them (they are test extras, not dependencies).
"""
from __future__ import annotations

import re

import numpy as np

from ..nn.linear import Linear
from ..nn.recurrent import GRU, LSTM, RNN

_KINDS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
_GATES = {"rnn": 1, "lstm": 4, "gru": 3}
_TORCH_MODES = {"RNN_TANH": ("rnn", "tanh"), "RNN_RELU": ("rnn", "relu"), "LSTM": ("lstm", None), "GRU": ("gru", None)}


# -- small helpers -----------------------------------------------------------------------------------------------------
def _to_numpy(value, where):
    """A torch tensor or array-like -> a NumPy float array (a copy)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    value = np.array(value)
    if value.dtype not in (np.float32, np.float64):
        raise TypeError(f"{where} must be a float32 or float64 array, got dtype {value.dtype}")
    return value


def _kind_of(layer, where="layer"):
    """'rnn' | 'lstm' | 'gru' for a minirnn layer (GRU is a subclass of RNN: test it first)."""
    for kind, cls in (("gru", GRU), ("lstm", LSTM), ("rnn", RNN)):
        if isinstance(layer, cls):
            return kind
    raise TypeError(f"{where} must be a minirnn RNN, LSTM or GRU layer, got {type(layer).__name__}")


def _parse_cell(cell):
    """cell given as 'rnn'/'lstm'/'gru' (any case) or the class minirnn.RNN/LSTM/GRU -> the kind, or None."""
    if cell is None:
        return None
    if isinstance(cell, type):
        for kind, cls in _KINDS.items():
            if cell is cls:
                return kind
    elif isinstance(cell, str) and cell.lower() in _KINDS:
        return cell.lower()
    raise ValueError(f"cell must be one of 'rnn', 'lstm', 'gru' (or minirnn.RNN/LSTM/GRU), got {cell!r}")


def _swap_gru_blocks(a, H, axis=0):
    """Swap the first two H-blocks along ``axis``: Keras' z, r, h <-> PyTorch's r, z, n (its own inverse)."""
    a = np.moveaxis(a, axis, 0)
    out = np.concatenate([a[H:2 * H], a[:H], a[2 * H:]], axis=0)
    return np.moveaxis(out, 0, axis)


# -- PyTorch -----------------------------------------------------------------------------------------------------------
def from_torch(module_or_state_dict, cell=None, *, batch_first=None, nonlinearity=None, dropout=None, prefix="",
               dtype=None, seed=None, backend="auto"):
    """A minirnn RNN/LSTM/GRU with the weights (and, from a module, the constructor arguments) of a PyTorch one.

    From an ``nn.RNN/LSTM/GRU`` module everything is read off the module: cell, input_size, hidden_size, num_layers,
    bias, batch_first, bidirectional, nonlinearity, dropout; the dtype is that of the weights. From a ``state_dict``
    (tensors or arrays) the sizes are read off the shapes: ``weight_ih_l0`` is (G*H, I), ``weight_hh_l0`` (G*H, H), and
    the gate factor G = 1, 4, 3 names the cell (RNN, LSTM, GRU). A state_dict does not record ``batch_first``,
    ``dropout`` or an RNN's ``nonlinearity``: pass them (defaults False, 0.0, "tanh").

    Args:
        module_or_state_dict: ``torch.nn.RNN/LSTM/GRU``, or a dict name -> tensor/array with PyTorch's names.
        cell: optional 'rnn' | 'lstm' | 'gru' (or the minirnn class); checked against the module or the shapes.
        batch_first, nonlinearity, dropout: override (module) or supply (state_dict) these constructor arguments.
        prefix: a key prefix to strip from a state_dict, e.g. ``"rnn."`` for the recurrent part of a whole model.
        dtype: the minirnn dtype (default: the weights' dtype, float32 or float64).
        seed, backend: passed to the minirnn layer (``seed`` only seeds dropout here: all weights are loaded).
    Returns:
        a minirnn ``RNN``, ``LSTM`` or ``GRU``.
    Raises:
        ValueError for ``proj_size > 0`` (an LSTM with projections, which minirnn does not have), missing or
        inconsistent keys and shapes, or a ``cell`` that contradicts the weights; TypeError for anything else.

    Example:
        >>> import torch
        >>> t = torch.nn.LSTM(10, 20, num_layers=2, batch_first=True, dtype=torch.float64)
        >>> lstm = from_torch(t)
        >>> lstm
        LSTM(10, 20, num_layers=2, batch_first=True)
        >>> from_torch(t.state_dict(), batch_first=True).hidden_size
        20
    """
    want = _parse_cell(cell)
    source = module_or_state_dict
    if hasattr(source, "mode") and hasattr(source, "state_dict") and hasattr(source, "hidden_size"):
        if getattr(source, "proj_size", 0):
            raise ValueError(f"module has proj_size={source.proj_size}: LSTMs with projections are not supported "
                             "by minirnn (its LSTM has h of size hidden_size); build the torch LSTM with proj_size=0")
        if source.mode not in _TORCH_MODES:
            raise ValueError(f"module has unknown mode {source.mode!r}; expected one of {tuple(_TORCH_MODES)}")
        kind, torch_nonlinearity = _TORCH_MODES[source.mode]
        if want is not None and want != kind:
            raise ValueError(f"cell={cell!r} contradicts the module, which is a {type(source).__name__}")
        state = source.state_dict()
        kwargs = dict(input_size=source.input_size, hidden_size=source.hidden_size, num_layers=source.num_layers,
                      bias=bool(source.bias), bidirectional=bool(source.bidirectional),
                      batch_first=bool(source.batch_first) if batch_first is None else batch_first,
                      dropout=float(source.dropout) if dropout is None else dropout)
        if kind == "rnn":
            kwargs["nonlinearity"] = torch_nonlinearity if nonlinearity is None else nonlinearity
        prefix = ""
    elif isinstance(source, dict):
        state, kind, kwargs = _read_torch_state_dict(source, want, prefix)
        kwargs.update(batch_first=bool(batch_first), dropout=0.0 if dropout is None else dropout)
        if kind == "rnn":
            kwargs["nonlinearity"] = "tanh" if nonlinearity is None else nonlinearity
    else:
        raise TypeError("module_or_state_dict must be a torch.nn.RNN/LSTM/GRU or a state_dict (dict of name -> "
                        f"tensor), got {type(source).__name__}")
    if nonlinearity is not None and kind != "rnn":
        raise ValueError(f"nonlinearity applies to an RNN only, got nonlinearity={nonlinearity!r} for a {kind.upper()}")
    arrays = {k[len(prefix):]: _to_numpy(v, f"state_dict[{k!r}]") for k, v in state.items() if k.startswith(prefix)}
    if dtype is None:
        dtype = arrays["weight_ih_l0"].dtype
    layer = _KINDS[kind](**kwargs, dtype=dtype, seed=seed, backend=backend)
    layer.load_state_dict({k: v.astype(layer.dtype) for k, v in arrays.items()})
    return layer


def _read_torch_state_dict(state, want, prefix):
    """Sizes and cell kind from the shapes of a PyTorch recurrent state_dict; returns (state, kind, kwargs)."""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a string, got {type(prefix).__name__}")
    keys = [k[len(prefix):] for k in state if isinstance(k, str) and k.startswith(prefix)]
    if any(k.startswith("weight_hr_l") for k in keys):
        raise ValueError("state_dict has weight_hr_l* entries (an LSTM with proj_size > 0): LSTMs with projections "
                         "are not supported by minirnn")
    pattern = re.compile(r"^(weight_ih|weight_hh|bias_ih|bias_hh)_l(\d+)(_reverse)?$")
    if "weight_ih_l0" not in keys or "weight_hh_l0" not in keys:
        raise ValueError(f"state_dict must hold PyTorch recurrent weights 'weight_ih_l0' and 'weight_hh_l0' "
                         f"(after prefix {prefix!r}), got keys {sorted(keys)[:8]}")
    strange = [k for k in keys if not pattern.match(k)]
    if strange:
        raise ValueError(f"state_dict has keys that are not recurrent weights: {strange} (pass prefix= to select "
                         "the recurrent part of a bigger model)")
    w_ih = np.shape(state[prefix + "weight_ih_l0"])
    w_hh = np.shape(state[prefix + "weight_hh_l0"])
    if len(w_ih) != 2 or len(w_hh) != 2 or w_hh[0] != w_ih[0] or w_hh[0] % w_hh[1]:
        raise ValueError(f"state_dict['weight_ih_l0'] and ['weight_hh_l0'] must be (G*H, I) and (G*H, H) with "
                         f"G in 1, 4, 3, got {tuple(w_ih)} and {tuple(w_hh)}")
    hidden, factor = w_hh[1], w_hh[0] // w_hh[1]
    kinds = {g: k for k, g in _GATES.items()}
    if factor not in kinds:
        raise ValueError(f"state_dict['weight_hh_l0'] has {w_hh[0]} rows = {factor} x hidden_size {hidden}; "
                         "expected 1 (RNN), 4 (LSTM) or 3 (GRU) times")
    kind = kinds[factor]
    if want is not None and want != kind:
        raise ValueError(f"cell={want!r} contradicts the state_dict, whose weight_hh_l0 {tuple(w_hh)} has gate "
                         f"factor {factor} ({kind.upper()})")
    num_layers = 1 + max(int(pattern.match(k).group(2)) for k in keys)
    kwargs = dict(input_size=w_ih[1], hidden_size=hidden, num_layers=num_layers,
                  bias=("bias_ih_l0" in keys), bidirectional=("weight_ih_l0_reverse" in keys))
    return state, kind, kwargs


def to_torch_state_dict(layer):
    """The parameters of a minirnn RNN/LSTM/GRU as a PyTorch ``state_dict`` (an OrderedDict of CPU tensors, copies).

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
    _kind_of(layer)
    return collections.OrderedDict((k, torch.from_numpy(v.copy())) for k, v in layer.params.items())


def to_torch(layer):
    """A ``torch.nn.RNN/LSTM/GRU`` with the constructor arguments and the weights of a minirnn layer.

    Example:
        >>> lstm = LSTM(10, 20, num_layers=2, batch_first=True, seed=0)
        >>> to_torch(lstm)
        LSTM(10, 20, num_layers=2, batch_first=True)
    """
    import torch
    kind = _kind_of(layer)
    kwargs = dict(num_layers=layer.num_layers, bias=layer.bias, batch_first=layer.batch_first, dropout=layer.dropout,
                  bidirectional=layer.bidirectional,
                  dtype=torch.float64 if layer.dtype == np.float64 else torch.float32)
    if kind == "rnn":
        kwargs["nonlinearity"] = layer.nonlinearity
    cls = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[kind]
    module = cls(layer.input_size, layer.hidden_size, **kwargs)
    module.load_state_dict(to_torch_state_dict(layer))
    return module


# -- Keras -------------------------------------------------------------------------------------------------------------
_KERAS_KINDS = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}


def _keras_describe(keras_layer, where):
    """(kind, config, direction layers) of a Keras SimpleRNN/LSTM/GRU or Bidirectional; refuses what cannot map."""
    name = type(keras_layer).__name__
    if name == "Bidirectional" and type(keras_layer).__module__.startswith("keras"):
        config = keras_layer.get_config()
        if config.get("merge_mode") != "concat":
            raise ValueError(f"{where} is a Bidirectional with merge_mode={config.get('merge_mode')!r}; minirnn "
                             "concatenates forward then reverse features, so only merge_mode='concat' maps")
        forward, backward = keras_layer.forward_layer, keras_layer.backward_layer
        kind, fconf = _keras_describe_one(forward, f"{where}.forward_layer", allow_backwards=False)
        bkind, bconf = _keras_describe_one(backward, f"{where}.backward_layer", allow_backwards=True)
        if bkind != kind or bconf["units"] != fconf["units"] or bconf.get("use_bias") != fconf.get("use_bias") \
                or bconf.get("activation") != fconf.get("activation"):
            raise ValueError(f"{where} has different forward and backward layers; minirnn needs the same cell, units, "
                             "bias and activation in both directions")
        return kind, fconf, [forward, backward]
    kind, config = _keras_describe_one(keras_layer, where, allow_backwards=False)
    return kind, config, [keras_layer]


def _keras_describe_one(keras_layer, where, allow_backwards):
    name = type(keras_layer).__name__
    if name not in _KERAS_KINDS or not type(keras_layer).__module__.startswith("keras"):
        raise TypeError(f"{where} must be a Keras SimpleRNN, LSTM, GRU or Bidirectional layer, got {name}")
    kind = _KERAS_KINDS[name]
    config = keras_layer.get_config()
    if not keras_layer.built:
        raise ValueError(f"{where} ({name}) has no weights yet; build it (call it once or layer.build(input_shape))")
    if config.get("go_backwards") and not allow_backwards:
        raise ValueError(f"{where} has go_backwards=True; minirnn has no backwards-only layer (use a Bidirectional "
                         "wrapper, which maps to bidirectional=True, or reverse the sequences yourself)")
    if config.get("stateful"):
        raise ValueError(f"{where} has stateful=True; minirnn layers start every batch from the given h0")
    activation = config.get("activation")
    if kind == "rnn":
        if activation not in ("tanh", "relu"):
            raise ValueError(f"{where} has activation={activation!r}; minirnn's RNN supports 'tanh' and 'relu'")
    else:
        if activation != "tanh" or config.get("recurrent_activation") != "sigmoid":
            raise ValueError(f"{where} has activation={activation!r} and recurrent_activation="
                             f"{config.get('recurrent_activation')!r}; minirnn's {kind.upper()} is the standard cell "
                             "with 'tanh' and 'sigmoid'")
    if kind == "gru" and not config.get("reset_after", True):
        raise ValueError(f"{where} is a GRU with reset_after=False: that cell applies the reset gate before the "
                         "recurrent product, n = tanh(x W_in + (r * h) W_hn + b_n), while minirnn and PyTorch compute "
                         "n = tanh(x W_in + b_in + r * (h W_hn + b_hn)); no weights make them equal. Use "
                         "reset_after=True (the Keras 2+ default)")
    return kind, config


def _keras_weights_to_params(kind, weights, H, use_bias, suffix):
    """One Keras direction's get_weights() list -> minirnn params {name: array} for layer/direction ``suffix``."""
    kernel, recurrent = weights[0], weights[1]
    W_ih, W_hh = kernel.T, recurrent.T                                       # (G*H, in), (G*H, H)
    params = {}
    if kind == "gru":
        W_ih, W_hh = _swap_gru_blocks(W_ih, H), _swap_gru_blocks(W_hh, H)
    params[f"weight_ih_{suffix}"], params[f"weight_hh_{suffix}"] = W_ih, W_hh
    if use_bias:
        bias = weights[2]
        if kind == "gru":
            b_ih, b_hh = _swap_gru_blocks(bias[0], H), _swap_gru_blocks(bias[1], H)
        else:
            b_ih, b_hh = bias, np.zeros_like(bias)
        params[f"bias_ih_{suffix}"], params[f"bias_hh_{suffix}"] = b_ih, b_hh
    return {k: np.ascontiguousarray(v) for k, v in params.items()}


def from_keras(keras_layer, *, batch_first=True, dtype=None, seed=None, backend="auto"):
    """A minirnn RNN/LSTM/GRU with the weights of a built Keras SimpleRNN/LSTM/GRU (or a stack of them).

    ``keras_layer`` may be one layer, a ``Bidirectional`` wrapper (merge_mode 'concat'; maps to bidirectional=True),
    or a list of such layers stacked one on the next (each but the last with ``return_sequences=True``), which maps to
    ``num_layers=len(list)``. SimpleRNN and LSTM have one bias: it becomes ``bias_ih`` and ``bias_hh`` is zero. GRU
    needs ``reset_after=True`` (see the module docstring for why ``reset_after=False`` is refused). Keras dropout and
    recurrent_dropout act only in training and are not carried over (the minirnn layer has dropout=0).

    Args:
        keras_layer: a built Keras layer, or a list of them.
        batch_first: the minirnn layer's layout (default True, Keras' layout).
        dtype: default the weights' dtype (Keras' default float32).
        seed, backend: passed to the minirnn layer.
    Returns:
        a minirnn ``RNN``, ``LSTM`` or ``GRU``.

    Example:
        >>> import keras
        >>> k = keras.layers.LSTM(20); k.build((None, None, 10))
        >>> from_keras(k)
        LSTM(10, 20, batch_first=True, dtype=np.float32)
    """
    stack = list(keras_layer) if isinstance(keras_layer, (list, tuple)) else [keras_layer]
    if not stack:
        raise ValueError("keras_layer must be a Keras recurrent layer or a non-empty list of them, got an empty list")
    described = [_keras_describe(layer, f"keras_layer[{k}]" if len(stack) > 1 else "keras_layer")
                 for k, layer in enumerate(stack)]
    kind, config, _ = described[0]
    H, use_bias, D = config["units"], bool(config.get("use_bias", True)), len(described[0][2])
    for k, (kind_k, config_k, dirs_k) in enumerate(described):
        if (kind_k, config_k["units"], bool(config_k.get("use_bias", True)), len(dirs_k),
                config_k.get("activation")) != (kind, H, use_bias, D, config.get("activation")):
            raise ValueError(f"keras_layer[{k}] differs from keras_layer[0] in cell, units, use_bias, activation or "
                             "direction; a minirnn stack has one of each for all layers")
    params = {}
    for k, (_, _, directions) in enumerate(described):
        for d, direction in enumerate(directions):
            suffix = f"l{k}" + ("_reverse" if d == 1 else "")
            params.update(_keras_weights_to_params(kind, direction.get_weights(), H, use_bias, suffix))
    input_size = params["weight_ih_l0"].shape[1]
    for k in range(1, len(stack)):
        if params[f"weight_ih_l{k}"].shape[1] != D * H:
            raise ValueError(f"keras_layer[{k}] takes {params[f'weight_ih_l{k}'].shape[1]} input features, but the "
                             f"layer below it gives {D * H}")
    kwargs = dict(num_layers=len(stack), bias=use_bias, batch_first=batch_first, bidirectional=(D == 2))
    if kind == "rnn":
        kwargs["nonlinearity"] = config["activation"]
    layer = _KINDS[kind](input_size, H, **kwargs, dtype=dtype or params["weight_ih_l0"].dtype, seed=seed,
                         backend=backend)
    layer.load_state_dict(params)
    return layer


def _params_to_keras_weights(kind, params, H, bias, suffix):
    """The inverse of ``_keras_weights_to_params`` for one layer/direction (biases merged for SimpleRNN and LSTM)."""
    W_ih, W_hh = params[f"weight_ih_{suffix}"], params[f"weight_hh_{suffix}"]
    if kind == "gru":
        W_ih, W_hh = _swap_gru_blocks(W_ih, H), _swap_gru_blocks(W_hh, H)
    weights = [W_ih.T.copy(), W_hh.T.copy()]                                 # (in, G*H), (H, G*H)
    if bias:
        b_ih, b_hh = params[f"bias_ih_{suffix}"], params[f"bias_hh_{suffix}"]
        if kind == "gru":
            weights.append(np.stack([_swap_gru_blocks(b_ih, H), _swap_gru_blocks(b_hh, H)]))   # (2, 3H)
        else:
            weights.append(b_ih + b_hh)                                      # Keras has one bias: the sum
    return weights


def to_keras_weights(layer):
    """The weights of a minirnn RNN/LSTM/GRU as Keras ``get_weights()`` lists, one list per stacked layer.

    Entry k fits ``keras_layers[k].set_weights(...)`` for the Keras SimpleRNN/LSTM/GRU (GRU with reset_after=True) of
    the same units, or for a ``Bidirectional`` wrapper (forward weights, then backward) when the layer is bidirectional.
    SimpleRNN and LSTM have a single bias: this exports ``bias_ih + bias_hh``. The network computes the same function,
    but importing it back gives ``bias_ih`` = the sum and ``bias_hh`` = 0 (exact for GRU, whose two biases Keras keeps).

    Example:
        >>> lstm = LSTM(10, 20, num_layers=2, seed=0)
        >>> [[w.shape for w in ws] for ws in to_keras_weights(lstm)]
        [[(10, 80), (20, 80), (80,)], [(20, 80), (20, 80), (80,)]]
    """
    kind = _kind_of(layer)
    params = layer.params
    out = []
    for k in range(layer.num_layers):
        weights = []
        for d in range(layer.num_directions):
            suffix = f"l{k}" + ("_reverse" if d == 1 else "")
            weights += _params_to_keras_weights(kind, params, layer.hidden_size, layer.bias, suffix)
        out.append(weights)
    return out


def to_keras(layer, *, return_sequences=False):
    """Built Keras layers (one per stacked layer) with a minirnn layer's weights, ready to stack in a Keras model.

    Every layer but the last has ``return_sequences=True``; the last has the given ``return_sequences``. A
    bidirectional layer becomes ``Bidirectional(..., merge_mode="concat")``. The Keras layers compute in the minirnn
    layer's dtype. See :func:`to_keras_weights` for the bias merge.

    Example:
        >>> gru = GRU(10, 20, num_layers=2, seed=0)
        >>> [type(k).__name__ for k in to_keras(gru)]
        ['GRU', 'GRU']
    """
    import keras
    kind = _kind_of(layer)
    dtype = str(layer.dtype)
    out, input_size = [], layer.input_size
    for k, weights in enumerate(to_keras_weights(layer)):
        last = k == layer.num_layers - 1
        kwargs = dict(return_sequences=(return_sequences if last else True), use_bias=layer.bias, dtype=dtype)
        if kind == "rnn":
            make = lambda **kw: keras.layers.SimpleRNN(layer.hidden_size, activation=layer.nonlinearity, **kw)
        elif kind == "lstm":
            make = lambda **kw: keras.layers.LSTM(layer.hidden_size, **kw)
        else:
            make = lambda **kw: keras.layers.GRU(layer.hidden_size, reset_after=True, **kw)
        keras_layer = make(**kwargs)
        if layer.bidirectional:
            keras_layer = keras.layers.Bidirectional(keras_layer, merge_mode="concat", dtype=dtype)
        keras_layer.build((None, None, input_size))
        keras_layer.set_weights(weights)
        out.append(keras_layer)
        input_size = layer.num_directions * layer.hidden_size
    return out


def classifier_from_keras(keras_model, *, dtype=None, seed=None, backend="auto"):
    """A minirnn ``SequenceClassifier`` with the weights of a Keras classifier: recurrent layers, then one Dense.

    The Keras model's layers must be (ignoring InputLayer, Masking and Dropout) one or more SimpleRNN/LSTM/GRU or
    Bidirectional layers stacked, then a ``Dense`` with linear activation on the last output, as the tutorial's
    ``RNNModel``/``LSTMModel``/``GRUModel``. Dense's kernel (in, C) becomes ``fc.weight`` (C, in).

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((None, 10)), keras.layers.GRU(20), keras.layers.Dense(3)])
        >>> classifier_from_keras(m)
        SequenceClassifier('gru', 10, 20, 3, dtype=np.float32)
    """
    from ..models.classifier import SequenceClassifier
    if not hasattr(keras_model, "layers"):
        raise TypeError(f"keras_model must be a Keras Model or Sequential, got {type(keras_model).__name__}")
    layers = [lay for lay in keras_model.layers if type(lay).__name__ not in ("InputLayer", "Masking", "Dropout")]
    if len(layers) < 2 or type(layers[-1]).__name__ != "Dense":
        raise ValueError("keras_model must be recurrent layers followed by one Dense layer, got "
                         f"{[type(lay).__name__ for lay in keras_model.layers]}")
    dense = layers[-1]
    if dense.get_config().get("activation") not in ("linear", None):
        raise ValueError(f"keras_model's Dense layer has activation={dense.get_config()['activation']!r}; "
                         "SequenceClassifier returns logits, so the Dense layer must be linear")
    rnn = from_keras(layers[:-1], batch_first=True, dtype=dtype, seed=seed, backend=backend)
    kernel, *bias = dense.get_weights()
    cell = _kind_of(rnn)
    model = SequenceClassifier(cell, rnn.input_size, rnn.hidden_size, kernel.shape[1], num_layers=rnn.num_layers,
                               bidirectional=rnn.bidirectional, bias=rnn.bias, fc_bias=bool(bias),
                               nonlinearity=rnn.nonlinearity, dtype=rnn.dtype, seed=seed, backend=backend)
    state = {f"rnn.{k}": v for k, v in rnn.params.items()}
    state["fc.weight"] = kernel.T
    if bias:
        state["fc.bias"] = bias[0]
    model.load_state_dict(state)
    return model
