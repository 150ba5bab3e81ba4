"""Layer norm of one row inside the compiled loops (the math: ``cells/layer_norm.py``); two passes per row."""

from __future__ import annotations

import numpy as np

from ._jit import jitable


@jitable
def normalize_row(v, v_hat, eps):
    """v_hat = (v - mean(v)) / sqrt(var(v) + eps) for one row v (F,), written into v_hat; returns 1/sqrt(var
    + eps).

    Example:
        >>> v_hat = np.empty(3); rstd = normalize_row(np.array([1.0, 2.0, 3.0]), v_hat, 1e-5)
        >>> np.round(v_hat, 4).tolist()
        [-1.2247, 0.0, 1.2247]
    """
    F = v.shape[0]
    mu = v.dtype.type(0)
    for k in range(F):
        mu += v[k]
    mu /= F
    var = v.dtype.type(0)
    for k in range(F):
        v_hat[k] = v[k] - mu
        var += v_hat[k] * v_hat[k]
    rstd = v.dtype.type(1) / np.sqrt(var / F + eps)
    for k in range(F):
        v_hat[k] = v_hat[k] * rstd
    return rstd


@jitable
def normalize_row_backward(dy, gain, v_hat, rstd, dv):
    """dv = rstd (d - mean(d) - v_hat mean(d v_hat)) with d = dy * gain, one row (F,), written into dv.

    Example:
        >>> dv = np.empty(3); normalize_row_backward(np.ones(3), np.ones(3), np.array([-1.0, 0, 1]), 1.0, dv)
        >>> dv.tolist()
        [0.0, 0.0, 0.0]
    """
    F = dy.shape[0]
    mean_d, mean_dv = dy.dtype.type(0), dy.dtype.type(0)
    for k in range(F):
        d = dy[k] * gain[k]
        mean_d += d
        mean_dv += d * v_hat[k]
    mean_d /= F
    mean_dv /= F
    for k in range(F):
        dv[k] = rstd * (dy[k] * gain[k] - mean_d - v_hat[k] * mean_dv)
