"""The baselines a forecaster must beat: a least-squares linear autoregression on the same window (one step
ahead, or direct: one coefficient vector per lead time), climatology, and climatology plus the last month's
anomaly (persisted or damped); and the error against lead time that compares them.

Every function here is closed form (``numpy.linalg.lstsq`` and means): nothing is trained, nothing is random.
Multi-step forecasts by feeding a model its own predictions are ``recursive_forecast`` in ``forecaster.py``;
it takes a ``LinearAR`` as readily as a ``Forecaster``.
"""

from __future__ import annotations

import numpy as np

from ..data._checks import check_int
from ..nn.validation import require_finite

__all__ = ["LinearAR", "climatology", "anomaly_forecast", "autocorrelation", "rmse_by_lead"]


def _real_array(value, name, ndim):
    a = np.asarray(value)
    if a.dtype == np.bool_ or not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise TypeError(f"{name} must be a real numeric array, got dtype {a.dtype}")
    if a.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {a.shape}")
    a = a.astype(np.float64)
    require_finite(a, name)
    return a


class LinearAR:
    """Least-squares linear autoregression of order p on time-major windows: AR(p), one step or direct.

        y_hat[k, n] = c_k + sum_{j=1..p} a_{k,j} x[T-j, n]          k = 0 .. horizon-1 (lead k+1)

    ``fit(x, y)`` solves min ||A w_k - y[k]||^2 for each lead separately (one ``lstsq`` with ``horizon``
    right-hand sides), with A = [the last p steps of each window, 1]: with ``horizon=1`` it is the usual
    one-step AR(p); with ``horizon=K`` it is the *direct* forecaster, a separate linear map per lead time.
    Univariate (F = 1) and multivariate windows alike: the features are the last p steps of all F inputs,
    and there is one map per output.

    Args:
        order (p >= 1), horizon (>= 1).

    Attributes (after ``fit``):
        coef (p * F + 1, horizon * O): the weights, lags oldest first, then the constant.

    Example:
        >>> x = np.arange(20.0)[:, None, None] + np.arange(30.0)[None, :, None]    # (20, 30, 1) ramps
        >>> ar = LinearAR(2, horizon=3).fit(x[:-3], x[-3:])                     # predict the next 3
        >>> ar
        LinearAR(2, horizon=3)
        >>> np.round(ar(x[:-3])[:, 0, 0], 6).tolist()                             # a ramp continues
        [17.0, 18.0, 19.0]
    """

    def __init__(self, order, horizon=1):
        self.order = check_int(order, "order", 1)
        self.horizon = check_int(horizon, "horizon", 1)
        self.coef = None

    def _features(self, x):
        x = _real_array(x, "x", 3)  # (T, N, F)
        if x.shape[0] < self.order:
            raise ValueError(f"x must have at least order = {self.order} steps, got shape {x.shape}")
        if self.coef is not None and (self.order * x.shape[2] + 1) != self.coef.shape[0]:
            raise ValueError(f"x must have {self._F} features (the fitted ones), got shape {x.shape}")
        lags = x[-self.order :].transpose(1, 0, 2).reshape(x.shape[1], -1)  # (N, p * F), oldest first
        return np.c_[lags, np.ones(x.shape[1])]  # (N, p * F + 1)

    def fit(self, x, y):
        """x (T, N, F) windows, y (horizon, N, O) the values that follow; returns self."""
        self.coef = None
        A = self._features(x)  # (N, p F + 1)
        y = _real_array(y, "y", 3)
        if y.shape[:2] != (self.horizon, A.shape[0]):
            raise ValueError(
                f"y must have shape (horizon, N, O) = ({self.horizon}, {A.shape[0]}, O), got {y.shape}"
            )
        if A.shape[0] < A.shape[1]:
            raise ValueError(f"fit needs at least p * F + 1 = {A.shape[1]} windows, got {A.shape[0]}")
        self._F, self._O = (A.shape[1] - 1) // self.order, y.shape[2]
        Y = y.transpose(1, 0, 2).reshape(y.shape[1], -1)  # (N, horizon * O)
        self.coef, *_ = np.linalg.lstsq(A, Y, rcond=None)  # (p F + 1, horizon * O)
        return self

    def __call__(self, x):
        """x (T, N, F) -> y_hat (horizon, N, O)."""
        if self.coef is None:
            raise RuntimeError("LinearAR called before fit")
        Y = self._features(x) @ self.coef  # (N, horizon * O)
        return Y.reshape(-1, self.horizon, self._O).transpose(1, 0, 2)

    def num_parameters(self):
        """The number of fitted numbers, (p F + 1) * horizon * O (24 lags + 1 constant = 25 for AR(24))."""
        return 0 if self.coef is None else int(self.coef.size)

    def __repr__(self):
        return f"LinearAR({self.order}, horizon={self.horizon})"


