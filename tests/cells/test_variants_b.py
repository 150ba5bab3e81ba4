"""Finite differences prove the backward of the issue-18 variants on both backends: recurrent dropout (a fixed (B, H)
mask on h_{t-1}) for RNN, LSTM and GRU, and the layer-normalised LSTM and GRU, with and without padding, for the
input, the initial state(s) and every parameter, each tensor on its own.

The loss is L = sum(out * G) + sum(h_n * G_h) [+ sum(c_n * G_c)] with fixed random G; central differences in float64
(eps = 1e-6). The readable and the compiled loops must also agree with each other in float32.
"""
import numpy as np
import pytest

import gradcheck
from minirnn.cells import registry

T, B, I, H = 4, 3, 3, 4


def assert_gradients_match(analytic, numeric, name):
    """Normwise and entrywise: |a - n| <= 1e-7 * (1 + |n|) everywhere and ||a - n|| <= 1e-7 ||n||."""
    assert analytic.shape == numeric.shape, name
    scale = max(np.linalg.norm(numeric), 1e-12)
    assert np.linalg.norm(analytic - numeric) <= 1e-7 * scale, (name, np.linalg.norm(analytic - numeric) / scale)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8, err_msg=name)


def make_problem(cell, seed, with_mask, dropout, dtype=np.float64):
    """Random inputs, states, weights (gains near 1), upstream gradients, padding mask and recurrent mask."""
    rng = np.random.default_rng(seed)
    shapes = cell.parameter_shapes(I, H)
    weights = []
    for (base, _), shape in zip(cell.parameters, shapes.values()):
        scale = 0.3 if "bias" in base else 0.6
        w = rng.normal(size=shape) * scale
        weights.append(1 + 0.3 * w if base.startswith("ln_") and base.endswith("weight") else w)
    states = tuple(rng.normal(size=(B, H)) * 0.5 for _ in cell.states)
    upstream = (rng.normal(size=(T, B, H)),) + tuple(rng.normal(size=(B, H)) for _ in cell.states)
    mask = (np.arange(T)[:, None] < np.array([T, 2, 1])[None, :]) if with_mask else None
    rmask = (rng.random((B, H)) >= 0.4) / 0.6 if dropout else None
    cast = lambda a: a.astype(dtype)                                  # noqa: E731
    return (cast(rng.normal(size=(T, B, I))), tuple(map(cast, states)), tuple(map(cast, weights)),
            tuple(map(cast, upstream)), mask, None if rmask is None else cast(rmask))


def run(cell, backend, x, states, weights, upstream, mask, rmask):
    """Returns (loss, dx, dstates0, dweights by argument name)."""
    out, finals, cache = cell.forward(x, states, weights, mask, backend=backend, recurrent_mask=rmask)
    loss = np.sum(out * upstream[0]) + sum(np.sum(f * g) for f, g in zip(finals, upstream[1:]))
    dx, d0, dw = cell.backward(upstream[0], upstream[1:], cache)
    return loss, dx, d0, dw


CASES = [("rnn", True), ("lstm", True), ("gru", True), ("ln_lstm", False), ("ln_lstm", True), ("ln_gru", False),
         ("ln_gru", True)]


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("with_mask", [False, True])
@pytest.mark.parametrize("name,dropout", CASES)
def test_variant_backward_matches_finite_differences(name, dropout, with_mask, backend):
    cell = registry.get(name)
    x, states, weights, upstream, mask, rmask = make_problem(cell, 3, with_mask, dropout)
    _, dx, d0, dw = run(cell, backend, x, states, weights, upstream, mask, rmask)

    def loss():
        return run(cell, "numpy", x, states, weights, upstream, mask, rmask)[0]

    assert_gradients_match(dx, gradcheck.numerical_gradient(loss, x), f"{name} x")
    for state, value, analytic in zip(cell.states, states, d0):
        assert_gradients_match(analytic, gradcheck.numerical_gradient(loss, value), f"{name} {state}0")
    for (_, arg), value in zip(cell.parameters, weights):
        assert_gradients_match(dw[arg], gradcheck.numerical_gradient(loss, value), f"{name} {arg}")


@pytest.mark.parametrize("name,dropout", CASES)
def test_variant_compiled_loop_matches_readable_loop_in_float32(name, dropout):
    cell = registry.get(name)
    x, states, weights, upstream, mask, rmask = make_problem(cell, 4, True, dropout, dtype=np.float32)
    ref = run(cell, "numpy", x, states, weights, upstream, mask, rmask)
    fast = run(cell, "numba", x, states, weights, upstream, mask, rmask)
    np.testing.assert_allclose(fast[0], ref[0], rtol=1e-4)
    np.testing.assert_allclose(fast[1], ref[1], rtol=1e-4, atol=1e-5)
    for a, b in zip(fast[2], ref[2]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    for arg in ref[3]:
        assert fast[3][arg].dtype == np.float32, arg
        np.testing.assert_allclose(fast[3][arg], ref[3][arg], rtol=1e-4, atol=1e-5, err_msg=arg)


def test_recurrent_mask_of_ones_changes_nothing():
    """The mask path with m = 1 gives the numbers of the no-dropout path (same loop, one multiplication by 1)."""
    for name in ("rnn", "lstm", "gru", "ln_lstm", "ln_gru"):
        cell = registry.get(name)
        x, states, weights, upstream, mask, _ = make_problem(cell, 5, True, False)
        for backend in ("numpy", "numba"):
            plain = run(cell, backend, x, states, weights, upstream, mask, None)
            ones = run(cell, backend, x, states, weights, upstream, mask, np.ones((B, H)))
            assert plain[0] == ones[0]
            for arg in plain[3]:
                np.testing.assert_array_equal(plain[3][arg], ones[3][arg])


@pytest.mark.parametrize("name", ["lstm", "gru", "ln_lstm", "ln_gru"])
def test_variant_step_backward_matches_finite_differences(name):
    """step_forward / step_backward (one step, recurrent mask on) against central differences."""
    cell = registry.get(name)
    module = cell.implementation("numpy")
    x, states, weights, upstream, _, rmask = make_problem(cell, 6, False, True)
    x = x[0]
    n_states = len(cell.states)

    def step(*states_and_weights):
        return module.step_forward(x, *states_and_weights, recurrent_mask=rmask)

    def loss():
        result = step(*states, *weights)
        return sum(np.sum(r * g) for r, g in zip(result[:n_states], upstream[1:]))

    result = step(*states, *weights)
    grads = module.step_backward(*upstream[1:], result[n_states])
    tensors = (x, *states, *weights)
    assert len(grads) == len(tensors)
    for k, (analytic, value) in enumerate(zip(grads, tensors)):
        assert_gradients_match(analytic, gradcheck.numerical_gradient(loss, value), f"{name} step tensor {k}")
