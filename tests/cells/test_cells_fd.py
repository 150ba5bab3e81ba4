"""Finite differences prove the hand-written backward of every cell: step and whole sequence, with and without padding,
for the input, the initial state(s) and every parameter, each tensor on its own.

The loss is L = sum(out * G) + sum(h_n * G_h) [+ sum(c_n * G_c)] with fixed random G (never a plain sum, which hides
errors that cancel across units); gradients are compared in float64 with central differences (eps = 1e-6).
"""
import numpy as np
import pytest

import gradcheck
from minirnn import kernels
from minirnn.cells import gru, lstm, rnn

T, B, I, H = 4, 3, 3, 4
GATES = {"rnn_tanh": 1, "rnn_relu": 1, "lstm": 4, "gru": 3}


def assert_gradients_match(analytic, numeric, name):
    """Normwise and entrywise: |a - n| <= 1e-7 * (1 + |n|) everywhere and ||a - n|| <= 1e-7 ||n||."""
    assert analytic.shape == numeric.shape, name
    scale = max(np.linalg.norm(numeric), 1e-12)
    assert np.linalg.norm(analytic - numeric) <= 1e-7 * scale, (name, np.linalg.norm(analytic - numeric) / scale)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8, err_msg=name)


def make_problem(cell, seed, with_mask):
    rng = np.random.default_rng(seed)
    G = GATES[cell] * H
    tensors = {"x": rng.normal(size=(T, B, I)), "h0": rng.normal(size=(B, H)) * 0.5,
               "W_ih": rng.normal(size=(G, I)) * 0.6, "W_hh": rng.normal(size=(G, H)) * 0.6,
               "b_ih": rng.normal(size=G) * 0.3, "b_hh": rng.normal(size=G) * 0.3}
    if cell == "lstm":
        tensors["c0"] = rng.normal(size=(B, H)) * 0.5
    upstream = {"out": rng.normal(size=(T, B, H)), "h_n": rng.normal(size=(B, H)), "c_n": rng.normal(size=(B, H))}
    mask = (np.arange(T)[:, None] < np.array([T, 2, 1])[None, :]) if with_mask else None
    return tensors, upstream, mask


def run(module, cell, tensors, upstream, mask):
    """Returns (loss, analytic grads) of L = sum(out*G) + sum(h_n*G_h) [+ sum(c_n*G_c)]."""
    p = tensors
    weights = (p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
    if cell == "lstm":
        out, h_n, c_n, cache = module.forward(p["x"], p["h0"], p["c0"], *weights, mask=mask)
        loss = np.sum(out * upstream["out"]) + np.sum(h_n * upstream["h_n"]) + np.sum(c_n * upstream["c_n"])
        return loss, module.backward(upstream["out"], upstream["h_n"], upstream["c_n"], cache)
    kwargs = {"nonlinearity": cell[4:]} if cell.startswith("rnn") else {}
    out, h_n, cache = module.forward(p["x"], p["h0"], *weights, mask=mask, **kwargs)
    loss = np.sum(out * upstream["out"]) + np.sum(h_n * upstream["h_n"])
    return loss, module.backward(upstream["out"], upstream["h_n"], cache)


CELL_MODULES = {"rnn_tanh": rnn, "rnn_relu": rnn, "lstm": lstm, "gru": gru}


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("cell", list(GATES))
def test_sequence_backward_matches_finite_differences(cell, with_mask, backend):
    module = CELL_MODULES[cell] if backend == "numpy" else getattr(kernels, CELL_MODULES[cell].__name__.split(".")[-1])
    tensors, upstream, mask = make_problem(cell, seed=1, with_mask=with_mask)
    _, analytic = run(module, cell, tensors, upstream, mask)
    for name, value in tensors.items():
        numeric = gradcheck.numerical_gradient(lambda: run(module, cell, tensors, upstream, mask)[0], value)
        assert_gradients_match(analytic[name], numeric, f"{cell} {name}")


def test_relu_problem_has_no_kinks_within_eps():
    """The ReLU checks above are only meaningful away from a = 0: no pre-activation lies within 1e-4 of zero."""
    tensors, _, _ = make_problem("rnn_relu", seed=1, with_mask=False)
    h = tensors["h0"]
    for t in range(T):
        a = tensors["x"][t] @ tensors["W_ih"].T + tensors["b_ih"] + h @ tensors["W_hh"].T + tensors["b_hh"]
        assert np.abs(a).min() > 1e-4
        h = np.maximum(a, 0)


@pytest.mark.parametrize("cell", list(GATES))
def test_step_backward_matches_finite_differences(cell):
    rng = np.random.default_rng(2)
    G = GATES[cell] * H
    p = {"x": rng.normal(size=(B, I)), "h": rng.normal(size=(B, H)), "c": rng.normal(size=(B, H)),
         "W_ih": rng.normal(size=(G, I)), "W_hh": rng.normal(size=(G, H)),
         "b_ih": rng.normal(size=G), "b_hh": rng.normal(size=G)}
    dh, dc = rng.normal(size=(B, H)), rng.normal(size=(B, H))
    weights = lambda: (p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
    if cell == "lstm":
        def loss():
            h, c, _ = lstm.step_forward(p["x"], p["h"], p["c"], *weights())
            return np.sum(h * dh) + np.sum(c * dc)
        grads = lstm.step_backward(dh, dc, lstm.step_forward(p["x"], p["h"], p["c"], *weights())[2])
        names = ["x", "h", "c", "W_ih", "W_hh", "b_ih", "b_hh"]
    else:
        module = CELL_MODULES[cell]
        kwargs = {"nonlinearity": cell[4:]} if cell.startswith("rnn") else {}
        def loss():
            return np.sum(module.step_forward(p["x"], p["h"], *weights(), **kwargs)[0] * dh)
        grads = module.step_backward(dh, module.step_forward(p["x"], p["h"], *weights(), **kwargs)[1])
        names = ["x", "h", "W_ih", "W_hh", "b_ih", "b_hh"]
    for name, analytic in zip(names, grads):
        assert_gradients_match(analytic, gradcheck.numerical_gradient(loss, p[name]), f"{cell} step {name}")
