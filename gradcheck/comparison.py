"""Comparing analytic with numeric gradients, one tensor at a time: each check gives one :class:`Row`.

Read top to bottom: the errors of analytic ``a`` against numeric ``n`` (entry-wise ``|a - n|`` and
``|a - n| / max(|a| + |n|, 1e-8)``, normwise ``||a - n|| / (||a|| + ||n||)``), which entries are checked, the
verdict (the CS231n reading, or "suspicious" where round-off or kinks can explain a failure), and the two
checks: entry by entry (``method="full"`` or ``"sampled"``) and along one random direction
(``method="direction"``). Each perturbs the caller's array in place and restores it bit for bit, even when
the loss raises. ``numerics.check_gradients`` drives them. Imports only NumPy.
"""

from __future__ import annotations

import numpy as np

from .report import Row, reading


def _errors(a: np.ndarray, n: np.ndarray):
    """Entry-wise absolute and relative errors, and the normwise relative error, of analytic a vs numeric
    n."""
    abs_err = np.abs(a - n)
    rel_err = abs_err / np.maximum(np.abs(a) + np.abs(n), 1e-8)
    norm_rel = float(np.linalg.norm(a - n) / max(np.linalg.norm(a) + np.linalg.norm(n), 1e-8))
    return abs_err, rel_err, norm_rel


def _entry_indices(shape, method: str, num_samples: int, rng: np.random.Generator):
    """Flat indices of the entries to check: all of them, or ``num_samples`` distinct ones drawn with
    ``rng``."""
    size = int(np.prod(shape, dtype=np.int64))
    if method == "full" or num_samples >= size:
        return np.arange(size)
    return np.sort(rng.choice(size, size=num_samples, replace=False))


def _verdict(passed, norm_rel, failing, abs_err, noise):
    """The reading of a row: CS231n's for a passing one; for a failing one "suspicious" only where round-off
    (every failing error within 10 times ``noise = default_atol(loss, eps)``, the round-off of a central
    difference) or kinks (a few isolated entries, under 5%) can explain it, else "wrong"."""
    if passed:
        verdict = reading(norm_rel)
        return "suspicious" if verdict == "wrong" else verdict
    roundoff = bool(np.all(abs_err[failing] <= 10 * noise))
    isolated = failing.size > 1 and failing.sum() <= 0.05 * failing.size
    return "suspicious" if roundoff or isolated else "wrong"


def _check_entries(
    loss, arr, analytic, flat_indices, eps, rtol, atol, name, signs, noise, bar=None, offset=0
):
    """Row for an entry-wise (full or sampled) check of one tensor."""
    numeric = np.empty(len(flat_indices))
    kinked = np.zeros(len(flat_indices), dtype=bool)
    for j, flat in enumerate(flat_indices):
        idx = np.unravel_index(flat, arr.shape)
        old = arr[idx]
        try:
            arr[idx] = old + eps
            plus = loss()
            sign_plus = signs() if signs else None
            step = arr[idx]
            arr[idx] = old - eps
            minus = loss()
            sign_minus = signs() if signs else None
            step = step - arr[idx]
        finally:
            arr[idx] = old  # restored even when f raises
        numeric[j] = (plus - minus) / step
        if signs:
            kinked[j] = bool(np.any(sign_plus != sign_minus))
        if bar is not None:
            bar.update(offset + j + 1)
    a = analytic.ravel()[flat_indices]
    abs_err, rel_err, norm_rel = _errors(a, numeric)
    scaled = abs_err / (atol + rtol * np.maximum(np.abs(a), np.abs(numeric)))
    scaled = np.where(np.isnan(scaled), np.inf, scaled)
    decisive = scaled[~kinked]
    passed = bool(np.all(decisive <= 1.0)) and bool(np.all(np.isfinite(numeric)))
    ranking = np.where(kinked, -1.0, scaled) if not kinked.all() else scaled
    worst = int(np.argmax(ranking))
    failing = (scaled > 1.0) & ~kinked
    return Row(
        name=name,
        shape=tuple(arr.shape),
        checked=len(flat_indices),
        max_abs_error=float(abs_err.max()),
        max_rel_error=float(rel_err.max()),
        norm_rel_error=norm_rel,
        worst_index=tuple(int(i) for i in np.unravel_index(flat_indices[worst], arr.shape)),
        worst_analytic=float(a[worst]),
        worst_numeric=float(numeric[worst]),
        passed=passed,
        kinks=int(kinked.sum()),
        verdict=_verdict(passed, norm_rel, failing, abs_err, noise),
        numeric_zero=bool(np.all(numeric == 0)),
    )


def _check_direction(loss, arr, analytic, rng, eps, rtol, atol, name, signs, noise):
    """Row for a random-direction check: compare sum(grad * v) with (L(p + eps v) - L(p - eps v)) / 2eps."""
    v = rng.standard_normal(arr.shape)
    original = arr.copy()
    try:
        arr[...] = original + eps * v
        plus = loss()
        sign_plus = signs() if signs else None
        arr[...] = original - eps * v
        minus = loss()
        sign_minus = signs() if signs else None
    finally:
        arr[...] = original  # restored even when f raises
    numeric = (plus - minus) / (2 * eps)
    a = float(np.sum(analytic * v))
    abs_err, rel_err, norm_rel = _errors(np.array([a]), np.array([numeric]))
    kink = bool(np.any(sign_plus != sign_minus)) if signs else False
    passed = (kink or bool(abs_err[0] <= atol + rtol * max(abs(a), abs(numeric)))) and bool(
        np.isfinite(numeric)
    )
    return Row(
        name=name,
        shape=tuple(arr.shape),
        checked=1,
        max_abs_error=float(abs_err[0]),
        max_rel_error=float(rel_err[0]),
        norm_rel_error=norm_rel,
        worst_index=None,
        worst_analytic=a,
        worst_numeric=float(numeric),
        passed=passed,
        kinks=int(kink),
        verdict=_verdict(passed, norm_rel, np.array([not passed]), abs_err, noise),
        numeric_zero=bool(numeric == 0),
    )
