"""Keras weights in and out: SimpleRNN/LSTM/GRU layers, Bidirectional wrappers, stacks and classifier models.
keras is imported only inside the functions that need it; see ``minirnn/interop/__init__.py`` for the
mapping."""

from __future__ import annotations

import numpy as np

from ..cells import registry
from ..nn.merge import MERGE_MODES, merged_size
from ..nn.recurrent import GRU, LAYERS, LSTM, layer_for  # noqa: F401 (GRU, LSTM: the docstring examples)
from ._common import cell_of, parse_cell, reorder_blocks


def _keras_describe(keras_layer, where):
    """(kind, config, direction layers) of a Keras SimpleRNN/LSTM/GRU or Bidirectional; refuses what cannot
    map."""
    name = type(keras_layer).__name__
    if name == "Bidirectional" and type(keras_layer).__module__.startswith("keras"):
        config = keras_layer.get_config()
        if config.get("merge_mode") not in MERGE_MODES:
            raise ValueError(
                f"{where} is a Bidirectional with merge_mode={config.get('merge_mode')!r}; minirnn "
                f"merges the two directions with one of {MERGE_MODES}"
            )
        forward, backward = keras_layer.forward_layer, keras_layer.backward_layer
        kind, fconf = _keras_describe_one(forward, f"{where}.forward_layer", allow_backwards=False)
        bkind, bconf = _keras_describe_one(backward, f"{where}.backward_layer", allow_backwards=True)
        if (
            bkind is not kind
            or bconf["units"] != fconf["units"]
            or bconf.get("use_bias") != fconf.get("use_bias")
            or bconf.get("activation") != fconf.get("activation")
            or bconf.get("recurrent_dropout") != fconf.get("recurrent_dropout")
        ):
            raise ValueError(
                f"{where} has different forward and backward layers; minirnn needs the same cell, units, "
                "bias, activation and recurrent_dropout in both directions"
            )
        return kind, {**fconf, "merge_mode": config["merge_mode"]}, [forward, backward]
    kind, config = _keras_describe_one(keras_layer, where, allow_backwards=False)
    return kind, config, [keras_layer]


def _keras_describe_one(keras_layer, where, allow_backwards):
    name = type(keras_layer).__name__
    if name not in {cell.keras_class for cell in registry.CELLS.values() if cell.keras_class} or not type(
        keras_layer
    ).__module__.startswith("keras"):
        raise TypeError(f"{where} must be a Keras SimpleRNN, LSTM, GRU or Bidirectional layer, got {name}")
    config = keras_layer.get_config()
    kind = next(
        cell
        for cell in registry.CELLS.values()
        if cell.keras_class == name  # GRU: by reset_after
        and all(config.get(key, value) == value for key, value in cell.keras_options.items())
    )
    if not keras_layer.built:
        raise ValueError(
            f"{where} ({name}) has no weights yet; build it (call it once or layer.build(input_shape))"
        )
    if config.get("go_backwards") and not allow_backwards:
        raise ValueError(
            f"{where} has go_backwards=True; minirnn has no backwards-only layer (use a Bidirectional "
            "wrapper, which maps to bidirectional=True, or reverse the sequences yourself)"
        )
    if config.get("stateful"):
        raise ValueError(f"{where} has stateful=True; minirnn layers start every batch from the given h0")
    activation = config.get("activation")
    if "nonlinearity" in kind.options:  # SimpleRNN: activation is ours to choose
        if activation not in kind.options["nonlinearity"]:
            raise ValueError(
                f"{where} has activation={activation!r}; minirnn's RNN supports 'tanh' and 'relu'"
            )
    elif activation != "tanh" or config.get("recurrent_activation") != "sigmoid":
        raise ValueError(
            f"{where} has activation={activation!r} and recurrent_activation="
            f"{config.get('recurrent_activation')!r}; minirnn's {kind.title} is the standard cell "
            "with 'tanh' and 'sigmoid'"
        )
    return kind, config


