"""minirnn: recurrent neural networks from scratch, to be read, run and trusted.

    import numpy as np, minirnn
    lstm = minirnn.LSTM(10, 20, num_layers=2, batch_first=True, seed=0)
    out, (h_n, c_n) = lstm(np.random.default_rng(0).normal(size=(3, 7, 10)))
    dx, (dh0, dc0) = lstm.backward(np.ones_like(out))
    lstm.grads["weight_hh_l1"].shape        # (80, 20)

The math of each cell is in ``minirnn.cells`` (readable NumPy), its fast loop in ``minirnn.kernels`` (Numba).
"""

from . import _moved, interop, models
from .models import SequenceClassifier
from .nn import GRU, LSTM, RNN, Module, NonFiniteInputError, use_backend
from .nn import init  # minirnn.init: orthogonal_, identity_, forget_bias_, chrono_

_moved.install()

__version__ = "0.1.0"
__all__ = [
    "RNN",
    "LSTM",
    "GRU",
    "SequenceClassifier",
    "Module",
    "NonFiniteInputError",
    "use_backend",
    "interop",
    "models",
    "init",
    "__version__",
]
