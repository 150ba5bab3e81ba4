"""Properties of the layers over random configurations (hypothesis): cell x layers x directions x batch_first x lengths
x dtype x backend x sizes, T, B, H down to 1.

For every drawn configuration: the shapes and dtypes are right, outputs (and input gradients) at padded steps are
zero, read-only and non-contiguous inputs give the same numbers, the NumPy and Numba backends agree, and the values
and gradients match torch.nn.RNN/LSTM/GRU on the same weights.

The "ci" profile is fixed (derandomized: the same examples every run) and small enough for CI; each dtype x cell
compiles its Numba loops once per process, so the examples reuse a handful of compiled signatures. Run
``MINIRNN_HYPOTHESIS_PROFILE=thorough pytest tests/test_properties.py`` for a longer, randomized search.
"""
from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import minirnn

import torch  # noqa: E402, F401  (the test extra: a missing torch fails here, it is never skipped)
from torch_reference import torch_forward_backward  # noqa: E402

settings.register_profile("ci", max_examples=40, deadline=None, derandomize=True, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("thorough", max_examples=500, deadline=None, print_blob=True,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("MINIRNN_HYPOTHESIS_PROFILE", "ci"))

CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")
TOLERANCE = {np.float64: 1e-10, np.float32: 1e-4}      # relative to the scale of the reference arrays


@st.composite
def configs(draw, backends=("numpy", "numba")):
    """A random layer configuration and problem size."""
    T, B = draw(st.integers(1, 6)), draw(st.integers(1, 3))
    return dict(
        cell=draw(st.sampled_from(CELLS)),
        num_layers=draw(st.integers(1, 3)),
        bidirectional=draw(st.booleans()),
        batch_first=draw(st.booleans()),
        dtype=draw(st.sampled_from([np.float64, np.float32])),
        backend=draw(st.sampled_from(backends)),
        T=T, B=B, I=draw(st.integers(1, 4)), H=draw(st.integers(1, 4)),
        lengths=draw(st.none() | st.lists(st.integers(1, T), min_size=B, max_size=B)),
        with_states=draw(st.booleans()),
        seed=draw(st.integers(0, 2**16)),
    )


def make_layer(c, backend=None):
    kwargs = dict(num_layers=c["num_layers"], bidirectional=c["bidirectional"], batch_first=c["batch_first"],
                  dtype=c["dtype"], seed=c["seed"], backend=backend or c["backend"])
    if c["cell"].startswith("rnn"):
        return minirnn.RNN(c["I"], c["H"], nonlinearity=c["cell"][4:], **kwargs)
    return {"lstm": minirnn.LSTM, "gru": minirnn.GRU}[c["cell"]](c["I"], c["H"], **kwargs)


def make_problem(c):
    """x, initial states (tuple or None), dout, dfinals (tuple) for the configuration, in its dtype."""
    rng = np.random.default_rng(c["seed"])
    T, B, I, H, dt = c["T"], c["B"], c["I"], c["H"], c["dtype"]
    LD, D = c["num_layers"] * (2 if c["bidirectional"] else 1), 2 if c["bidirectional"] else 1
    n = 2 if c["cell"] == "lstm" else 1
    x = rng.normal(size=(B, T, I) if c["batch_first"] else (T, B, I)).astype(dt)
    states = tuple(rng.normal(size=(LD, B, H)).astype(dt) for _ in range(n)) if c["with_states"] else None
    dout = rng.normal(size=x.shape[:2] + (D * H,)).astype(dt)
    dfinals = tuple(rng.normal(size=(LD, B, H)).astype(dt) for _ in range(n))
    return x, states, dout, dfinals


def run(layer, x, states, lengths, dout, dfinals):
    """Forward and backward -> dict of every array: out, final0(, final1), dx, dstate0(, dstate1), grads."""
    lstm = isinstance(layer, minirnn.LSTM)
    if lstm:
        out, finals = layer(x, states, lengths=lengths)
        dx, d0 = layer.backward(dout, dfinals)
    else:
        out, h_n = layer(x, None if states is None else states[0], lengths=lengths)
        finals = (h_n,)
        dx, dh0 = layer.backward(dout, dfinals[0])
        d0 = (dh0,)
    arrays = {"out": out, "dx": dx}
    arrays.update({f"final{k}": f for k, f in enumerate(finals)})
    arrays.update({f"dstate{k}": d for k, d in enumerate(d0)})
    arrays.update({f"grad {name}": g.copy() for name, g in layer.grads.items()})
    return arrays


def assert_close(actual, expected, dtype, what):
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    scale = max(1.0, float(np.abs(expected).max(initial=0)))
    tol = TOLERANCE[dtype] * scale
    err = float(np.abs(actual.astype(np.float64) - expected).max(initial=0))
    assert err <= tol, f"{what}: max abs difference {err:.2e} > {tol:.1e}"


def time_major(a, batch_first):
    return a.transpose(1, 0, 2) if batch_first else a


@given(configs())
def test_shapes_dtypes_and_zero_outputs_at_padded_steps(c):
    layer = make_layer(c)
    x, states, dout, dfinals = make_problem(c)
    arrays = run(layer, x, states, c["lengths"], dout, dfinals)
    T, B, H, D = c["T"], c["B"], c["H"], layer.num_directions
    LD = c["num_layers"] * D
    out_shape = (B, T, D * H) if c["batch_first"] else (T, B, D * H)
    assert arrays["out"].shape == out_shape
    assert arrays["dx"].shape == x.shape
    for key in ("final0", "final1", "dstate0", "dstate1"):
        if key in arrays:
            assert arrays[key].shape == (LD, B, H), key
    for name, p in layer.params.items():
        assert arrays[f"grad {name}"].shape == p.shape, name
    for name, a in arrays.items():
        assert a.dtype == np.dtype(c["dtype"]), name
        assert np.all(np.isfinite(a)), name
    if c["lengths"] is not None:
        padded = np.arange(T)[:, None] >= np.asarray(c["lengths"])[None, :]          # (T, B)
        assert np.all(time_major(arrays["out"], c["batch_first"])[padded] == 0)
        assert np.all(time_major(arrays["dx"], c["batch_first"])[padded] == 0)


@given(configs(), st.sampled_from(["read-only", "fortran", "strided"]))
def test_read_only_and_non_contiguous_inputs_give_the_same_numbers(c, layout):
    x, states, dout, dfinals = make_problem(c)
    expected = run(make_layer(c), x, states, c["lengths"], dout, dfinals)

    def relayout(a):
        if layout == "fortran":
            a = np.asfortranarray(a)
        elif layout == "strided":                          # every other element of a twice-as-large buffer
            big = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
            big[..., ::2] = a
            a = big[..., ::2]
        else:
            a = a.copy()
        a.flags.writeable = False
        return a

    states2 = None if states is None else tuple(relayout(s) for s in states)
    actual = run(make_layer(c), relayout(x), states2, c["lengths"], relayout(dout),
                 tuple(relayout(d) for d in dfinals))
    for name in expected:
        np.testing.assert_array_equal(actual[name], expected[name], err_msg=name)


@given(configs(backends=("numpy",)))
def test_numpy_and_numba_backends_agree(c):
    x, states, dout, dfinals = make_problem(c)
    numpy_arrays = run(make_layer(c, "numpy"), x, states, c["lengths"], dout, dfinals)
    numba_arrays = run(make_layer(c, "numba"), x, states, c["lengths"], dout, dfinals)
    assert numpy_arrays.keys() == numba_arrays.keys()
    for name in numpy_arrays:
        assert numba_arrays[name].dtype == numpy_arrays[name].dtype, name
        assert_close(numba_arrays[name], numpy_arrays[name].astype(np.float64), c["dtype"], name)


@given(configs())
def test_values_and_gradients_match_torch(c):
    layer = make_layer(c)
    x, states, dout, dfinals = make_problem(c)
    ours = run(layer, x, states, c["lengths"], dout, dfinals)
    t_out, t_finals, t_dx, t_d0, t_grads = torch_forward_backward(layer, x, states, c["lengths"], dout, dfinals)
    theirs = {"out": t_out, "dx": t_dx}
    theirs.update({f"final{k}": f for k, f in enumerate(t_finals)})
    if states is not None:
        theirs.update({f"dstate{k}": d for k, d in enumerate(t_d0)})
    theirs.update({f"grad {name}": g for name, g in t_grads.items()})
    assert {k for k in ours if k.startswith("grad")} == {k for k in theirs if k.startswith("grad")}
    for name, expected in theirs.items():
        assert_close(ours[name], expected.astype(np.float64), c["dtype"], name)


@given(configs())
def test_unbatched_input_is_the_batch_of_one(c):
    c = dict(c, B=1, lengths=None)
    x, states, dout, dfinals = make_problem(c)
    batched = run(make_layer(c), x, states, None, dout, dfinals)
    squeeze = (lambda a: a[0]) if c["batch_first"] else (lambda a: a[:, 0])
    unbatched = run(make_layer(c), squeeze(x), None if states is None else tuple(s[:, 0] for s in states), None,
                    squeeze(dout), tuple(d[:, 0] for d in dfinals))
    for name, a in batched.items():
        expected = squeeze(a) if name in ("out", "dx") else (a[:, 0] if not name.startswith("grad") else a)
        np.testing.assert_array_equal(unbatched[name], expected, err_msg=name)