def keras_weights_to_params(cell, weights, H, use_bias, suffix):
    """One Keras direction's get_weights() list -> minirnn params {name: array} for layer/direction
    ``suffix``.

    ``cell`` is a registry cell or its name. Keras' kernels are the transposes, its gate blocks in
    ``cell.keras_gates`` order, and its bias one vector (``keras_biases == 1``: b_ih, with b_hh = 0) or both.
    """
    cell = parse_cell(cell)
    order = (cell.keras_gates, cell.gates)
    W_ih, W_hh = weights[0].T, weights[1].T  # (G*H, in), (G*H, H)
    params = {
        f"weight_ih_{suffix}": reorder_blocks(W_ih, *order, H),
        f"weight_hh_{suffix}": reorder_blocks(W_hh, *order, H),
    }
    if use_bias:
        bias = weights[2]
        if cell.keras_biases == 2:
            b_ih, b_hh = reorder_blocks(bias[0], *order, H), reorder_blocks(bias[1], *order, H)
        else:
            b_ih, b_hh = reorder_blocks(bias, *order, H), np.zeros_like(bias)
        params[f"bias_ih_{suffix}"], params[f"bias_hh_{suffix}"] = b_ih, b_hh
    return {k: np.ascontiguousarray(v) for k, v in params.items()}


