"""Classic models built from minirnn's layers. For now: the sequence classifier of the PyTorch/Keras
tutorials.

    model = SequenceClassifier("lstm", 10, 20, 3, num_layers=2, seed=0)
    logits = model(x, lengths=lengths)          # x (B, T, 10) -> logits (B, 3)
    dx = model.backward(dlogits)                # fills model.grads: rnn.weight_ih_l0, ..., fc.weight, fc.bias

``tutorial_model(name, framework)`` builds the minirnn twin of each of the tutorial's six models (PyTorch and
Keras ``RNNModel``, ``LSTMModel``, ``GRUModel``); ``examples/tutorial_models.py`` holds the originals and
compares them.
"""

from __future__ import annotations

import numpy as np

from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.recurrent import LAYERS, layer_class
from ..nn.validation import check_output_grad


class SequenceClassifier(Module):
    """A recurrent stack, then a Linear map from the features at each sequence's last real step to class
    logits.

        out, h_n = rnn(x, zeros, lengths)          h_n (L*D, B, H)
        features = [h_n[last layer, forward], h_n[last layer, reverse]]          (B, D*H)
        logits   = features fc.weight^T + fc.bias                                (B, C)

    For one direction, ``h_n`` of the last layer IS the output at the last real step, ``out[b, L_b - 1]``
    (and without lengths the tutorial's ``out[:, -1, :]``). For two directions it is the standard choice
    (PyTorch users take ``h_n[-2:]``, Keras' ``Bidirectional(return_sequences=False)`` returns the same): the
    forward direction's state after the last real step and the reverse direction's state after it has read the
    whole sequence back to step 0. Initial states are zero, as in the tutorial.

    Parameters are named like a PyTorch model with attributes ``rnn`` and ``fc`` (``rnn.weight_ih_l0``, ...,
    ``fc.weight``, ``fc.bias``), so such a model's ``state_dict()`` loads directly with ``load_state_dict``.

    Args:
        cell: "rnn" | "lstm" | "gru".  input_size (I), hidden_size (H), num_classes (C), num_layers (L),
        bidirectional (D = 2 if True), batch_first (default True, as in the tutorial), dropout (between
        recurrent layers, training only), nonlinearity (RNN only), bias (recurrent biases), fc_bias (the
        Linear's bias).
        dtype, seed, backend: as for the layers.

    Example:
        >>> model = SequenceClassifier("lstm", 10, 20, 3, num_layers=2, seed=0)
        >>> model
        SequenceClassifier('lstm', 10, 20, 3, num_layers=2)
        >>> x = np.random.default_rng(0).normal(size=(4, 7, 10))
        >>> logits = model(x, lengths=[7, 5, 3, 1])
        >>> logits.shape
        (4, 3)
        >>> dx = model.backward(np.ones_like(logits))
        >>> dx.shape, model.grads["rnn.weight_hh_l1"].shape, model.grads["fc.weight"].shape
        ((4, 7, 10), (80, 20), (3, 20))
    """

    def __init__(
        self,
        cell,
        input_size,
        hidden_size,
        num_classes,
        num_layers=1,
        bidirectional=False,
        batch_first=True,
        dropout=0.0,
        *,
        nonlinearity="tanh",
        bias=True,
        fc_bias=True,
        dtype=np.float64,
        seed=None,
        backend="auto",
    ):
        super().__init__()
        if not isinstance(cell, str) or cell.lower() not in LAYERS:
            raise ValueError(f"SequenceClassifier: cell must be one of {tuple(LAYERS)}, got {cell!r}")
        self.cell = cell.lower()
        layer = layer_class(self.cell)
        if "nonlinearity" not in layer.cell.options and nonlinearity != "tanh":
            raise ValueError(
                f"SequenceClassifier: nonlinearity applies to cell='rnn' only, got "
                f"nonlinearity={nonlinearity!r} with cell={self.cell!r}"
            )
        rnn_seed, fc_seed = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2))
        kwargs = dict(
            num_layers=num_layers,
            bias=bias,
            batch_first=batch_first,
            dropout=dropout,
            bidirectional=bidirectional,
            dtype=dtype,
            seed=rnn_seed,
            backend=backend,
        )
        kwargs.update({key: nonlinearity for key in layer.cell.options if key == "nonlinearity"})
        rnn = layer(input_size, hidden_size, **kwargs)
        fc = Linear(
            rnn.num_directions * rnn.hidden_size, num_classes, bias=fc_bias, dtype=rnn.dtype, seed=fc_seed
        )
        self._modules["rnn"], self._modules["fc"] = rnn, fc
        self.num_classes = fc.out_features
        self.fc_bias = bool(fc_bias)
        self._cache = None

    @property
    def rnn(self):
        """The recurrent stack (a minirnn RNN, LSTM or GRU)."""
        return self._modules["rnn"]

    @property
    def fc(self):
        """The Linear map from features (D*H) to logits (C)."""
        return self._modules["fc"]

    def __call__(self, x, lengths=None):
        """x (B, T, I) if batch_first else (T, B, I), or (T, I) unbatched; lengths (B,) in 1..T or None ->
        (B, C)."""
        rnn = self.rnn
        _, state = rnn(x, None, lengths=lengths)
        h_n = rnn.unpack_states(state)[0]  # (L*D, B, H): the h of (h_n, c_n) for an LSTM
        D = rnn.num_directions
        features = np.concatenate(list(h_n[-D:]), axis=-1)  # (B, D*H), or (D*H,) unbatched
        self._cache = {"h_n_shape": h_n.shape, "x_shape": np.shape(x)}
        return self.fc(features)

    forward = __call__

    def backward(self, dlogits):
        """dlogits (B, C), the gradient of the loss w.r.t. the logits -> dx like x; fills ``grads``
        (overwrites)."""
        if self._cache is None:
            raise RuntimeError("SequenceClassifier.backward called before a forward pass")
        rnn, D, H = self.rnn, self.rnn.num_directions, self.rnn.hidden_size
        dlogits = check_output_grad(
            dlogits, self.fc._cache.shape[:-1] + (self.num_classes,), rnn.dtype, "dlogits"
        )
        dfeatures = self.fc.backward(dlogits)  # (B, D*H)
        dh_n = np.zeros(self._cache["h_n_shape"], dtype=rnn.dtype)  # (L*D, B, H)
        for d in range(D):
            dh_n[dh_n.shape[0] - D + d] = dfeatures[..., d * H : (d + 1) * H]
        dout = np.zeros(
            self._cache["x_shape"][:-1] + (D * H,), dtype=rnn.dtype
        )  # out is unused: zero gradient
        others = [np.zeros_like(dh_n) for _ in rnn.cell.states[1:]]  # c_n (LSTM) is not used: zero gradient
        dx, _ = rnn.backward(dout, rnn.pack_states([dh_n, *others]))
        return dx

    def __repr__(self):
        rnn = self.rnn
        parts = [repr(self.cell), str(rnn.input_size), str(rnn.hidden_size), str(self.num_classes)]
        defaults = {
            "num_layers": 1,
            "bidirectional": False,
            "batch_first": True,
            "dropout": 0.0,
            "bias": True,
        }
        for key, default in defaults.items():
            if getattr(rnn, key) != default:
                parts.append(f"{key}={getattr(rnn, key)}")
        parts += [
            f"{key}={value!r}"
            for key, value in rnn.options.items()
            if value != rnn.cell.default_options()[key]
        ]
        if not self.fc_bias:
            parts.append("fc_bias=False")
        if rnn.dtype != np.float64:
            parts.append(f"dtype=np.{rnn.dtype}")
        return f"SequenceClassifier({', '.join(parts)})"


