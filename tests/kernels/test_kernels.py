"""The Numba kernels (minirnn/kernels) against the NumPy cells (minirnn/cells), which hold the math.

Forward outputs, final states and every BPTT gradient must agree: float64 to 1e-12, float32 to 1e-5 relative.
Caches are interchangeable between the backends. When Numba cannot write its cache, the kernels still run, warn once
and give the same numbers. Timing is measured in benchmarks/, never asserted here.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from minirnn import cells, kernels
from minirnn.cells import registry

GATES = {"rnn": 1, "lstm": 4, "gru": 3}                  # rows of W_ih per hidden unit
CELLS = [("rnn", "tanh"), ("rnn", "relu"), ("lstm", None), ("gru", None)]
CELL_IDS = ["rnn-tanh", "rnn-relu", "lstm", "gru"]
# (T, B, I, H, lengths): prefix masks like pack_padded_sequence; the tiny sizes catch off-by-one shapes
SIZES = [(6, 3, 4, 5, [6, 3, 1]), (1, 1, 1, 1, [1]), (5, 1, 2, 1, [2]), (4, 4, 3, 2, [1, 4, 2, 3])]
SIZE_IDS = ["T6B3", "T1B1H1", "T5B1H1", "T4B4"]


def make_problem(cell, dtype, size, masked, seed=0):
    """Random inputs, initial states, parameters and output gradients for one cell, all in ``dtype``."""
    T, B, I, H, lengths = size
    rng = np.random.default_rng(seed)
    G = GATES[cell] * H
    params = [rng.uniform(-1, 1, size=s) for s in [(G, I), (G, H), (G,), (G,)]]
    states = [rng.normal(size=(B, H)) for _ in range(2 if cell == "lstm" else 1)]
    x = rng.normal(size=(T, B, I))
    mask = np.arange(T)[:, None] < np.asarray(lengths)[None, :] if masked else None       # (T, B)
    douts = [rng.normal(size=(T, B, H))] + [rng.normal(size=(B, H)) for _ in states]     # dout, dh_n (, dc_n)
    cast = lambda arrays: [a.astype(dtype) for a in arrays]
    return x.astype(dtype), cast(states), cast(params), mask, cast(douts)


def run_forward(backend, cell, nonlinearity, x, states, params, mask):
    """``backend.<cell>.forward`` -> (list of outputs and final states, cache)."""
    kwargs = {"mask": mask} if nonlinearity is None else {"mask": mask, "nonlinearity": nonlinearity}
    *results, cache = getattr(backend, cell).forward(x, *states, *params, **kwargs)
    return results, cache


def run_backward(backend, cell, douts, cache):
    return getattr(backend, cell).backward(*douts, cache)


def assert_agree(actual, expected, dtype, what):
    """Same shape and dtype, and equal to 1e-12 (float64) or 1e-5 (float32), absolute and relative.

    The problems are O(1), so the absolute part is relative to their scale; it covers sums that cancel (a bias
    gradient of 2e-3 made of O(1) terms carries float32 round-off of about 1e-7).
    """
    assert actual.shape == expected.shape, f"{what}: shape {actual.shape} != {expected.shape}"
    assert actual.dtype == np.dtype(dtype), f"{what}: dtype {actual.dtype}, expected {np.dtype(dtype)}"
    tol = 1e-12 if np.dtype(dtype) == np.float64 else 1e-5
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=what)


@pytest.mark.parametrize("size", SIZES, ids=SIZE_IDS)
@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "prefix-mask"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell, nonlinearity", CELLS, ids=CELL_IDS)
def test_kernel_forward_and_bptt_match_numpy_cells(cell, nonlinearity, dtype, masked, size):
    x, states, params, mask, douts = make_problem(cell, dtype, size, masked)
    expected, numpy_cache = run_forward(cells, cell, nonlinearity, x, states, params, mask)
    actual, numba_cache = run_forward(kernels, cell, nonlinearity, x, states, params, mask)
    for name, a, e in zip(["out", "h_n", "c_n"], actual, expected):
        assert_agree(a, e, dtype, f"{cell} {name}")
    expected_grads = run_backward(cells, cell, douts, numpy_cache)
    actual_grads = run_backward(kernels, cell, douts, numba_cache)
    assert actual_grads.keys() == expected_grads.keys()
    for name in expected_grads:
        assert_agree(actual_grads[name], expected_grads[name], dtype, f"{cell} d{name}")


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "prefix-mask"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell, nonlinearity", CELLS, ids=CELL_IDS)
def test_kernel_cache_has_the_keys_shapes_and_dtypes_of_the_cells_cache(cell, nonlinearity, dtype, masked):
    x, states, params, mask, _ = make_problem(cell, dtype, SIZES[0], masked)
    _, numpy_cache = run_forward(cells, cell, nonlinearity, x, states, params, mask)
    _, numba_cache = run_forward(kernels, cell, nonlinearity, x, states, params, mask)
    assert numba_cache.keys() == numpy_cache.keys()
    for key, expected in numpy_cache.items():
        actual = numba_cache[key]
        if isinstance(expected, np.ndarray):
            assert (actual.shape, actual.dtype) == (expected.shape, expected.dtype), key
            assert_agree(actual, expected, dtype, f"cache[{key!r}]")
        else:
            assert actual == expected, key                   # None mask, nonlinearity name


@pytest.mark.parametrize("masked", [False, True], ids=["no-mask", "prefix-mask"])
@pytest.mark.parametrize("cell, nonlinearity", CELLS, ids=CELL_IDS)
def test_caches_cross_between_numpy_and_numba_backends(cell, nonlinearity, masked):
    x, states, params, mask, douts = make_problem(cell, np.float64, SIZES[0], masked, seed=1)
    _, numpy_cache = run_forward(cells, cell, nonlinearity, x, states, params, mask)
    _, numba_cache = run_forward(kernels, cell, nonlinearity, x, states, params, mask)
    reference = run_backward(cells, cell, douts, numpy_cache)
    numba_backward_of_numpy_forward = run_backward(kernels, cell, douts, numpy_cache)
    numpy_backward_of_numba_forward = run_backward(cells, cell, douts, numba_cache)
    for name in reference:
        assert_agree(numba_backward_of_numpy_forward[name], reference[name], np.float64, f"numba bwd d{name}")
        assert_agree(numpy_backward_of_numba_forward[name], reference[name], np.float64, f"numpy bwd d{name}")


@pytest.mark.parametrize("cell, nonlinearity", CELLS, ids=CELL_IDS)
def test_all_true_mask_gives_the_same_numbers_as_no_mask(cell, nonlinearity):
    T, B = 5, 3
    x, states, params, _, douts = make_problem(cell, np.float64, (T, B, 2, 3, [T] * B), masked=False)
    plain, plain_cache = run_forward(kernels, cell, nonlinearity, x, states, params, None)
    masked, masked_cache = run_forward(kernels, cell, nonlinearity, x, states, params, np.ones((T, B), bool))
    for a, e in zip(masked, plain):
        np.testing.assert_array_equal(a, e)
    plain_grads = run_backward(kernels, cell, douts, plain_cache)
    masked_grads = run_backward(kernels, cell, douts, masked_cache)
    for name in plain_grads:
        np.testing.assert_array_equal(masked_grads[name], plain_grads[name])


@pytest.mark.parametrize("cell, nonlinearity", CELLS, ids=CELL_IDS)
def test_empty_sequence_returns_the_initial_state_and_passes_its_gradient_through(cell, nonlinearity):
    x, states, params, _, douts = make_problem(cell, np.float64, (1, 2, 3, 4, [1, 1]), masked=False)
    x, douts[0] = x[:0], douts[0][:0]                                              # T = 0
    (out, *finals), cache = run_forward(kernels, cell, nonlinearity, x, states, params, None)
    assert out.shape == (0, 2, 4)
    for final, state in zip(finals, states):
        np.testing.assert_array_equal(final, state)
    grads = run_backward(kernels, cell, douts, cache)
    for name, d_final in zip(["h0", "c0"], douts[1:]):
        np.testing.assert_array_equal(grads[name], d_final)
    for name, param in zip(["W_ih", "W_hh", "b_ih", "b_hh"], params):
        np.testing.assert_array_equal(grads[name], np.zeros_like(param))


def test_kernels_accept_non_contiguous_inputs_like_the_cells():
    x, states, params, mask, douts = make_problem("lstm", np.float64, SIZES[0], masked=True)
    x_strided = np.asfortranarray(x)                         # e.g. a batch_first array transposed to time-major
    states_strided = [np.asfortranarray(s) for s in states]
    expected, _ = run_forward(cells, "lstm", None, x, states, params, mask)
    actual, _ = run_forward(kernels, "lstm", None, x_strided, states_strided, params, mask)
    for a, e in zip(actual, expected):
        assert_agree(a, e, np.float64, "lstm with strided inputs")


def test_kernels_reject_integer_inputs_and_unknown_nonlinearity_with_a_sentence():
    x, states, params, _, _ = make_problem("rnn", np.float64, SIZES[0], masked=False)
    with pytest.raises(TypeError, match="float32 or float64, got x of dtype int64"):
        kernels.rnn.forward(x.astype(np.int64), *states, *params)
    with pytest.raises(ValueError, match="nonlinearity must be one of"):
        kernels.rnn.forward(x, *states, *params, nonlinearity="sigmoid")


def run_python(script, args=(), env_updates=None, timeout=240):
    """Run ``script`` with ``args`` in a fresh interpreter from the repository root; return the completed process."""
    env = dict(os.environ, **(env_updates or {}))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script), *args], cwd=root, env=env,
                          capture_output=True, text=True, timeout=timeout)


def test_importing_the_kernels_compiles_nothing():
    result = run_python("""
        import minirnn, minirnn.kernels as k
        loops = [getattr(m, f) for m in (k.rnn, k.lstm, k.gru) for f in ("_forward_loop", "_backward_loop")]
        print(sum(loop._dispatcher is not None for loop in loops))
    """)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "0"


def unwritable_folder(tmp_path):
    """A folder Numba cannot create its cache in: read-only, or (as root, who may write anyway) a path under a file."""
    folder = tmp_path / "read_only_cache"
    folder.mkdir()
    folder.chmod(0o555)
    if os.access(folder, os.W_OK):                           # root ignores the permission bits
        blocker = tmp_path / "a_file"
        blocker.write_text("")
        folder = blocker / "cache"
    return str(folder)


FALLBACK_SCRIPT = """
    import json, os, shutil, sys, warnings
    import numpy as np
    from numba.core import caching

    # Only NUMBA_CACHE_DIR may hold the cache, not the package's own __pycache__ (writable in a checkout).
    impl = getattr(caching, "CacheImpl", None) or caching._CacheImpl      # renamed in Numba 0.6x
    impl._locator_classes = [c for c in impl._locator_classes if "UserProvided" in c.__name__]
    from minirnn import cells, kernels
    from minirnn.kernels._jit import jit

    rng = np.random.default_rng(0)
    T, B, I, H = 4, 2, 3, 5
    x, h0, dout, dh_n = (rng.normal(size=s) for s in [(T, B, I), (B, H), (T, B, H), (B, H)])
    params = [rng.uniform(-1, 1, size=s) for s in [(H, I), (H, H), (H,), (H,)]]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        # 1. NUMBA_CACHE_DIR cannot be written: Numba refuses at decoration, we compile without a cache
        out, h_n, cache = kernels.rnn.forward(x, h0, *params)
        grads = kernels.rnn.backward(dout, dh_n, cache)
        # 2. the folder was writable when the dispatcher was made, but is broken by the first call
        import numba
        late_folder, module_folder = sys.argv[1], sys.argv[2]
        numba.config.CACHE_DIR = late_folder
        sys.path.insert(0, module_folder)
        from tiny_module import add_one
        late_loop = jit(add_one)
        late_loop.dispatcher
        shutil.rmtree(late_folder); open(late_folder, "w").close()
        late_result = late_loop(np.arange(3.0))
    expected_out, expected_h_n, expected_cache = cells.rnn.forward(x, h0, *params)
    expected_grads = cells.rnn.backward(dout, dh_n, expected_cache)
    print(json.dumps({
        "warnings": [str(w.message) for w in caught if "Numba's compile cache" in str(w.message)],
        "cached": [kernels.rnn._forward_loop._cached, kernels.rnn._backward_loop._cached, late_loop._cached],
        "error": max([float(np.abs(out - expected_out).max()), float(np.abs(h_n - expected_h_n).max()),
                      float(np.abs(late_result - [1.0, 2.0, 3.0]).max())]
                     + [float(np.abs(grads[k] - expected_grads[k]).max()) for k in grads]),
    }))
