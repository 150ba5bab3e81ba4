"""Small pieces shared by the three cells: the logistic sigmoid and the padding mask."""
from __future__ import annotations

import numpy as np


def sigmoid(a):
    """The logistic function 1 / (1 + exp(-a)), written as 0.5 * (1 + tanh(a / 2)) so it never overflows."""
    return 0.5 * (1 + np.tanh(0.5 * a))


def as_step_mask(mask, x):
    """A (T, B) boolean mask as a (T, B, 1) array of 0/1 in x's dtype, ready to multiply states; None stays None."""
    if mask is None:
        return None
    return np.asarray(mask, dtype=bool).astype(x.dtype)[:, :, None]
