"""The exceptions minirnn raises beyond Python's own.

Every refused input is a ``ValueError`` or ``TypeError`` whose message names the argument, what was expected and what
was given. One kind has its own class, so that code can tell it apart without reading messages:

``NonFiniteInputError`` (a ``ValueError``): an array contains NaN or Inf. ``minirnn.train.fit`` turns it into a
``NonFiniteError`` that says at which training step it happened and which checkpoint was kept.

Example:
    >>> import numpy as np, minirnn
    >>> try:
    ...     minirnn.GRU(2, 3)(np.full((4, 1, 2), np.nan))
    ... except NonFiniteInputError as e:
    ...     print(e)
    GRU: x contains NaN or Inf
"""
import numpy as np


class NonFiniteInputError(ValueError):
    """An input array contains NaN or Inf (a ``ValueError``, so ``except ValueError`` still catches it)."""


def require_finite(value, label: str) -> None:
    """Raise ``NonFiniteInputError("<label> contains NaN or Inf")`` unless every entry of the array ``value`` is finite.

    Example:
        >>> require_finite(np.ones(3), "x")
        >>> require_finite(np.array([1.0, np.inf]), "series")
        Traceback (most recent call last):
        ...
        minirnn.errors.NonFiniteInputError: series contains NaN or Inf
    """
    if not np.all(np.isfinite(value)):
        raise NonFiniteInputError(f"{label} contains NaN or Inf")
