"""Losses that return their own gradient: ``loss, dinput = f(input, target, mask=None)``.

Two losses, each a plain function: softmax cross-entropy on integer class targets (per example or per time
step, with a mask for padded steps) and mean squared error. Both average over the entries that count, so the
gradient is
already divided by that count: feed it straight into ``backward``. No classes, no reduction options.
"""

from __future__ import annotations

import numpy as np

from .validation import require_finite

__all__ = ["softmax_cross_entropy", "mse"]


def _check_float(a, name: str) -> np.ndarray:
    """A float32/float64 array of finite numbers (a NaN or Inf here would silently make the loss NaN)."""
    a = np.asarray(a)
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {a.dtype}")
    require_finite(a, name)
    return a


def _check_mask(mask, shape: tuple, dtype) -> np.ndarray:
    """A 0/1 (or bool) mask of exactly ``shape`` -> float array of ``dtype``; it must keep at least one
    entry."""
    mask = np.asarray(mask)
    if mask.shape != shape:
        raise ValueError(f"mask must have shape {shape}, got {mask.shape}")
    if mask.dtype != np.bool_:
        if not (np.issubdtype(mask.dtype, np.integer) or np.issubdtype(mask.dtype, np.floating)):
            raise TypeError(f"mask must be a bool or 0/1 numeric array, got dtype {mask.dtype}")
        if not np.all((mask == 0) | (mask == 1)):
            raise ValueError("mask must contain only 0 and 1 (or True and False), got other values")
    mask = mask.astype(dtype)
    if mask.sum() == 0:
        raise ValueError(
            "mask must keep at least one entry, got all zeros (the mean over no entries is undefined)"
        )
    return mask


def softmax_cross_entropy(logits, targets, mask=None):
    """Mean softmax cross-entropy over the entries that count, and its gradient.

    Shapes: ``logits`` (N, C) with ``targets`` (N,), or over time (T, B, C) with ``targets`` (T, B); in
    general logits S + (C,) with integer targets S, entries in [0, C). ``mask`` (optional) has the targets'
    shape S, 1 where the entry counts and 0 where it is padding.

    For each entry n with logits z_n (C,) and target y_n, with m_n = 1 if there is no mask:

        log p_n  = z_n - logsumexp(z_n),     logsumexp(z) = max(z) + log sum_c exp(z_c - max(z))   (stable)
        loss     = - sum_n m_n log p_n[y_n]  /  sum_n m_n
        dlogits  = m_n (softmax(z_n) - onehot(y_n))  /  sum_n m_n

    so masked entries get exactly zero gradient. Without a mask this is ``torch.nn.functional.cross_entropy``
    with ``reduction="mean"``.

    Returns:
        loss: a Python float; dlogits: same shape and dtype as ``logits``.

    Example:
        >>> loss, d = softmax_cross_entropy(np.zeros((2, 4)), np.array([0, 3]))
        >>> round(loss, 6) == round(float(np.log(4)), 6), d.shape
        (True, (2, 4))
    """
    logits = _check_float(logits, "logits")
    if logits.ndim < 2:
        raise ValueError(f"logits must have shape (N, C) or (T, B, C), got {logits.shape}")
    if logits.size == 0:
        raise ValueError(f"logits must not be empty, got shape {logits.shape}")
    targets = np.asarray(targets)
    if not np.issubdtype(targets.dtype, np.integer):
        raise TypeError(f"targets must be an integer array of class indices, got dtype {targets.dtype}")
    if targets.shape != logits.shape[:-1]:
        raise ValueError(
            f"targets must have shape logits.shape[:-1] = {logits.shape[:-1]}, got {targets.shape}"
        )
    C = logits.shape[-1]
    if targets.size and (targets.min() < 0 or targets.max() >= C):
        bad = targets.min() if targets.min() < 0 else targets.max()
        raise ValueError(f"targets must be class indices in [0, C) = [0, {C}), got {int(bad)}")
    if mask is None:
        m = np.ones(targets.shape, dtype=logits.dtype)
    else:
        m = _check_mask(mask, targets.shape, logits.dtype)
    count = m.sum()

    z = logits - logits.max(axis=-1, keepdims=True)  # S + (C,), max entry 0
    e = np.exp(z)  # S + (C,)
    sum_e = e.sum(axis=-1, keepdims=True)  # S + (1,), in [1, C]
    z_target = np.take_along_axis(z, targets[..., None], axis=-1)[..., 0]  # S
    log_p_target = z_target - np.log(sum_e[..., 0])  # log softmax at the target
    loss = -(m * log_p_target).sum() / count

    dlogits = e
    dlogits /= sum_e  # softmax, in e's memory
    np.put_along_axis(
        dlogits, targets[..., None], np.take_along_axis(dlogits, targets[..., None], axis=-1) - 1, axis=-1
    )
    dlogits *= (m / count)[..., None]
    return float(loss), dlogits.astype(logits.dtype, copy=False)


def mse(pred, target, mask=None):
    """Mean squared error over the entries that count, and its gradient.

    ``pred`` and ``target`` have the same shape, e.g. (N, F) or (T, B, F). ``mask`` (optional) covers the
    leading axes, shape ``pred.shape[:mask.ndim]`` such as (T, B); it is broadcast over the remaining
    (feature) axes. With K = the number of scalars kept (all of them when there is no mask):

        loss  = sum m (pred - target)^2 / K
        dpred = 2 m (pred - target) / K

    Without a mask this is ``torch.nn.functional.mse_loss`` with ``reduction="mean"``.

    Returns:
        loss: a Python float; dpred: same shape and dtype as ``pred``.

    Example:
        >>> loss, d = mse(np.array([[1.0], [3.0]]), np.array([[0.0], [0.0]]))
        >>> loss, d.ravel().tolist()
        (5.0, [1.0, 3.0])
    """
    pred = _check_float(pred, "pred")
    target = _check_float(target, "target")
    if pred.shape != target.shape:
        raise ValueError(f"target must have the shape of pred {pred.shape}, got {target.shape}")
    diff = pred - target
    if mask is None:
        m = np.ones((), dtype=pred.dtype)
        count = pred.size
        if count == 0:
            raise ValueError("pred must not be empty")
    else:
        mask = np.asarray(mask)
        if mask.ndim > pred.ndim:
            raise ValueError(f"mask must cover the leading axes of pred {pred.shape}, got shape {mask.shape}")
        m = _check_mask(mask, pred.shape[: mask.ndim], pred.dtype)
        m = m.reshape(m.shape + (1,) * (pred.ndim - m.ndim))
        count = m.sum() * int(np.prod(pred.shape[mask.ndim :]))
    loss = (m * diff * diff).sum() / count
    dpred = 2.0 * m * diff / count
    return float(loss), dpred.astype(pred.dtype, copy=False)
