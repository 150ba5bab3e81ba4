"""How a bidirectional layer joins its two directions, and the gradient of that join (Keras' ``merge_mode``).

With ``f`` and ``r`` the forward and reverse outputs of one layer, each (T, B, H)::

    concat:  y = [f | r]       (T, B, 2H)      df = dy[..., :H],   dr = dy[..., H:]
    sum:     y = f + r         (T, B, H)       df = dy,            dr = dy
    ave:     y = (f + r) / 2   (T, B, H)       df = dy / 2,        dr = dy / 2
    mul:     y = f * r         (T, B, H)       df = dy * r,        dr = dy * f

In a stack every layer merges its own two directions, so the next layer reads 2H features (concat) or H (the
rest), as a stack of Keras ``Bidirectional`` layers does. PyTorch has only ``concat``. Padded steps are zero
in both directions, so they stay zero under every mode.
"""

from __future__ import annotations

import numpy as np

MERGE_MODES = ("concat", "sum", "mul", "ave")


def merged_size(hidden_size, num_directions, merge_mode):
    """Features of a layer's output: ``D * H`` for concat (or one direction), ``H`` otherwise.

    Example:
        >>> merged_size(20, 2, "concat"), merged_size(20, 2, "sum"), merged_size(20, 1, "mul")
        (40, 20, 20)
    """
    return hidden_size * num_directions if merge_mode == "concat" else hidden_size


def merge(outputs, merge_mode):
    """Join the directions' outputs (a list of one or two (T, B, H) arrays) into the layer's output.

    Example:
        >>> f, r = np.ones((1, 1, 2)), np.full((1, 1, 2), 3.0)
        >>> (merge([f, r], "concat").shape, merge([f, r], "ave")[0, 0].tolist(),
        ...  merge([f, r], "mul")[0, 0].tolist())
        ((1, 1, 4), [2.0, 2.0], [3.0, 3.0])
    """
    if len(outputs) == 1:
        return outputs[0]
    f, r = outputs
    if merge_mode == "concat":
        return np.concatenate([f, r], axis=2)  # (T, B, 2H)
    if merge_mode == "sum":
        return f + r
    if merge_mode == "ave":
        return (f + r) * f.dtype.type(0.5)
    if merge_mode == "mul":
        return f * r
    raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")


def merge_backward(dy, outputs, merge_mode):
    """The gradients of each direction's output from ``dy``, the gradient of :func:`merge`'s result.

    ``outputs`` are the arrays :func:`merge` joined (``mul`` needs them). Returns a list like ``outputs``,
    each C-contiguous (T, B, H).

    Example:
        >>> f, r = np.ones((1, 1, 2)), np.full((1, 1, 2), 3.0)
        >>> [d[0, 0].tolist() for d in merge_backward(np.ones((1, 1, 2)), [f, r], "mul")]
        [[3.0, 3.0], [1.0, 1.0]]
    """
    if len(outputs) == 1:
        return [np.ascontiguousarray(dy)]
    f, r = outputs  # None unless merge_mode == "mul"
    H = dy.shape[-1] // 2
    if merge_mode == "concat":
        return [np.ascontiguousarray(dy[:, :, :H]), np.ascontiguousarray(dy[:, :, H:])]
    if merge_mode == "sum":
        return [np.ascontiguousarray(dy), np.ascontiguousarray(dy)]
    if merge_mode == "ave":
        half = dy * dy.dtype.type(0.5)
        return [half, half.copy()]
    if merge_mode == "mul":
        return [dy * r, dy * f]
    raise ValueError(f"merge_mode must be one of {MERGE_MODES}, got {merge_mode!r}")
