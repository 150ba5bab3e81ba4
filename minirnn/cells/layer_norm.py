"""Layer normalisation (Ba, Kiros & Hinton 2016) over the last axis, and its backward: what the
layer-normalised cells (``ln_lstm.py``, ``ln_gru.py``) apply to their pre-activations.

For one row v of F numbers (F = G*H for a pre-activation, H for the LSTM's cell state)::

    mu = mean(v),   var = mean((v - mu)^2),   rstd = 1 / sqrt(var + eps),   v_hat = (v - mu) * rstd
    LN(v) = gain * v_hat + bias                          gain, bias (F,) learned; eps = 1e-5 as
    torch.nn.LayerNorm

Backward, given dy = dL/dLN(v)::

    dv_hat = dy * gain
    dv     = rstd * (dv_hat - mean(dv_hat) - v_hat * mean(dv_hat * v_hat))
    dgain  = sum over rows of dy * v_hat,      dbias = sum over rows of dy
"""

from __future__ import annotations

import numpy as np

EPS = 1e-5


def normalize(v, eps=EPS):
    """``v_hat, rstd`` of v (..., F): the row-wise standardised values and 1/sqrt(var + eps) (..., 1).

    Example:
        >>> v_hat, rstd = normalize(np.array([[1.0, 2.0, 3.0]]))
        >>> np.round(v_hat, 4).tolist(), float(np.round(rstd[0, 0], 4))
        ([[-1.2247, 0.0, 1.2247]], 1.2247)
    """
    mu = v.mean(axis=-1, keepdims=True)
    centered = v - mu
    var = (centered * centered).mean(axis=-1, keepdims=True)
    rstd = 1 / np.sqrt(var + v.dtype.type(eps))  # (..., 1)
    return centered * rstd, rstd


def normalize_backward(dv_hat, v_hat, rstd):
    """dL/dv from dL/dv_hat (..., F), given :func:`normalize`'s ``v_hat`` and ``rstd`` (the module docstring).

    Example:
        >>> v_hat, rstd = normalize(np.array([[1.0, 2.0, 4.0]]))
        >>> float(np.abs(normalize_backward(np.ones((1, 3)), v_hat, rstd)).max()) < 1e-12   # shift-invariant
        True
    """
    mean_d = dv_hat.mean(axis=-1, keepdims=True)
    mean_dv = (dv_hat * v_hat).mean(axis=-1, keepdims=True)
    return rstd * (dv_hat - mean_d - v_hat * mean_dv)


def sum_rows(a):
    """``a`` (..., F) summed over every axis but the last -> (F,): a gain's or bias's gradient over steps and
    batch.

    Example:
        >>> sum_rows(np.ones((2, 3, 4))).tolist()
        [6.0, 6.0, 6.0, 6.0]
    """
    return a.reshape(-1, a.shape[-1]).sum(axis=0)


def normalize_inputs(x, W_ih, gain):
    """The input side of a layer-normalised cell for all steps at once: ``u = x W_ih^T`` as one GEMM on the
    T*B rows, then ``u_hat, rstd = normalize(u)``. x (T, B, I), W_ih (G*H, I), gain (G*H,).

    Returns ``gain * u_hat`` (T, B, G*H) (the caller adds b_ih), ``u_hat`` (T, B, G*H) and ``rstd`` (T, B, 1).

    Example:
        >>> scaled, u_hat, rstd = normalize_inputs(np.ones((2, 1, 3)), np.eye(4, 3), np.ones(4))
        >>> scaled.shape, rstd.shape
        ((2, 1, 4), (2, 1, 1))
    """
    T, B, I = x.shape
    u = (x.reshape(T * B, I) @ W_ih.T).reshape(T, B, W_ih.shape[0])  # (T, B, GH)
    u_hat, rstd = normalize(u)
    return gain * u_hat, u_hat, rstd