TUTORIAL_MODELS = ("RNNModel", "LSTMModel", "GRUModel")
FRAMEWORKS = ("torch", "keras")


def tutorial_model(
    name,
    framework="torch",
    *,
    input_size=10,
    hidden_size=20,
    num_layers=2,
    num_classes=3,
    dtype=np.float64,
    seed=None,
    backend="auto",
):
    """The minirnn twin of one of the tutorial's six sequence classifiers, by name.

        framework="torch": RNNModel, LSTMModel, GRUModel = nn.RNN/LSTM/GRU(input_size, hidden_size,
        num_layers,
                           batch_first=True), then nn.Linear on the last step -> ``num_layers`` recurrent
                           layers.
        framework="keras": RNNModel = SimpleRNN(return_sequences=True), SimpleRNN, Dense -> 2 layers (always);
                           LSTMModel, GRUModel = one LSTM / GRU (reset_after=True), Dense -> 1 layer (always).

    Load the original's weights with ``model.load_state_dict(torch_model.state_dict())`` (PyTorch, attributes
    named ``rnn`` and ``fc``) or build it from Keras with
    ``minirnn.interop.classifier_from_keras(keras_model)``.

    Example:
        >>> tutorial_model("GRUModel", "keras", seed=0)
        SequenceClassifier('gru', 10, 20, 3)
        >>> tutorial_model("RNNModel", "torch", seed=0).num_parameters()
        1543
    """
    if name not in TUTORIAL_MODELS:
        raise ValueError(f"name must be one of {TUTORIAL_MODELS}, got {name!r}")
    if framework not in FRAMEWORKS:
        raise ValueError(f"framework must be one of {FRAMEWORKS}, got {framework!r}")
    cell = {"RNNModel": "rnn", "LSTMModel": "lstm", "GRUModel": "gru"}[name]
    if framework == "keras":
        num_layers = 2 if name == "RNNModel" else 1
    return SequenceClassifier(
        cell,
        input_size,
        hidden_size,
        num_classes,
        num_layers=num_layers,
        batch_first=True,
        dtype=dtype,
        seed=seed,
        backend=backend,
    )
