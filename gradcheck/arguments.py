"""What the checker accepts, and how it calls the user's function. Imports only NumPy and the standard
library.

The arrays it perturbs must be writeable float64 ndarrays (float32's round-off divided by a small eps swamps
any gradient, so it is refused with the fix in the message); ``eps`` is a positive finite number; a function
is called as ``f()`` or, if it takes an argument, ``f(x)`` (CS231n's ``lambda x: ...``); an array output is
turned into a loss ``sum(out * df)`` with the caller's ``df``. ``numerics.py`` uses these; nothing else does.
"""

from __future__ import annotations

import inspect

import numpy as np


def _require_float64_array(label: str, value) -> np.ndarray:
    """``value`` itself if it is a writeable float64 ndarray, else a ValueError/TypeError saying why and how
    to fix it."""
    if not isinstance(value, np.ndarray):
        raise TypeError(
            f"{label} must be a float64 numpy array (it is perturbed in place), got {type(value).__name__}; "
            f"wrap it with np.array({label}, dtype=np.float64) and pass that same array to your function"
        )
    if value.dtype == np.float32 or value.dtype == np.float16:
        raise ValueError(
            f"{label} is {value.dtype}: finite differences need float64, because {value.dtype} round-off "
            f"(about {np.finfo(value.dtype).eps:.0e} relative) divided by a small eps swamps the gradient; "
            f"cast with {label} = {label}.astype(np.float64) and run your function in float64"
        )
    if value.dtype != np.float64:
        raise ValueError(
            f"{label} must have dtype float64, got {value.dtype}; cast with "
            f"{label} = {label}.astype(np.float64)"
        )
    if not value.flags.writeable:
        raise ValueError(
            f"{label} is read-only, but it must be perturbed in place; pass a writeable copy "
            f"({label}.copy()) and make your function read that copy"
        )
    return value


def _check_eps(eps) -> float:
    """``eps`` as a float, or a ValueError if it is not a positive finite number."""
    eps = float(eps)
    if not (np.isfinite(eps) and eps > 0):
        raise ValueError(f"eps must be a positive finite number, got {eps!r}")
    return eps


def _call_with_optional_x(f, x):
    """Call ``f()`` if it takes no positional argument, else ``f(x)`` (the CS231n ``lambda x: ...`` style)."""
    try:
        sig = inspect.signature(f)
        takes_arg = any(
            p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD, p.VAR_POSITIONAL) and p.default is p.empty
            for p in sig.parameters.values()
        )
    except (TypeError, ValueError):  # builtins without a signature
        takes_arg = True
    return f(x) if takes_arg else f()


def _scalarise(value, df, label: str) -> float:
    """The loss ``sum(value * df)``, or ``value`` itself when ``df`` is None and ``value`` is a scalar."""
    value = np.asarray(value, dtype=np.float64)
    if df is None:
        if value.size != 1:
            raise ValueError(
                f"{label} returned an array of shape {value.shape} but df is None; return a scalar loss, "
                f"or pass df (the upstream gradient, same shape as the output) to check sum(f * df)"
            )
        return float(value.reshape(()))
    if value.shape != np.shape(df):
        raise ValueError(f"df must have the shape of {label}'s output {value.shape}, got {np.shape(df)}")
    return float(np.sum(value * df))


def _sign_pattern(preactivations, params):
    """Flattened boolean ``pre > 0`` of everything ``preactivations(params)`` returns (array, list or dict of
    arrays)."""
    pre = preactivations(params)
    if isinstance(pre, dict):
        pre = list(pre.values())
    if isinstance(pre, (list, tuple)):
        return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in pre]) > 0
    return np.asarray(pre, dtype=np.float64).ravel() > 0
