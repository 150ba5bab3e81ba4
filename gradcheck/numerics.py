"""Finite-difference gradients and the checks built on them. Imports only NumPy; knows nothing of minirnn.

Every derivative here is a central difference in float64,

    df/dx_k  ~  (f(x + eps e_k) - f(x - eps e_k)) / (2 eps),

taken by perturbing the caller's array *in place* and writing the original value back bit for bit afterwards.
Its error is a truncation term ~ eps^2 f''' / 6 plus a round-off term ~ u |f| / eps (u = 2.2e-16): the total
is smallest near eps = 1e-5..1e-6, where it is about 1e-10 for well-scaled functions (``eps_sweep`` draws the
V-shaped curve). float32 is refused: its u = 1.2e-7 makes the round-off term ~1e-1 at eps = 1e-6, which
swamps any real bug.

Public functions:
    numerical_gradient(f, x, df=None, eps=1e-6)   one array's numeric gradient (the CS231n pattern)
    default_atol(loss_value, eps)                 the round-off level of a central difference of that loss
    check_gradients(f, params, grads, ...)        analytic gradients of a loss against numeric ones -> Report
    eps_sweep(f, params, grads, ...)              the same comparison for eps = 1e-2 .. 1e-10

What the checker accepts lives in ``arguments.py``; the check of one tensor (entry by entry or along a random
direction) and its verdict in ``comparison.py``; the table of results in ``report.py``.
"""

from __future__ import annotations

import numpy as np

from .arguments import _call_with_optional_x, _check_eps, _require_float64_array, _scalarise, _sign_pattern
from .comparison import _check_direction, _check_entries, _entry_indices
from .progress import Progress
from .report import Report

METHODS = ("full", "sampled", "direction")
EPS_SWEEP_VALUES = tuple(10.0**-k for k in range(2, 11))  # 1e-2, 1e-3, ..., 1e-10
_U = np.finfo(np.float64).eps


# -- one array, the CS231n pattern ------------------------------------------------------------------------
def numerical_gradient(f, x: np.ndarray, df=None, eps: float = 1e-6) -> np.ndarray:
    """Central-difference gradient of ``sum(f(x) * df)`` with respect to every entry of ``x``.

    ``f`` reads ``x`` itself (it is called as ``f()``; a one-argument ``f`` is called as ``f(x)``, so CS231n's
    ``lambda x: layer_forward(x, w)[0]`` works too). Each entry of ``x`` is set to ``x_k + eps`` and ``x_k -
    eps`` in place and then restored bit for bit. The step actually taken, ``(x_k + eps) - (x_k - eps)`` in
    float64, is the denominator, which removes the representation error of the step.

    Args:
        f: callable returning an array (any shape) or a scalar.
        x: float64 ndarray of any shape, perturbed in place.
        df: upstream gradient, the shape of ``f``'s output; None if ``f`` returns a scalar.
        eps: the half step.
    Returns:
        ndarray shaped like ``x``: entry k is ``sum((f(x + eps e_k) - f(x - eps e_k)) * df) / (2 eps)``.

    Example:
        >>> W = np.array([[1.0, 2.0], [3.0, 4.0]]); x = np.array([0.5, -1.0]); G = np.array([1.0, -2.0])
        >>> num = numerical_gradient(lambda: W @ x, W, G)      # d sum((W x) * G) / dW = outer(G, x)
        >>> bool(np.allclose(num, np.outer(G, x), atol=1e-8))
        True
    """
    x = _require_float64_array("x", x)
    eps = _check_eps(eps)
    if df is not None:
        df = np.asarray(df, dtype=np.float64)
    grad = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        old = x[idx]
        try:
            x[idx] = old + eps
            plus = _scalarise(_call_with_optional_x(f, x), df, "f")
            step = x[idx]
            x[idx] = old - eps
            minus = _scalarise(_call_with_optional_x(f, x), df, "f")
            step = step - x[idx]
        finally:
            x[idx] = old  # restored even when f raises
        grad[idx] = (plus - minus) / step
    return grad


def default_atol(loss_value: float, eps: float) -> float:
    """The absolute tolerance used when ``atol=None``: 100 round-offs of the loss divided by the step.

    A central difference of a loss of size |L| carries round-off of roughly ``u |L| / eps``; entries whose
    gradient is of that size cannot be judged relatively. ``100 * u * max(|L|, 1) / eps`` leaves a margin of a
    hundred.

    Example:
        >>> f"{default_atol(1.0, 1e-6):.1e}"
        '2.2e-08'
    """
    return float(100 * _U * max(abs(float(loss_value)), 1.0) / eps)


