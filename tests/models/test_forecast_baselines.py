"""Multi-step forecasting: recursive_forecast against an explicit loop and the closed form of an AR(1); the direct
Forecaster head (horizon > 1) by finite differences and its lead-1 block against the one-step model; LinearAR
against known AR coefficients (one step, direct = powers, recursive = direct for a noiseless process);
climatology, damped anomaly and RMSE per lead against hand-computed values; bad input."""
import numpy as np
import pytest

from gradcheck import check_gradients
from minirnn.models import (
    Forecaster,
    LinearAR,
    anomaly_forecast,
    autocorrelation,
    climatology,
    recursive_forecast,
    rmse_by_lead,
)


def _ar1_windows(a=0.8, T=5, N=40, K=4, seed=0):
    """Noiseless AR(1) paths x_{t+1} = a x_t from random starts, cut into windows and the K values after."""
    x0 = np.random.default_rng(seed).normal(size=N)
    path = x0[None, :] * a ** np.arange(T + K)[:, None]           # (T + K, N)
    return path[:T, :, None], path[T:, :, None]                    # (T, N, 1), (K, N, 1)


def test_linear_ar_recovers_the_coefficients_of_a_noiseless_ar2():
    a1, a2, c = 0.5, -0.3, 0.2                                     # s_t = c + a1 s_{t-1} + a2 s_{t-2}
    s = list(np.random.default_rng(1).normal(size=(6, 50)))       # 50 paths, 6 random steps each
    s.append(c + a1 * s[-1] + a2 * s[-2])                          # the 7th step follows the AR(2)
    x, y = np.array(s[:6])[:, :, None], np.array(s[6:])[:, :, None]   # (6, 50, 1), (1, 50, 1)
    ar = LinearAR(2).fit(x, y)                                     # reads only the last two of the 6 steps
    np.testing.assert_allclose(ar.coef[:, 0], [a2, a1, c], atol=1e-12)   # oldest lag first, then the constant
    np.testing.assert_allclose(ar(x), y, atol=1e-12)
    assert ar.num_parameters() == 3 and repr(ar) == "LinearAR(2, horizon=1)"


def test_direct_linear_ar_on_an_ar1_learns_the_powers_and_recursive_matches_direct():
    x, y = _ar1_windows(a=0.8, K=4)
    direct = LinearAR(1, horizon=4).fit(x, y)
    np.testing.assert_allclose(direct.coef[0], 0.8 ** np.arange(1, 5), atol=1e-10)   # y_{t+k} = a^k x_t
    one = LinearAR(1).fit(x, y[:1])
    np.testing.assert_allclose(recursive_forecast(one, x, 4), y, atol=1e-10)         # the closed form a^k x_t
    np.testing.assert_allclose(direct(x), y, atol=1e-10)


def test_recursive_forecast_feeds_the_models_own_predictions_back():
    f = Forecaster("gru", 1, 5, seed=3, backend="numpy")
    x = np.random.default_rng(3).normal(size=(7, 4, 1))
    got = recursive_forecast(f, x, 3)
    w = x.copy()                                                   # an explicit loop, step by step
    y1 = f(w)[0]
    y2 = f(np.concatenate([w[1:], y1[None]]))[0]
    y3 = f(np.concatenate([w[2:], y1[None], y2[None]]))[0]
    np.testing.assert_allclose(got, np.stack([y1, y2, y3]), atol=1e-14)
    assert not np.allclose(got[1], got[0])


def test_direct_forecaster_lead_one_equals_the_one_step_model_with_the_same_weights():
    one = Forecaster("gru", 1, 6, seed=4, backend="numpy")
    direct = Forecaster("gru", 1, 6, horizon=3, seed=9, backend="numpy")
    for name, p in one.rnn.params.items():
        direct.rnn.params[name][...] = p
    direct.fc.weight[0] = one.fc.weight[0]                         # the rows of lead 1 (output_size 1)
    direct.fc.bias[0] = one.fc.bias[0]
    x = np.random.default_rng(4).normal(size=(8, 3, 1))
    np.testing.assert_allclose(direct(x)[0], one(x)[0], rtol=0, atol=1e-15)
    assert direct(x).shape == (3, 3, 1)


def test_gradcheck_direct_forecaster_with_horizon_three():
    rng = np.random.default_rng(6)
    f = Forecaster("gru", 2, 3, output_size=2, horizon=3, seed=6, backend="numpy")
    x = rng.normal(size=(5, 2, 2))
    G = rng.normal(size=(3, 2, 2))
    params = {"x": x, **f.params}

    def loss(p):
        return float(np.sum(f(p["x"]) * G))

    loss(params)
    grads = {"x": f.backward(G), **f.grads}
    report = check_gradients(loss, params, grads)
    assert report.passed, str(report)


