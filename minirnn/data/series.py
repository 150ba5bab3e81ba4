"""Time series for forecasting: synthetic sines, sliding windows, and the Nino sea-surface temperatures
shipped with the package."""

from __future__ import annotations

from importlib import resources

import numpy as np

from ..nn.validation import require_finite
from ._checks import check_int, make_rng

__all__ = ["sine_series", "make_windows", "nino_sst"]


def sine_series(n_steps, freqs=(0.02,), amplitudes=None, phases=None, noise=0.0, seed=None, *, rng=None):
    """A sum of sines sampled at t = 0, 1, ..., n_steps - 1, plus optional Gaussian noise.

        x_t = sum_k a_k sin(2 pi f_k t + phi_k) + noise * e_t,        e_t ~ N(0, 1)

    Args:
        n_steps: length, >= 2.  freqs: frequencies in cycles per step, each in (0, 0.5] (Nyquist).
        amplitudes: one per frequency (default all 1).  phases: radians, one per frequency (default all 0).
        noise: standard deviation of the added noise, >= 0.  seed / rng: randomness of the noise (and of
            nothing else).

    Returns:
        x (n_steps,) float64.

    Example:
        >>> x = sine_series(200, freqs=(0.01, 0.05), amplitudes=(1.0, 0.3), noise=0.1, seed=0)
        >>> x.shape
        (200,)
    """
    n_steps = check_int(n_steps, "n_steps", 2)
    freqs = np.atleast_1d(np.asarray(freqs, dtype=np.float64))
    if freqs.ndim != 1 or freqs.size == 0 or not np.all((freqs > 0) & (freqs <= 0.5)):
        raise ValueError(
            f"freqs must be one or more frequencies in (0, 0.5] cycles per step, got {freqs.tolist()}"
        )
    K = freqs.size
    amplitudes = np.ones(K) if amplitudes is None else np.atleast_1d(np.asarray(amplitudes, dtype=np.float64))
    phases = np.zeros(K) if phases is None else np.atleast_1d(np.asarray(phases, dtype=np.float64))
    for name, arr in (("amplitudes", amplitudes), ("phases", phases)):
        if arr.shape != (K,):
            raise ValueError(f"{name} must have one entry per frequency ({K}), got shape {arr.shape}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a standard deviation >= 0, got {noise!r}")
    g = make_rng(seed, rng)
    t = np.arange(n_steps, dtype=np.float64)
    x = (amplitudes[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    if noise:
        x = x + noise * g.standard_normal(n_steps)
    return x


def make_windows(series, window, horizon=1, stride=1):
    """Cut a series into (input window, following values) pairs for forecasting.

    Window i starts at s = i * stride: inputs are series[s : s + window], targets series[s + window : s +
    window + horizon]. N = (L - window - horizon) // stride + 1 windows.

    Args:
        series: (L,) or (L, F) array.  window >= 1.  horizon >= 1.  stride >= 1.

    Returns:
        inputs (window, N, F), targets (horizon, N, F), time-major (F = 1 for a 1-D series), float64 unless
        the series is float32.

    Example:
        >>> X, Y = make_windows(np.arange(10.0), window=3, horizon=2)
        >>> X.shape, Y.shape, X[:, 0, 0].tolist(), Y[:, 0, 0].tolist()
        ((3, 6, 1), (2, 6, 1), [0.0, 1.0, 2.0], [3.0, 4.0])
    """
    s = np.asarray(series)
    if not (np.issubdtype(s.dtype, np.floating) or np.issubdtype(s.dtype, np.integer)) or s.dtype == np.bool_:
        raise TypeError(f"series must be a real numeric array, got dtype {s.dtype}")
    if s.dtype != np.float32:
        s = s.astype(np.float64)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise ValueError(f"series must have shape (L,) or (L, F), got {np.shape(series)}")
    require_finite(s, "series")
    window = check_int(window, "window", 1)
    horizon = check_int(horizon, "horizon", 1)
    stride = check_int(stride, "stride", 1)
    L = s.shape[0]
    if L < window + horizon:
        raise ValueError(f"series must have at least window + horizon = {window + horizon} steps, got {L}")
    starts = np.arange(0, L - window - horizon + 1, stride)  # (N,)
    inputs = s[starts[None, :] + np.arange(window)[:, None]]  # (window, N, F)
    targets = s[starts[None, :] + window + np.arange(horizon)[:, None]]  # (horizon, N, F)
    return inputs, targets


_NINO_REGIONS = {"1+2": "nino12", "3": "nino3", "4": "nino4", "3.4": "nino34"}


def nino_sst(region="3.4", anomaly=False):
    """Monthly sea surface temperature of an equatorial Pacific "Niño" region, January 1950 - December 2010
    (real data).

    NOAA Climate Prediction Center indices (ERSST.v3b), public domain; see ``minirnn/data/README.md`` for the
    source and the regions. It has a yearly cycle plus the irregular El Niño / La Niña swings, a good first
    real series to forecast with ``make_windows``.

    Args:
        region: "1+2", "3", "4" or "3.4".  anomaly: if True, the departure from the month's mean instead of
            degrees.

    Returns:
        time (732,) float64 in years (1950.0 = January 1950, + 1/12 a month), sst (732,) float64 in degrees
        Celsius.

    Example:
        >>> t, sst = nino_sst("3.4")
        >>> t.shape, float(t[0]), float(sst[0])
        ((732,), 1950.0, 24.83)
    """
    if region not in _NINO_REGIONS:
        raise ValueError(f"region must be one of {sorted(_NINO_REGIONS)}, got {region!r}")
    text = resources.files("minirnn").joinpath("data", "nino_sst_monthly.csv").read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    header = lines[0].split(",")
    table = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    column = _NINO_REGIONS[region] + ("_anom" if anomaly else "")
    values = table[:, header.index(column)]
    time = table[:, 0] + (table[:, 1] - 1) / 12.0
    return time, values