"""


def test_kernels_compile_without_cache_and_warn_once_when_the_cache_folder_is_read_only(tmp_path):
    late_folder = tmp_path / "writable_then_broken"
    late_folder.mkdir()
    (tmp_path / "tiny_module.py").write_text("def add_one(a):\n    return a + 1\n")
    result = run_python(FALLBACK_SCRIPT, [str(late_folder), str(tmp_path)],
                        {"NUMBA_CACHE_DIR": unwritable_folder(tmp_path)})
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert len(report["warnings"]) == 1, report["warnings"]
    assert "NUMBA_CACHE_DIR" in report["warnings"][0]
    assert report["cached"] == [False, False, False]
    assert report["error"] < 1e-12


@pytest.mark.parametrize("cell, nonlinearity", CELLS, ids=CELL_IDS)
def test_a_compiled_backward_uses_up_its_cache_and_a_second_one_is_refused(cell, nonlinearity):
    """The compiled backward writes its gate gradients over the cache's gate buffer (memory: no second (T, B, GH)
    array), so the cache serves one backward pass, like torch's graph without retain_graph. The rule is the kernels'
    and the registry's (which every layer calls through, on either backend); the readable cells stay free of it."""
    x, states, params, mask, douts = make_problem(cell, np.float64, SIZES[0], masked=True)
    _, cache = run_forward(kernels, cell, nonlinearity, x, states, params, mask)
    _, expected_cache = run_forward(cells, cell, nonlinearity, x, states, params, mask)
    grads = run_backward(kernels, cell, douts, cache)
    expected = run_backward(cells, cell, douts, expected_cache)
    for key in expected:
        assert_agree(grads[key], expected[key], np.float64, key)
    with pytest.raises(ValueError, match="already used by a backward pass"):
        run_backward(kernels, cell, douts, cache)
    spec = registry.get(cell)
    for backend in ("numpy", "numba"):
        out, final, seq_cache = spec.forward(x, tuple(states), tuple(params), mask, backend=backend,
                                             **({"nonlinearity": nonlinearity} if nonlinearity else {}))
        spec.backward(np.ones_like(out), tuple(np.zeros_like(s) for s in final), seq_cache)
        with pytest.raises(ValueError, match="already used by a backward pass"):
            spec.backward(np.ones_like(out), tuple(np.zeros_like(s) for s in final), seq_cache)
    # the cells' backward leaves its cache as it was: a second pass gives the same gradients
    again = run_backward(cells, cell, douts, expected_cache)
    for key in expected:
        np.testing.assert_array_equal(again[key], expected[key])
