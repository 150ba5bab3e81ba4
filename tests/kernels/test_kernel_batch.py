"""The compiled loops split over batch rows on two threads (kernels/_batch.py) give the readable cells' numbers.

Each block of rows runs the time loop on its own thread with its own one-thread products and its own packed
recurrent operand; the blocks share the arrays and write disjoint rows. Against the NumPy cells (the
reference the whole library is checked on), with uneven blocks (B = 17: 8 and 9 rows, two packed operands),
a padding mask and recurrent dropout, so every row-indexed branch of every loop runs on a block.
"""

import numpy as np
import pytest
from threadpoolctl import threadpool_info

from minirnn import cells, kernels
from minirnn.kernels import _batch, _blas, _mkl, threads

# (cell, nonlinearity, gate blocks, H): H so that an 8-row block's product reaches _blas.PACK_WORK (packed on MKL)
CASES = [("rnn", "tanh", 1, 384), ("rnn", "relu", 1, 384), ("lstm", None, 4, 192), ("gru", None, 3, 224)]


@pytest.fixture
def two_threads(monkeypatch):
    """Inside: the layers' thread choice is two threads; yields the names of the functions whose blocks ran on
    a worker thread."""
    calls = []
    run = _batch._worker_block

    def recording(loop, args):
        calls.append(getattr(getattr(loop, "py_func", loop), "__name__", "?"))
        return run(loop, args)

    monkeypatch.setattr(_batch, "_worker_block", recording)
    with threads.fixed(2), threads.blas_threads_for(1 << 40):
        assert threads.current() == 2, "threadpoolctl found no BLAS to set: the split cannot run"
        yield calls


def problem(cell, G, H, dtype, B=17, T=6, I=5, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(T, B, I)).astype(dtype)
    states = [rng.normal(size=(B, H)).astype(dtype) for _ in range(2 if cell == "lstm" else 1)]
    scale = 1 / np.sqrt(H)
    params = [rng.uniform(-scale, scale, size=s).astype(dtype) for s in [(G * H, I), (G * H, H), (G * H,), (G * H,)]]
    lengths = rng.integers(1, T + 1, size=B)
    mask = np.arange(T)[:, None] < lengths[None, :]  # (T, B) prefix mask, ragged
    rmask = (rng.random((B, H)) < 0.8).astype(dtype) / dtype(0.8)
    douts = [rng.normal(size=(T, B, H)).astype(dtype)] + [rng.normal(size=(B, H)).astype(dtype) for _ in states]
    return x, states, params, mask, rmask, douts


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("cell, nonlinearity, G, H", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_split_loops_match_the_numpy_cells(two_threads, cell, nonlinearity, G, H, dtype):
    x, states, params, mask, rmask, douts = problem(cell, G, H, dtype)
    extra = {"nonlinearity": nonlinearity} if nonlinearity else {}
    *got, cache = getattr(kernels, cell).forward(x, *states, *params, mask=mask, recurrent_mask=rmask, **extra)
    *want, want_cache = getattr(cells, cell).forward(x, *states, *params, mask=mask, recurrent_mask=rmask, **extra)
    got_grads = getattr(kernels, cell).backward(*douts, cache)
    want_grads = getattr(cells, cell).backward(*douts, want_cache)
    loops = [name for name in two_threads if name.endswith("_loop")]
    if _blas.bound_to() == "mkl":  # (the test extra installs MKL): each loop ran its second block on a worker
        assert loops == ["_forward_loop", "_backward_loop"], two_threads
    else:  # OpenBLAS: the loops stay whole (kernels/_batch.py says why)
        assert loops == [], two_threads
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for a, b in zip(got, want):
        assert a.dtype == dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    for name, value in want_grads.items():
        np.testing.assert_allclose(got_grads[name], value, rtol=tol, atol=tol * 10, err_msg=name)


def test_blocks_are_even_and_never_smaller_than_min_rows():
    assert _batch.blocks(32, 2) == [(0, 16), (16, 32)]
    assert _batch.blocks(17, 2) == [(0, 8), (8, 17)]
    assert _batch.blocks(15, 2) == [(0, 15)]  # two blocks would have 7 and 8 rows
    assert _batch.blocks(64, 1) == [(0, 64)]
    assert _batch.blocks(40, 8) == [(0, 8), (8, 16), (16, 24), (24, 32), (32, 40)]
    for B in range(1, 70):
        parts = _batch.blocks(B, 3)
        assert parts[0][0] == 0 and parts[-1][1] == B
        assert all(b1 - b0 >= min(B, _batch.MIN_ROWS) for b0, b1 in parts)


def test_outside_a_layer_the_loop_runs_once_on_all_rows():
    seen = []
    _batch.run_over_batch(lambda b0, b1: seen.append((b0, b1)), 32, lambda rows: ())
    assert seen == [(0, 32)]


def test_each_block_runs_with_one_blas_thread_and_the_count_comes_back(two_threads):
    def blas_threads():
        return {lib["internal_api"]: lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}

    outer = blas_threads()
    assert outer["openblas"] == 2  # (MKL, sequential, reports 1: minirnn's blocks are its threads)
    inside = []
    _batch.run_over_batch(
        lambda rows, b0, b1: inside.append((rows, b0, b1, blas_threads())), 20, lambda r: (r,), n_threads=2
    )
    assert sorted(i[:3] for i in inside) == [(10, 0, 10), (10, 10, 20)]
    assert all(set(i[3].values()) == {1} for i in inside)
    assert blas_threads() == outer


def test_an_error_in_a_block_is_raised_after_every_block_has_ended(two_threads):
    import time

    ended = []

    def loop(b0, b1):
        if b0 == 0:  # this thread's block fails at once ...
            raise ValueError(f"block {b0}:{b1} failed")
        time.sleep(0.05)  # ... while the worker's is still running: it writes the shared arrays
        ended.append(b0)

    with pytest.raises(ValueError, match="block 0:16 failed"):
        _batch.run_over_batch(loop, 32, lambda rows: (), n_threads=2)
    assert ended == [16]

    def worker_fails(b0, b1):
        if b0 > 0:
            raise ValueError(f"block {b0}:{b1} failed")

    with pytest.raises(ValueError, match="block 16:32 failed"):
        _batch.run_over_batch(worker_fails, 32, lambda rows: (), n_threads=2)


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_large_products_split_over_rows_match_numpy(two_threads, dtype):
    """_blas.matmul on MKL runs blocks of rows of ``a`` on the two threads; plain and transposed operands (the
    weight gradients pass da.T, an F-ordered view), an odd row count."""
    _blas.register()
    if _mkl.why_not() is None and _mkl.choice() == "auto":  # MKL installed (the test extra has it): MKL's
        assert _blas.bound_to() == "mkl"
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(1001, 96)).astype(dtype), rng.normal(size=(96, 80)).astype(dtype)
    for left, right in ((a, b), (a.T.copy().T, b), (a, b.T.copy().T), (np.asfortranarray(a), np.asfortranarray(b))):
        got = _blas.matmul(left, right)
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_allclose(got, left @ right, rtol=1e-10 if dtype == np.float64 else 1e-4, atol=1e-4)
    if _blas.bound_to() == "mkl":  # the products are MKL's, split
        assert two_threads.count("rows") == 4, two_threads  # each product's second block ran on the worker
    else:  # NumPy's matmul, on OpenBLAS's own threads
        assert two_threads == []
