"""Input checks and the exceptions minirnn raises beyond Python's own: one place for every check and error
class.

Every refused input is a ``ValueError`` or ``TypeError`` whose message names the argument, what was expected
and what was given. One kind has its own class, so that code can tell it apart without reading messages:

``NonFiniteInputError`` (a ``ValueError``): an array contains NaN or Inf. ``minirnn.train.fit`` turns it into
a ``NonFiniteError`` that says at which training step it happened and which checkpoint was kept.

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
    """Raise ``NonFiniteInputError("<label> contains NaN or Inf")`` unless every entry of the array ``value``
    is finite.

    Example:
        >>> require_finite(np.ones(3), "x")
        >>> require_finite(np.array([1.0, np.inf]), "series")
        Traceback (most recent call last):
        ...
        minirnn.nn.validation.NonFiniteInputError: series contains NaN or Inf
    """
    if not np.all(np.isfinite(value)):
        raise NonFiniteInputError(f"{label} contains NaN or Inf")


def check_float_dtype(dtype, name: str = "dtype") -> np.dtype:
    """``dtype`` as a NumPy dtype, float32 or float64; anything else is a TypeError naming ``name``."""
    try:
        dtype = np.dtype(dtype)
    except TypeError:
        raise TypeError(f"{name} must be float32 or float64, got {dtype!r}") from None
    if dtype not in (np.dtype(np.float32), np.dtype(np.float64)):
        raise TypeError(f"{name} must be float32 or float64, got {dtype}")
    return dtype


def check_output_grad(dy, expected: tuple, dtype, name: str = "dy") -> np.ndarray:
    """dy (the gradient of the loss w.r.t. an output): a finite float32/float64 array of the output's
    shape."""
    dy = np.asarray(dy)
    if dy.dtype not in (np.float32, np.float64):
        raise TypeError(
            f"{name} must be a float32 or float64 array like the output ({dtype}), got dtype {dy.dtype}"
        )
    if dy.shape != expected:
        raise ValueError(f"{name} must have the output's shape {expected}, got {dy.shape}")
    require_finite(dy, name)
    return dy


def check_size(value, name: str) -> int:
    """``value`` as a positive int; a bool, a float or a value below 1 is a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < 1:
        raise ValueError(f"{name} must be a positive integer, got {value!r}")
    return int(value)


def refuse_masked(value, label: str) -> None:
    """Raise a TypeError for a ``numpy.ma.MaskedArray``: its mask would be ignored (masked entries used as
    numbers).

    Example:
        >>> refuse_masked(np.ma.masked_invalid(np.array([1.0, np.nan])), "x")
        Traceback (most recent call last):
        ...
        TypeError: x must be a plain numpy.ndarray, got a masked array (its mask would be ignored); fill it
            with x.filled(0.0) and pass lengths= or a mask for the padding
    """
    if isinstance(value, np.ma.MaskedArray):
        raise TypeError(
            f"{label} must be a plain numpy.ndarray, got a masked array (its mask would be ignored); "
            f"fill it with x.filled(0.0) and pass lengths= or a mask for the padding"
        )