def from_keras(keras_layer, *, batch_first=True, dtype=None, seed=None, backend="auto"):
    """A minirnn RNN/LSTM/GRU with the weights of a built Keras SimpleRNN/LSTM/GRU (or a stack of them).

    ``keras_layer`` may be one layer, a ``Bidirectional`` wrapper (any merge_mode of 'concat', 'sum', 'mul',
    'ave'; maps to bidirectional=True with that merge_mode),
    or a list of such layers stacked one on the next (each but the last with ``return_sequences=True``),
    which maps to ``num_layers=len(list)``. SimpleRNN and LSTM have one bias: it becomes ``bias_ih`` and
    ``bias_hh`` is zero. A GRU with ``reset_after=False`` becomes ``minirnn.GRU(..., reset_after=False)``, its
    one bias ``bias_ih``. Keras' ``recurrent_dropout`` carries over (minirnn draws one mask for all gate
    blocks, Keras one per block: the
    same at evaluation, and in training with the blocks' masks equal); Keras' input ``dropout`` does not (it
    acts on every layer's input, minirnn's ``dropout`` between layers).

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
        raise ValueError(
            "keras_layer must be a Keras recurrent layer or a non-empty list of them, got an empty list"
        )
    described = [
        _keras_describe(layer, f"keras_layer[{k}]" if len(stack) > 1 else "keras_layer")
        for k, layer in enumerate(stack)
    ]
    kind, config, _ = described[0]
    H, use_bias, D = config["units"], bool(config.get("use_bias", True)), len(described[0][2])
    shared = ("activation", "recurrent_dropout", "merge_mode")
    for k, (kind_k, config_k, dirs_k) in enumerate(described):
        if (
            kind_k,
            config_k["units"],
            bool(config_k.get("use_bias", True)),
            len(dirs_k),
            *(config_k.get(key) for key in shared),
        ) != (kind, H, use_bias, D, *(config.get(key) for key in shared)):
            raise ValueError(
                f"keras_layer[{k}] differs from keras_layer[0] in cell, units, use_bias, activation, "
                "recurrent_dropout, merge_mode or direction; a minirnn stack has one of each for all layers"
            )
    params = {}
    for k, (_, _, directions) in enumerate(described):
        for d, direction in enumerate(directions):
            suffix = f"l{k}" + ("_reverse" if d == 1 else "")
            params.update(keras_weights_to_params(kind, direction.get_weights(), H, use_bias, suffix))
    input_size = params["weight_ih_l0"].shape[1]
    merge_mode = config.get("merge_mode", "concat")
    for k in range(1, len(stack)):
        if params[f"weight_ih_l{k}"].shape[1] != merged_size(H, D, merge_mode):
            raise ValueError(
                f"keras_layer[{k}] takes {params[f'weight_ih_l{k}'].shape[1]} input features, but the "
                f"layer below it gives {merged_size(H, D, merge_mode)}"
            )
    kwargs = dict(
        num_layers=len(stack),
        bias=use_bias,
        batch_first=batch_first,
        bidirectional=(D == 2),
        merge_mode=merge_mode,
        recurrent_dropout=float(config.get("recurrent_dropout", 0.0)),
    )
    if "nonlinearity" in kind.options:
        kwargs["nonlinearity"] = config["activation"]
    layer = layer_for(
        kind, input_size, H, **kwargs, dtype=dtype or params["weight_ih_l0"].dtype, seed=seed, backend=backend
    )
    layer.load_state_dict(params)
    return layer


def _params_to_keras_weights(cell, params, H, bias, suffix):
    """The inverse of :func:`keras_weights_to_params` for one layer/direction (one bias: the sum b_ih +
    b_hh)."""
    order = (cell.gates, cell.keras_gates)
    W_ih = reorder_blocks(params[f"weight_ih_{suffix}"], *order, H)
    W_hh = reorder_blocks(params[f"weight_hh_{suffix}"], *order, H)
    weights = [W_ih.T.copy(), W_hh.T.copy()]  # (in, G*H), (H, G*H)
    if bias:
        b_ih = reorder_blocks(params[f"bias_ih_{suffix}"], *order, H)
        b_hh = reorder_blocks(params[f"bias_hh_{suffix}"], *order, H)
        if cell.keras_biases == 2:
            weights.append(np.stack([b_ih, b_hh]))  # (2, G*H)
        else:
            weights.append(b_ih + b_hh)  # Keras has one bias: the sum
    return weights


def to_keras_weights(layer):
    """The weights of a minirnn RNN/LSTM/GRU as Keras ``get_weights()`` lists, one list per stacked layer.

    Entry k fits ``keras_layers[k].set_weights(...)`` for the Keras SimpleRNN/LSTM/GRU (GRU: the layer's
    reset_after) of the same units, or for a ``Bidirectional`` wrapper (forward weights, then backward) when
    the layer is bidirectional.
    SimpleRNN and LSTM have a single bias: this exports ``bias_ih + bias_hh``. The network computes the same
    function, but importing it back gives ``bias_ih`` = the sum and ``bias_hh`` = 0 (exact for GRU, whose two
    biases Keras keeps).

    Example:
        >>> lstm = LSTM(10, 20, num_layers=2, seed=0)
        >>> [[w.shape for w in ws] for ws in to_keras_weights(lstm)]
        [[(10, 80), (20, 80), (80,)], [(20, 80), (20, 80), (80,)]]
    """
    kind = cell_of(layer, framework="keras")
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
    """Built Keras layers (one per stacked layer) with a minirnn layer's weights, ready to stack in a Keras
    model.

    Every layer but the last has ``return_sequences=True``; the last has the given ``return_sequences``. A
    bidirectional layer becomes ``Bidirectional(..., merge_mode=layer.merge_mode)``; ``recurrent_dropout``
    carries over. The Keras layers compute in the minirnn layer's dtype. See :func:`to_keras_weights` for the
    bias merge.

    Example:
        >>> gru = GRU(10, 20, num_layers=2, seed=0)
        >>> [type(k).__name__ for k in to_keras(gru)]
        ['GRU', 'GRU']
    """
    import keras

    spec = cell_of(layer, framework="keras")
    dtype = str(layer.dtype)
    out, input_size = [], layer.input_size
    for k, weights in enumerate(to_keras_weights(layer)):
        last = k == layer.num_layers - 1
        kwargs = dict(
            return_sequences=(return_sequences if last else True),
            use_bias=layer.bias,
            dtype=dtype,
            recurrent_dropout=layer.recurrent_dropout,
        )
        if "nonlinearity" in layer.options:
            kwargs["activation"] = layer.options["nonlinearity"]
        kwargs.update(spec.keras_options)  # GRU: reset_after
        keras_layer = getattr(keras.layers, spec.keras_class)(layer.hidden_size, **kwargs)
        if layer.bidirectional:
            keras_layer = keras.layers.Bidirectional(keras_layer, merge_mode=layer.merge_mode, dtype=dtype)
        keras_layer.build((None, None, input_size))
        keras_layer.set_weights(weights)
        out.append(keras_layer)
        input_size = layer.output_size
    return out


def classifier_from_keras(keras_model, *, dtype=None, seed=None, backend="auto"):
    """A minirnn ``SequenceClassifier`` with the weights of a Keras classifier: recurrent layers, then one
    Dense.

    The Keras model's layers must be (ignoring InputLayer, Masking and Dropout) one or more
    SimpleRNN/LSTM/GRU or Bidirectional layers stacked, then a ``Dense`` with linear activation on the last
    output, as the tutorial's ``RNNModel``/``LSTMModel``/``GRUModel``. Dense's kernel (in, C) becomes
    ``fc.weight`` (C, in).

    Example:
        >>> import keras
        >>> m = keras.Sequential([keras.Input((None, 10)), keras.layers.GRU(20), keras.layers.Dense(3)])
        >>> classifier_from_keras(m)
        SequenceClassifier('gru', 10, 20, 3, dtype=np.float32)
    """
    from ..models.classifier import SequenceClassifier

    if not hasattr(keras_model, "layers"):
        raise TypeError(f"keras_model must be a Keras Model or Sequential, got {type(keras_model).__name__}")
    layers = [
        lay for lay in keras_model.layers if type(lay).__name__ not in ("InputLayer", "Masking", "Dropout")
    ]
    if len(layers) < 2 or type(layers[-1]).__name__ != "Dense":
        raise ValueError(
            "keras_model must be recurrent layers followed by one Dense layer, got "
            f"{[type(lay).__name__ for lay in keras_model.layers]}"
        )
    dense = layers[-1]
    if dense.get_config().get("activation") not in ("linear", None):
        raise ValueError(
            f"keras_model's Dense layer has activation={dense.get_config()['activation']!r}; "
            "SequenceClassifier returns logits, so the Dense layer must be linear"
        )
    rnn = from_keras(layers[:-1], batch_first=True, dtype=dtype, seed=seed, backend=backend)
    if cell_of(rnn).family:
        raise ValueError(
            f"keras_model's recurrent layers are a {cell_of(rnn).title}; SequenceClassifier builds the "
            "base cells only: load the recurrent part with interop.from_keras(keras_layers)"
        )
    if rnn.merge_mode != "concat":
        raise ValueError(
            f"keras_model's Bidirectional layers have merge_mode={rnn.merge_mode!r}; SequenceClassifier "
            "reads the two directions' final states side by side, so only merge_mode='concat' maps "
            "(minirnn.interop.from_keras imports the recurrent layers of any merge_mode)"
        )
    kernel, *bias = dense.get_weights()
    model = SequenceClassifier(
        cell_of(rnn).name,
        rnn.input_size,
        rnn.hidden_size,
        kernel.shape[1],
        num_layers=rnn.num_layers,
        bidirectional=rnn.bidirectional,
        bias=rnn.bias,
        fc_bias=bool(bias),
        dtype=rnn.dtype,
        seed=seed,
        backend=backend,
        **rnn.options,
    )
    state = {f"rnn.{k}": v for k, v in rnn.params.items()}
    state["fc.weight"] = kernel.T
    if bias:
        state["fc.bias"] = bias[0]
    model.load_state_dict(state)
    return model
