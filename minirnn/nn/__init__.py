"""Layers, losses and optimizers, each with its backward pass written out.

- ``module.py``: ``Module``, the base of every layer and model (params, grads, state_dict, train/eval).
- ``recurrent.py``: ``RNN``, ``LSTM``, ``GRU``; ``recurrent_base.py``: what they share (stacks, directions,
  padding, dropout, merges) wired from the cells.
- ``linear.py``: ``Linear`` and ``Embedding``.   ``conv.py``: ``Conv2d`` (im2col, with its backward).
- ``attention.py``: ``AdditiveAttention``, ``DotAttention``, ``GeneralAttention`` (with a padding mask).
- ``losses.py``: softmax cross-entropy and mean squared error.   ``optim.py``: SGD, Adagrad, Adam, clipping.
- ``validation.py``: every input check and error class.
"""

from . import losses, optim
from .attention import AdditiveAttention, DotAttention, GeneralAttention
from .conv import Conv2d
from .linear import Embedding, Linear
from .module import Module
from .recurrent import GRU, LSTM, RNN, use_backend
from .validation import NonFiniteInputError

__all__ = [
    "Module",
    "RNN",
    "LSTM",
    "GRU",
    "Linear",
    "Embedding",
    "Conv2d",
    "NonFiniteInputError",
    "losses",
    "optim",
    "use_backend",
    "AdditiveAttention",
    "DotAttention",
    "GeneralAttention",
]
