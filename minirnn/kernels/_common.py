"""Small pieces the three kernel files share: the dtype check and arrays in the form the compiled loops
expect."""

from __future__ import annotations

import numpy as np

from ._jit import jitable

FLOAT_DTYPES = (np.dtype(np.float32), np.dtype(np.float64))

# The loops take a mask array and a has_mask flag; without a mask they get this empty array (never read), so
# each
# dtype compiles once and no dummy mask is allocated per call.
_NO_MASK = {dtype: np.zeros((0, 0, 1), dtype=dtype) for dtype in FLOAT_DTYPES}


# The same for the recurrent-dropout mask (B, H): without one, the loops get this and never multiply.
_NO_RECURRENT_MASK = {dtype: np.zeros((0, 0), dtype=dtype) for dtype in FLOAT_DTYPES}


def float_dtype(x):
    """The dtype the loops run in: x's, which must be float32 or float64."""
    dtype = np.asarray(x).dtype
    if dtype not in FLOAT_DTYPES:
        raise TypeError(f"the Numba kernels run in float32 or float64, got x of dtype {dtype}")
    return dtype


def c_array(a, dtype):
    """``a`` as a C-contiguous array of ``dtype`` (no copy when it already is one): one compiled layout per
    dtype."""
    return np.ascontiguousarray(a, dtype=dtype)


def loop_mask(m, dtype):
    """``(mask, has_mask)`` for a loop: the (T, B, 1) 0/1 step mask from ``as_step_mask``, or an empty
    stand-in."""
    if m is None:
        return _NO_MASK[dtype], False
    return c_array(m, dtype), True


def loop_recurrent_mask(recurrent_mask, B, H, dtype):
    """``(recurrent_mask, has_recurrent_mask)`` for a loop: the (B, H) recurrent-dropout mask, or an empty
    stand-in."""
    if recurrent_mask is None:
        return _NO_RECURRENT_MASK[dtype], False
    return as_state(recurrent_mask, B, H, dtype), True


@jitable
def dropped_state(h, rmask, has_rmask, h_in):
    """What enters a compiled loop's recurrent product: h (B, H) itself without recurrent dropout (no copy),
    else ``h * rmask`` written into the buffer ``h_in`` (B, H) and returned.

    Example:
        >>> dropped_state(np.ones((1, 2)), np.array([[0.0, 2.0]]), True, np.empty((1, 2))).tolist()
        [[0.0, 2.0]]
    """
    if not has_rmask:
        return h
    for b in range(h.shape[0]):
        for j in range(h.shape[1]):
            h_in[b, j] = h[b, j] * rmask[b, j]
    return h_in


def as_state(a, B, H, dtype):
    """An initial state or its gradient as a C-contiguous (B, H) array; broadcasts like ``hs[0] = h0`` in the
    cells."""
    if np.shape(a) != (B, H):
        a = np.broadcast_to(a, (B, H))
    return c_array(a, dtype)


def require_unspent(cache):
    """Refuse a cache whose buffers a compiled backward pass has already reused (see :func:`mark_spent`)."""
    if cache.get("spent"):
        raise ValueError(
            "cache was already used by a backward pass of the compiled (Numba) loops, which write the "
            "gate gradients over the cache's gate values to save memory; run forward again to get a "
            "fresh cache for another backward pass"
        )


def mark_spent(cache):
    """Mark a cache as used up by a compiled backward pass, which wrote its gradients over the gate buffer."""
    cache["spent"] = True


def check_forward_args(G, x, states, weights, mask=None, *, extra=None, H=None):
    """Refuse, before any compiled loop runs, arguments whose shapes would make it read past an array's end.

    G is the cell's gate count; ``states`` maps names to initial states (or to ``(state, shape)`` when a
    state is not (B, H)), ``weights`` is (W_ih, W_hh, b_ih, b_hh); ``extra`` maps a variant's other parameters
    to ``(value, shape)``; ``H`` is the hidden size when W_hh is not (G*H, H) (an LSTM with projections: (4H,
    P)). The compiled loops index by the sizes of x and W_hh alone, so a short bias or state would be read out
    of bounds.

    Example:
        >>> check_forward_args(1, np.zeros((2, 3, 4)), {"h0": np.zeros((3, 5))},
        ...                    (np.zeros((5, 4)), np.zeros((5, 5)), np.zeros(5), np.zeros(2)))
        Traceback (most recent call last):
        ...
        ValueError: b_hh must have shape (G*H,) = (5,) (G = 1 gate blocks of H = 5), got (2,)
    """
    if np.ndim(x) != 3:
        raise ValueError(f"x must be a (T, B, I) array, got shape {np.shape(x)}")
    T, B, I = np.shape(x)
    W_hh = weights[1]
    R = np.shape(W_hh)[1] if np.ndim(W_hh) == 2 else -1  # what h_{t-1} has: H, or P
    H = R if H is None else H
    if np.ndim(W_hh) != 2 or np.shape(W_hh)[0] != G * H:
        raise ValueError(
            f"W_hh must have shape (G*H, {'H' if R == H else 'P'}) with G = {G}, H = {H}, "
            f"got {np.shape(W_hh)}"
        )
    expected = {"W_ih": (G * H, I), "W_hh": (G * H, R), "b_ih": (G * H,), "b_hh": (G * H,)}
    for (name, shape), value in zip(expected.items(), weights):
        if np.shape(value) != shape:
            what = {"W_ih": "(G*H, I)", "W_hh": "(G*H, H)"}.get(name, "(G*H,)")
            raise ValueError(
                f"{name} must have shape {what} = {shape} (G = {G} gate blocks of H = {H}), "
                f"got {np.shape(value)}"
            )
    for name, (value, shape) in (extra or {}).items():
        if np.shape(value) != tuple(shape):
            raise ValueError(f"{name} must have shape {tuple(shape)}, got {np.shape(value)}")
    for name, value in states.items():
        value, shape = value if isinstance(value, tuple) else (value, (B, H))
        _check_broadcastable(name, value, shape)
    if mask is not None and np.shape(mask) != (T, B):
        raise ValueError(f"mask must have shape (T, B) = {(T, B)}, got {np.shape(mask)}")


def check_backward_args(dout, dstates, cache):
    """Refuse output gradients whose shapes do not match the forward pass of ``cache`` (see
    check_forward_args)."""
    hs = cache["hs"]
    T, B, H = hs.shape[0] - 1, hs.shape[1], hs.shape[2]
    if np.shape(dout) != (T, B, H):
        raise ValueError(f"dout must have the output's shape (T, B, H) = {(T, B, H)}, got {np.shape(dout)}")
    for name, value in dstates.items():  # dh_n like hs[-1], dc_n like cs[-1]
        reference = cache.get("cs") if name == "dc_n" and "cs" in cache else hs
        _check_broadcastable(name, value, tuple(np.shape(reference)[1:]))


def _check_broadcastable(name, value, shape):
    try:
        np.broadcast_shapes(np.shape(value), shape)
    except ValueError:
        raise ValueError(f"{name} must have shape (B, H) = {shape}, got {np.shape(value)}") from None