def test_climatology_anomaly_and_rmse_by_lead_against_hand_values():
    s = np.array([1.0, 2.0, 3.0, 3.0, 4.0, 5.0])                   # period 3: means 2, 3, 4
    clim = climatology(s, period=3)
    np.testing.assert_allclose(clim, [2.0, 3.0, 4.0])
    last, phase = np.array([5.0, 1.0]), np.array([2, 0])           # anomalies +1 (phase 2) and -1 (phase 0)
    np.testing.assert_allclose(anomaly_forecast(last, phase, clim, 2), [[3.0, 2.0], [4.0, 3.0]])
    np.testing.assert_allclose(anomaly_forecast(last, phase, clim, 2, damping=[0.5, 0.25]),
                               [[2.5, 2.5], [3.25, 3.75]])
    np.testing.assert_allclose(anomaly_forecast(last, phase, clim, 2, damping=0), [[2.0, 3.0], [3.0, 4.0]])
    a = np.array([1.0, 2.0, 0.0, 1.0])                             # mean 1: deviations 0, 1, -1, 0
    np.testing.assert_allclose(autocorrelation(a, 2), [-1.0 / 2.0, 0.0])
    np.testing.assert_allclose(rmse_by_lead(np.array([[3.0, 4.0], [0.0, 0.0]]), np.zeros((2, 2))),
                               [np.sqrt(12.5), 0.0])


@pytest.mark.parametrize("call, error, message", [
    (lambda: LinearAR(0), ValueError, "order must be an integer >= 1, got 0"),
    (lambda: LinearAR(3)(np.zeros((3, 2, 1))), RuntimeError, "LinearAR called before fit"),
    (lambda: LinearAR(3).fit(np.zeros((2, 9, 1)), np.zeros((1, 9, 1))), ValueError, "at least order = 3 steps"),
    (lambda: LinearAR(1, horizon=2).fit(np.zeros((2, 9, 1)), np.zeros((1, 9, 1))), ValueError,
     r"y must have shape \(horizon, N, O\) = \(2, 9, O\)"),
    (lambda: LinearAR(2).fit(np.zeros((2, 2, 1)), np.zeros((1, 2, 1))), ValueError, "at least p \\* F \\+ 1 = 3"),
    (lambda: LinearAR(1).fit(np.full((2, 3, 1), np.nan), np.zeros((1, 3, 1))), ValueError, "x contains NaN or Inf"),
    (lambda: LinearAR(1).fit(np.eye(3)[None, :, :2], np.zeros((1, 3, 1)))(np.zeros((1, 3, 1))), ValueError,
     r"x must have 2 features \(the fitted ones\), got shape \(1, 3, 1\)"),
    (lambda: recursive_forecast(LinearAR(1).fit(np.ones((1, 3, 1)) * [[[1], [2], [3]]], np.ones((1, 3, 1))),
                                np.zeros((4, 2)), 3), ValueError, "x must have 3 dimensions"),
    (lambda: recursive_forecast(Forecaster("gru", 1, 2, seed=0), np.zeros((4, 2, 1)), 0), ValueError,
     "steps must be a positive integer, got 0"),
    (lambda: recursive_forecast(Forecaster("gru", 1, 2, output_size=2, seed=0), np.zeros((4, 2, 1)), 2),
     ValueError, "the same N and F"),
    (lambda: climatology(np.zeros(5), period=12), ValueError, "at least one full period"),
    (lambda: anomaly_forecast(np.zeros(2), np.array([0.0, 1.0]), np.zeros(3), 2), ValueError,
     "last_phase must be integers"),
    (lambda: anomaly_forecast(np.zeros(2), np.array([0, 3]), np.zeros(3), 2), ValueError, r"in 0\.\.2, got 0\.\.3"),
    (lambda: anomaly_forecast(np.zeros(2), np.array([0, 1]), np.zeros(3), 2, damping=[1.0]), ValueError,
     r"damping must be a number or have shape \(horizon,\) = \(2,\)"),
    (lambda: rmse_by_lead(np.zeros((2, 3)), np.zeros((3, 2))), ValueError, "the same shape"),
    (lambda: autocorrelation(np.zeros(3), 3), ValueError, "longer than max_lag = 3"),
    (lambda: climatology(np.array([True, False]), period=1), TypeError, "real numeric array"),
])
def test_bad_input_is_a_sentence_naming_the_argument(call, error, message):
    with pytest.raises(error, match=message):
        call()
