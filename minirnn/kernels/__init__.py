"""Numba-compiled whole-sequence loops for the cells: ``rnn``, ``lstm``, ``gru``, ``ln_lstm`` and ``ln_gru``.

Each module has ``forward``/``backward`` with exactly the signatures, return values and cache dicts of the matching
``minirnn.cells`` module, so the NumPy and Numba backends can be swapped (or mixed) freely. The math lives in
``minirnn/cells``; these files only make it fast. Importing them imports no Numba and compiles nothing: each loop
compiles on its first call (see ``_jit.py``).
"""
from . import gru, ln_gru, ln_lstm, lstm, rnn

__all__ = ["rnn", "lstm", "gru", "ln_lstm", "ln_gru"]