def check_gradients(
    f,
    params: dict,
    grads: dict,
    *,
    eps: float = 1e-6,
    method: str = "full",
    seed: int | None = 0,
    num_samples: int = 20,
    rtol: float = 1e-5,
    atol: float | None = None,
    df=None,
    names=None,
    preactivations=None,
    title: str = "",
    progress="auto",
) -> Report:
    """Compare analytic gradients of a loss with central differences, tensor by tensor.

    Each array in ``params`` is perturbed *in place* (``f`` must read those very arrays) and restored
    exactly. An entry passes when ``|a - n| <= atol + rtol * max(|a|, |n|)`` (a analytic, n numeric); a tensor
    passes when all its checked entries do. The default ``rtol=1e-5`` fails a gradient that is off by 0.1%
    (relative error 5e-4), which ``torch.autograd.gradcheck``'s rtol=1e-3 lets through.

    Args:
        f: ``f(params) -> float`` loss (or an array, with ``df`` given: the loss is ``sum(f(params) * df)``).
        params: dict name -> float64 ndarray, inputs and initial states included.
        grads: dict name -> analytic gradient of the loss, same shape as ``params[name]``.
        eps: the half step of the central difference.
        method: ``"full"`` every entry; ``"sampled"`` ``num_samples`` random entries per tensor;
            ``"direction"`` one random direction v per tensor, comparing ``sum(grad * v)`` with the
            directional difference (two evaluations per tensor, cheap for big models, but it cannot say which
            entry is wrong).
        seed: seeds the sampled entries and the random directions.
        num_samples: entries per tensor for ``method="sampled"``.
        rtol, atol: the tolerances above; ``atol=None`` uses ``default_atol(f(params), eps)`` (round-off
        level). df: the upstream gradient when ``f`` returns an array (CS231n style).
        names: which keys of ``params`` to check (default: all, in order).
        preactivations: optional ``g(params) -> array`` (or list/dict of arrays) of the values fed to
            ReLU-like kinks. Entries whose perturbation flips the sign of any of them are counted in
            ``row.kinks`` and excluded from the pass/fail decision (a central difference across a kink is not
            a derivative).
        title: a heading for the printed table.
        progress: ``"auto"`` draws a bar with the time left on stderr when the check is predicted to take more
            than 10 seconds (and suggests ``method="sampled"``); True always, False never.
    Returns:
        ``Report``: ``report.passed``, ``report.rows`` (``.name``, ``.max_abs_error``, ``.max_rel_error``,
        ``.passed``,
        ...), ``print(report)`` for the table, ``report.to_json()``.

    Example:
        >>> W = np.array([[0.3, -0.2], [0.1, 0.4]]); x = np.array([1.0, 2.0]); G = np.array([0.5, -1.5])
        >>> params = {"W": W, "x": x}
        >>> loss = lambda p: float(np.sum(np.tanh(p["W"] @ p["x"]) * G))
        >>> dz = (1 - np.tanh(W @ x) ** 2) * G
        >>> report = check_gradients(loss, params, {"W": np.outer(dz, x), "x": W.T @ dz})
        >>> report.passed, [r.name for r in report.rows]
        (True, ['W', 'x'])

    It is long because the loop that perturbs, restores and records each entry is kept in one piece:
    the restore-on-error guarantee is easier to see that way.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    eps = _check_eps(eps)
    if not isinstance(params, dict) or not params:
        raise TypeError(
            f"params must be a non-empty dict name -> float64 ndarray, got {type(params).__name__}"
        )
    if not isinstance(grads, dict):
        raise TypeError(f"grads must be a dict name -> ndarray, got {type(grads).__name__}")
    names = list(params) if names is None else list(names)
    analytic = {}
    for name in names:
        if name not in params:
            raise KeyError(f"names contains {name!r}, which is not a key of params ({list(params)})")
        _require_float64_array(f"params[{name!r}]", params[name])
        if name not in grads:
            raise KeyError(
                f"grads has no entry {name!r}; every checked tensor needs its analytic gradient "
                f"(grads has {list(grads)})"
            )
        g = np.asarray(grads[name], dtype=np.float64)
        if g.shape != params[name].shape:
            raise ValueError(
                f"grads[{name!r}] must have the shape of params[{name!r}] {params[name].shape}, got {g.shape}"
            )
        analytic[name] = (
            g.copy()
        )  # a copy: f may overwrite the caller's gradient buffers while we evaluate it
    if df is not None:
        df = np.asarray(df, dtype=np.float64)
    if num_samples < 1:
        raise ValueError(f"num_samples must be at least 1, got {num_samples}")

    def loss():
        return _scalarise(f(params), df, "f(params)")

    signs = (lambda: _sign_pattern(preactivations, params)) if preactivations is not None else None
    loss0 = loss()
    if not np.isfinite(loss0):
        raise ValueError(f"f(params) returned a non-finite loss {loss0}; the check needs a finite loss")
    noise = default_atol(loss0, eps)  # the round-off level of a central difference of this loss
    atol = noise if atol is None else float(atol)
    rng = np.random.default_rng(seed)
    rows = []
    chosen = {
        name: None if method == "direction" else _entry_indices(params[name].shape, method, num_samples, rng)
        for name in names
    }
    total = sum(1 if flat is None else flat.size for flat in chosen.values())
    hint = '; --method sampled (method="sampled") or direction takes seconds' if method == "full" else ""
    bar = Progress(total, "entries", show=progress, hint=hint) if progress else None
    done = 0
    try:
        for name in names:
            arr, flat = params[name], chosen[name]
            if flat is None:
                rows.append(
                    _check_direction(loss, arr, analytic[name], rng, eps, rtol, atol, name, signs, noise)
                )
                done += 1
                if bar is not None:
                    bar.update(done)
            elif flat.size:
                rows.append(
                    _check_entries(
                        loss, arr, analytic[name], flat, eps, rtol, atol, name, signs, noise, bar, done
                    )
                )
                done += flat.size
    finally:
        if bar is not None:
            bar.close()
    report = Report(
        rows=rows, title=title, method=method, eps=eps, rtol=rtol, atol=atol, seed=seed, loss=loss0
    )
    if rows and all(row.numeric_zero for row in rows):
        report.error = (
            "every numeric gradient is exactly zero: f may not be reading the parameters (it must "
            "compute the loss from the very arrays in params, which are perturbed in place)"
        )
    return report


def eps_sweep(
    f,
    params: dict,
    grads: dict,
    *,
    eps_values=EPS_SWEEP_VALUES,
    method: str = "full",
    seed: int | None = 0,
    num_samples: int = 20,
    df=None,
    names=None,
) -> dict:
    """Max relative and absolute error of every tensor for each eps: the V-shaped truncation/round-off curve.

    Large eps: truncation error ~ eps^2 dominates; small eps: round-off ~ 1/eps dominates; the bottom of the
    V is the best eps (about 1e-5..1e-6 in float64). The same entries are checked at every eps (same
    ``seed``).

    Returns:
        ``{"eps": [..], "max_rel_error": {name: [..]}, "max_abs_error": {name: [..]}, "norm_rel_error":
        {name: [..]}}`` lists aligned with ``eps``; ``gradcheck.plot.plot_eps_sweep`` draws it.

    Example:
        >>> x = np.array([0.7])
        >>> sweep = eps_sweep(lambda p: float(np.sin(p["x"][0])), {"x": x}, {"x": np.cos(x)})
        >>> best = sweep["eps"][int(np.argmin(sweep["max_rel_error"]["x"]))]
        >>> 1e-8 <= best <= 1e-3
        True
    """
    out = {
        "eps": [float(e) for e in eps_values],
        "max_rel_error": {},
        "max_abs_error": {},
        "norm_rel_error": {},
    }
    for eps in out["eps"]:
        report = check_gradients(
            f,
            params,
            grads,
            eps=eps,
            method=method,
            seed=seed,
            num_samples=num_samples,
            df=df,
            names=names,
            progress=False,
        )
        for row in report.rows:
            out["max_rel_error"].setdefault(row.name, []).append(row.max_rel_error)
            out["max_abs_error"].setdefault(row.name, []).append(row.max_abs_error)
            out["norm_rel_error"].setdefault(row.name, []).append(row.norm_rel_error)
    return out
