"""Numba-compiled whole-sequence loops for the three cells ``rnn``, ``lstm``, ``gru`` and the variants
``gru_reset_before``, ``lstm_proj``, ``lstm_peephole``, ``ln_lstm`` and ``ln_gru``.

Each module has ``forward``/``backward`` with exactly the signatures, return values and cache dicts of the
matching ``minirnn.cells`` module, so the NumPy and Numba backends can be swapped (or mixed) freely. The math
lives in ``minirnn/cells``; these files only make it fast. Importing them imports no Numba and compiles
nothing: each
loop compiles on its first call (see ``_jit.py``).
"""

from . import gru, gru_reset_before, ln_gru, ln_lstm, lstm, lstm_peephole, lstm_proj, rnn

__all__ = ["rnn", "lstm", "gru", "gru_reset_before", "lstm_proj", "lstm_peephole", "ln_lstm", "ln_gru"]
