"""Numba-compiled whole-sequence loops for the three cells ``rnn``, ``lstm``, ``gru`` and the variants
``gru_reset_before``, ``lstm_proj``, ``lstm_peephole``, ``ln_lstm`` and ``ln_gru``.

Each module has ``forward``/``backward`` with exactly the signatures, return values and cache dicts of the
matching ``minirnn.cells`` module, so the NumPy and Numba backends can be swapped (or mixed) freely. The math
lives in ``minirnn/cells``; these files only make it fast. Importing them imports no Numba and compiles
nothing: each
loop compiles on its first call (see ``_jit.py``).
"""

from . import gru, gru_reset_before, ln_gru, ln_lstm, lstm, lstm_peephole, lstm_proj, rnn

__all__ = [
    "rnn", "lstm", "gru", "gru_reset_before", "lstm_proj", "lstm_peephole", "ln_lstm", "ln_gru", "blas",
]


def blas() -> str:
    """The BLAS the compiled loops call: ``"mkl"`` (where installed: ``pip install minirnn[mkl]``),
    ``"numpy"`` (NumPy's own OpenBLAS) or ``"scipy"`` (a fallback). The environment variable
    ``MINIRNN_BLAS`` (``auto``, ``mkl``, ``openblas``) chooses, read once per process
    (minirnn/kernels/_mkl.py). Binds it if no loop has run yet (this imports Numba).

    Example:
        >>> blas() in ("mkl", "numpy", "scipy")
        True
    """
    from . import _blas

    _blas.register()
    return _blas.bound_to()
