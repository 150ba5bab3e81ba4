"""Weights in and out: PyTorch modules and state_dicts, Keras SimpleRNN/LSTM/GRU layers and classifier models.

``torch.py`` and ``keras.py`` only move and reorder arrays; it computes nothing. PyTorch's layout is
minirnn's own (weight names, gate order, two biases), so the torch direction is a copy. Keras differs in four
ways, each handled here:

    kernel          Keras (in, G*H)      -> minirnn W_ih = kernel.T            (G*H, in)
    recurrent       Keras (H, G*H)       -> minirnn W_hh = recurrent_kernel.T  (G*H, H)
    bias            SimpleRNN, LSTM: one bias (G*H,) -> b_ih = bias, b_hh = 0  (exporting writes b_ih + b_hh)
                    GRU (reset_after=True): (2, 3H) = [input bias, recurrent bias] -> b_ih, b_hh exactly
                    GRU (reset_after=False): one bias (3H,) -> b_ih = bias, b_hh = 0 (b_hn is outside r there)
    gate order      LSTM i, f, c, o = PyTorch's i, f, g, o;  GRU z, r, h -> PyTorch r, z, n (blocks swapped)

A Keras GRU with ``reset_after=False`` (the original Cho et al. cell, n = tanh(x W_in + (r * h) W_hn + b_n))
applies the reset gate before the recurrent product; it loads into ``minirnn.GRU(..., reset_after=False)``,
which runs that cell. A PyTorch LSTM with ``proj_size > 0`` loads into ``minirnn.LSTM(..., proj_size=P)``
(``weight_hr_l{k}``); an LSTM with peepholes exists in neither framework, so it exports only as a state_dict.

Variable lengths in Keras come from a ``Masking`` layer (or ``mask=``). Keras skips masked steps and carries
the state, like ``pack_padded_sequence``, so final states agree. What differs is the output at masked steps of
a ``return_sequences=True`` layer: Keras (default ``zero_output_for_mask=False``) REPEATS the last real output
there, minirnn and PyTorch write zeros. Only real steps and final states are comparable; the models below use
only those.

Entry points:

    layer = from_torch(nn_lstm_or_state_dict, cell=None, ...)      state = to_torch_state_dict(layer)
    layer = from_keras(keras_layer or [stacked keras layers])       weights = to_keras_weights(layer)
    model = classifier_from_keras(keras_model)                      keras_layers = to_keras(layer)

A whole PyTorch classifier needs no function:
    ``SequenceClassifier.load_state_dict(torch_model.state_dict())``.
torch and keras are imported only inside the functions that need them (they are test extras, not
dependencies).
"""

from .keras import classifier_from_keras, from_keras, keras_weights_to_params, to_keras, to_keras_weights
from .torch import from_torch, to_torch, to_torch_state_dict

_keras_weights_to_params = keras_weights_to_params  # the name tests and notebooks used before the split

__all__ = [
    "from_torch",
    "to_torch",
    "to_torch_state_dict",
    "from_keras",
    "to_keras",
    "to_keras_weights",
    "classifier_from_keras",
    "keras_weights_to_params",
]
