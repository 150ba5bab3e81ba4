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


class NonFiniteInputError(ValueError):
    """An input array contains NaN or Inf (a ``ValueError``, so ``except ValueError`` still catches it)."""
