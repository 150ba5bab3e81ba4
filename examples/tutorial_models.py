"""The tutorial's six sequence classifiers, in PyTorch and in Keras, and their minirnn twins on the same weights.

    python examples/tutorial_models.py          # builds all six, ports the weights, prints the largest differences

The originals are written as the tutorial writes them (input_size 10, hidden 20, 2 layers, 3 classes, batch_first,
zero initial states, Linear/Dense on the last step). One addition for variable lengths: the PyTorch models take
``lengths`` and pack the batch, then read each sequence's last real step; the Keras models start with a ``Masking``
layer (padded steps are all zeros). The tests (tests/test_models.py) import this file.
"""
from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import numpy as np  # noqa: E402

from minirnn.models import tutorial_model  # noqa: E402
from minirnn.interop import classifier_from_keras  # noqa: E402

NAMES = ("RNNModel", "LSTMModel", "GRUModel")
INPUT_SIZE, HIDDEN_SIZE, NUM_LAYERS, NUM_CLASSES = 10, 20, 2, 3


# -- PyTorch ---------------------------------------------------------------------------------------------------------
def torch_model(name, input_size=INPUT_SIZE, hidden_size=HIDDEN_SIZE, num_layers=NUM_LAYERS, num_classes=NUM_CLASSES,
                dtype=None, bidirectional=False):
    """The tutorial's PyTorch ``RNNModel``/``LSTMModel``/``GRUModel`` (attributes ``rnn`` and ``fc``)."""
    import torch
    from torch import nn

    cls = {"RNNModel": nn.RNN, "LSTMModel": nn.LSTM, "GRUModel": nn.GRU}[name]

    class TutorialModel(nn.Module):
        def __init__(self):
            super().__init__()
            self.hidden_size, self.num_layers = hidden_size, num_layers
            self.num_directions = 2 if bidirectional else 1
            self.rnn = cls(input_size, hidden_size, num_layers, batch_first=True, bidirectional=bidirectional,
                           dtype=dtype)
            self.fc = nn.Linear(self.num_directions * hidden_size, num_classes, dtype=dtype)

        def forward(self, x, lengths=None):
            shape = (self.num_layers * self.num_directions, x.size(0), self.hidden_size)
            h0 = torch.zeros(shape, dtype=x.dtype)
            hx = (h0, torch.zeros(shape, dtype=x.dtype)) if cls is nn.LSTM else h0
            if lengths is None:
                out, h_n = self.rnn(x, hx)
            else:
                packed = nn.utils.rnn.pack_padded_sequence(x, torch.as_tensor(lengths), batch_first=True,
                                                           enforce_sorted=False)
                out, h_n = self.rnn(packed, hx)
                out, _ = nn.utils.rnn.pad_packed_sequence(out, batch_first=True, total_length=x.size(1))
            if self.num_directions == 2:                     # forward and reverse final states of the last layer
                h = h_n[0] if isinstance(h_n, tuple) else h_n
                return self.fc(torch.cat([h[-2], h[-1]], dim=1))
            if lengths is None:
                return self.fc(out[:, -1, :])                # the tutorial's line
            last = torch.as_tensor(lengths) - 1
            return self.fc(out[torch.arange(x.size(0)), last])   # the last real step of each sequence

    model = TutorialModel()
    model.__class__.__name__ = name
    return model


# -- Keras -----------------------------------------------------------------------------------------------------------
def keras_model(name, input_size=INPUT_SIZE, hidden_size=HIDDEN_SIZE, num_classes=NUM_CLASSES, dtype="float32",
                bidirectional=False):
    """The tutorial's Keras ``RNNModel`` (SimpleRNN(return_sequences=True), SimpleRNN, Dense), ``LSTMModel`` and
    ``GRUModel`` (one LSTM/GRU, Dense), behind a ``Masking(0.0)`` layer for padded batches."""
    import keras
    inputs = keras.Input((None, input_size), dtype=dtype)
    h = keras.layers.Masking(0.0, dtype=dtype)(inputs)
    if name == "RNNModel":
        recurrent = [keras.layers.SimpleRNN(hidden_size, return_sequences=True, dtype=dtype),
                     keras.layers.SimpleRNN(hidden_size, dtype=dtype)]
    else:
        cls = {"LSTMModel": keras.layers.LSTM, "GRUModel": keras.layers.GRU}[name]
        recurrent = [cls(hidden_size, dtype=dtype)]
    for layer in recurrent:
        h = (keras.layers.Bidirectional(layer, dtype=dtype) if bidirectional else layer)(h)
    outputs = keras.layers.Dense(num_classes, dtype=dtype)(h)
    return keras.Model(inputs, outputs, name=name)


def pad(x, lengths):
    """Zero every step past each sequence's length (what the Masking layer keys on). x (B, T, I)."""
    x = x.copy()
    for b, n in enumerate(lengths):
        x[b, n:] = 0
    return x


def main():
    import torch

    rng = np.random.default_rng(0)
    lengths = [7, 5, 3, 6]
    x = pad(rng.normal(size=(4, 7, INPUT_SIZE)), lengths)
    for framework in ("torch", "keras"):
        for name in NAMES:
            if framework == "torch":
                torch.manual_seed(0)
                original = torch_model(name, dtype=torch.float64)
                ours = tutorial_model(name, "torch")
                ours.load_state_dict(original.state_dict())
                theirs = original(torch.tensor(x), lengths).detach().numpy()
            else:
                original = keras_model(name, dtype="float64")
                ours = classifier_from_keras(original)
                theirs = np.asarray(original(x).detach())
            logits = ours(x, lengths=lengths)
            print(f"{framework:5s} {name:9s} -> {ours!r:55s} max |logits - original| = "
                  f"{np.abs(logits - theirs).max():.1e}")


if __name__ == "__main__":
    main()