def climatology(series, period=12):
    """The mean of each phase of the cycle: clim[m] = mean of series[t] over t = m, m + period, ...

    Args:
        series (L,) with L >= period, its first value at phase 0 (January for monthly data from January).
        period (>= 1).

    Returns:
        clim (period,).

    Example:
        >>> climatology(np.array([1.0, 5.0, 3.0, 7.0]), period=2).tolist()
        [2.0, 6.0]
    """
    s = _real_array(series, "series", 1)
    period = check_int(period, "period", 1)
    if len(s) < period:
        raise ValueError(f"series must hold at least one full period ({period} values), got {len(s)}")
    return np.array([s[m::period].mean() for m in range(period)])


def autocorrelation(series, max_lag):
    """Sample autocorrelation rho_k = sum_t a_t a_{t+k} / sum_t a_t^2 of a = series - mean, k = 1..max_lag.

    Returns rho (max_lag,). Used to damp a persisted anomaly: for a stationary series, the best linear
    forecast of the anomaly k steps ahead from today's anomaly alone is rho_k times today's.

    Example:
        >>> np.round(autocorrelation(np.array([1.0, -1.0, 1.0, -1.0]), 2), 3).tolist()
        [-0.75, 0.5]
    """
    a = _real_array(series, "series", 1)
    max_lag = check_int(max_lag, "max_lag", 1)
    if len(a) <= max_lag:
        raise ValueError(f"series must be longer than max_lag = {max_lag}, got {len(a)} values")
    a = a - a.mean()
    return np.array([np.dot(a[:-k], a[k:]) for k in range(1, max_lag + 1)]) / np.dot(a, a)


def anomaly_forecast(last, last_phase, clim, horizon, damping=1.0):
    """Climatology plus the last observed anomaly, persisted (damping 1), damped, or dropped (damping 0).

        y_hat[k-1, n] = clim[(phase_n + k) mod P] + d_k (last_n - clim[phase_n])          k = 1 .. horizon

    Args:
        last (N,): the last observed value of each forecast; last_phase (N,) ints: its phase (month 0..P-1).
        clim (P,): from ``climatology`` (training years only).  horizon (>= 1).
        damping: d_k, a number (the same for every lead) or (horizon,): 1 = persisted anomaly, 0 =
            climatology alone, ``autocorrelation(anomalies, horizon)`` = damped persistence.

    Returns:
        y_hat (horizon, N).

    Example:
        >>> clim = np.array([0.0, 10.0, 20.0])
        >>> anomaly_forecast(np.array([12.0]), np.array([1]), clim, 3).ravel().tolist()   # 2 above the mean
        [22.0, 2.0, 12.0]
        >>> anomaly_forecast(np.array([12.0]), np.array([1]), clim, 2, damping=0).ravel().tolist()
        [20.0, 0.0]
    """
    last = _real_array(last, "last", 1)
    clim = _real_array(clim, "clim", 1)
    horizon = check_int(horizon, "horizon", 1)
    phase = np.asarray(last_phase)
    if not np.issubdtype(phase.dtype, np.integer) or phase.shape != last.shape:
        raise ValueError(
            f"last_phase must be integers of shape {last.shape}, got dtype {phase.dtype}, shape {phase.shape}"
        )
    if phase.size and (phase.min() < 0 or phase.max() >= len(clim)):
        raise ValueError(f"last_phase must lie in 0..{len(clim) - 1}, got {phase.min()}..{phase.max()}")
    d = _real_array(np.broadcast_to(damping, (horizon,)) if np.ndim(damping) == 0 else damping, "damping", 1)
    if d.shape != (horizon,):
        raise ValueError(f"damping must be a number or have shape (horizon,) = ({horizon},), got {d.shape}")
    k = np.arange(1, horizon + 1)[:, None]  # (horizon, 1)
    anomaly = last - clim[phase]  # (N,)
    return clim[(phase[None, :] + k) % len(clim)] + d[:, None] * anomaly[None, :]  # (horizon, N)


def rmse_by_lead(pred, target):
    """Root mean squared error per lead time: sqrt(mean over n (and features) of (pred[k] - target[k])^2).

    Args:
        pred, target: the same shape, (horizon, N) or (horizon, N, F).

    Returns:
        (horizon,).

    Example:
        >>> rmse_by_lead(np.array([[1.0, -1.0], [3.0, -1.0]]), np.zeros((2, 2))).tolist()   # sqrt(10 / 2)
        [1.0, 2.23606797749979]
    """
    p = _real_array(pred, "pred", np.ndim(pred))
    t = _real_array(target, "target", np.ndim(target))
    if p.shape != t.shape or p.ndim not in (2, 3):
        raise ValueError(
            f"pred and target must have the same shape (horizon, N[, F]), got {p.shape} and {t.shape}"
        )
    return np.sqrt(np.mean((p - t).reshape(len(p), -1) ** 2, axis=1))
