"""Argument checks shared by the dataset generators: seeds, generators and integer sizes."""

from __future__ import annotations

import numpy as np


def make_rng(seed, rng) -> np.random.Generator:
    """A Generator from ``seed=`` (an int or None) or ``rng=`` (a Generator), never both."""
    if seed is not None and rng is not None:
        raise ValueError("give seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    return np.random.default_rng(seed)


def check_int(value, name: str, minimum: int) -> int:
    """``value`` as an int >= ``minimum``; anything else is a ValueError naming ``name``."""
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)
