"""MKL as the compiled loops' BLAS (minirnn/kernels/_mkl.py): its products against NumPy's, the packed recurrent
operand, the ``MINIRNN_BLAS`` switch, and the OpenBLAS path in a process that refuses MKL.

MKL is in the test extra on x86-64, so there these tests run MKL's code; elsewhere the same calls take NumPy's
path and must give the same numbers.
"""
from __future__ import annotations

import json

import numpy as np
import pytest
from numba import njit

from minirnn.kernels import _blas, _mkl, lstm, threads

from test_kernel_blas import KERNELS_AGAINST_CELLS
from test_kernels import run_python


@njit
def fixed_products(a, b_op, out, steps):
    for _ in range(steps):
        _blas.gemm_fixed(a, b_op, out)


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-12), (np.float32, 2e-5)])
@pytest.mark.parametrize("M, K, N", [(1, 1, 1), (3, 5, 7), (32, 128, 512), (64, 512, 128)])
@pytest.mark.parametrize("transposed", [False, True])
def test_a_packed_operand_gives_numpys_product(dtype, tol, M, K, N, transposed):
    lstm._forward_loop.dispatcher
    rng = np.random.default_rng(M + K + N)
    a = rng.normal(size=(M, K)).astype(dtype)
    w = rng.normal(size=(N, K) if transposed else (K, N)).astype(dtype)
    op = _blas.pack_b(w, transposed=transposed, rows=M)
    assert op.ndim == (1 if _blas.bound_to() == "mkl" and M * K * N >= _blas.PACK_WORK else 2)
    out = np.full((M, N), np.nan, dtype)
    fixed_products(a, op, out, 3)                       # used again and again, as in a time loop
    expected = a.astype(np.float64) @ (w.T if transposed else w).astype(np.float64)
    np.testing.assert_allclose(out, expected, rtol=tol, atol=tol * np.sqrt(K))


def test_a_packed_operand_refuses_a_product_it_cannot_hold():
    lstm._forward_loop.dispatcher
    for rows, K, N in [(2, 4, 6), (64, 128, 256)]:                   # the plain and (on MKL) the packed form
        op = _blas.pack_b(np.ones((K, N)), transposed=False, rows=rows)
        with pytest.raises(ValueError, match="shapes do not match"):
            fixed_products(np.ones((rows, K)), op, np.ones((rows + 1, N)), 1)   # out has a row more than a
        with pytest.raises(ValueError, match="shapes do not match"):
            fixed_products(np.ones((rows, 2 * K)), op, np.ones((rows, N)), 1)   # a K that op(w) does not have


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_matmul_equals_numpy_for_c_fortran_and_strided_operands(dtype):
    lstm._forward_loop.dispatcher
    rng = np.random.default_rng(1)
    a, b = rng.normal(size=(37, 23)).astype(dtype), rng.normal(size=(23, 19)).astype(dtype)
    wide = rng.normal(size=(37, 46)).astype(dtype)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    for left, right in [(a, b), (np.ascontiguousarray(a.T).T, b), (a, np.ascontiguousarray(b.T).T),
                        (wide[:, ::2], b), (a[:, :19].T, a[:, 3:22])]:
        got = _blas.matmul(left, right)
        assert got.dtype == dtype and got.flags.c_contiguous
        np.testing.assert_allclose(got, left.astype(np.float64) @ right.astype(np.float64), rtol=tol, atol=tol * 10)
    assert _blas.matmul(a.astype(np.float32), b).dtype == np.result_type(np.float32, dtype)   # mixed: NumPy's rules
    assert _blas.matmul(np.ones((0, 3), dtype), np.ones((3, 2), dtype)).shape == (0, 2)


def test_minirnn_blas_names_the_choices_and_refuses_others(monkeypatch):
    assert _mkl.choice("MKL") == "mkl" and _mkl.choice(" openblas ") == "openblas"
    with pytest.raises(ValueError, match=r"MINIRNN_BLAS must be one of auto, mkl, openblas, got 'fast'"):
        _mkl.choice("fast")
    monkeypatch.setenv("MINIRNN_BLAS", "mkll")
    with pytest.raises(ValueError, match="got 'mkll'"):
        _mkl.choice()


def test_an_mkl_that_will_not_load_is_an_error_when_asked_for_and_openblas_otherwise(monkeypatch):
    def broken():
        raise OSError("MKL in /x lacks a readable libmkl_core.so*")

    monkeypatch.setattr(_mkl, "gemm_addresses", broken)
    assert _blas._mkl_addresses("auto") is None
    assert _blas._mkl_addresses("openblas") is None
    with pytest.raises(ImportError, match="MINIRNN_BLAS=mkl, but MKL cannot be loaded: MKL in /x lacks"):
        _blas._mkl_addresses("mkl")


def test_mkl_is_refused_when_a_library_it_opens_later_cannot_be_read(tmp_path, monkeypatch):
    """MKL opens its core and thread libraries at its first call and ends the process if it cannot: ``auto`` must
    see that beforehand (a sandboxed user may read libmkl_rt but not the rest)."""
    lib = tmp_path / "lib"
    lib.mkdir()
    for name in ("libmkl_rt.so.3", "libmkl_core.so.3", "libmkl_sequential.so.3"):
        (lib / name).write_text("")
    monkeypatch.setattr(_mkl, "_folders", lambda: [str(lib)])
    assert "libmkl_gnu_thread" in _mkl.why_not()
    (lib / "libmkl_gnu_thread.so.3").write_text("")
    assert _mkl.why_not() is None
    monkeypatch.setattr(_mkl, "_folders", lambda: [str(tmp_path / "nothing")])
    assert "not installed" in _mkl.why_not()


def test_mkl_runs_on_its_callers_thread_alone():
    """MKL is loaded sequential: however many threads the BLAS libraries are given, an MKL call never starts
    threads of its own (minirnn's blocks are the threads: kernels/_batch.py), as threadpoolctl reads it."""
    from threadpoolctl import threadpool_info, threadpool_limits

    lstm._forward_loop.dispatcher
    if _blas.bound_to() != "mkl":
        assert _mkl.why_not() is not None                  # no MKL here: nothing to see
        return
    with threadpool_limits(2):
        mkl = [lib for lib in threadpool_info() if lib["internal_api"] == "mkl"]
        assert [(lib["threading_layer"], lib["num_threads"]) for lib in mkl] == [("sequential", 1)]


def test_an_operand_packed_for_other_rows_is_refused():
    """MKL's packed layout depends on the row count of the products too: the header holds it and the compiled
    product checks it (a block of 9 rows must not use the operand packed for 8)."""
    lstm._forward_loop.dispatcher
    op = _blas.pack_b(np.ones((128, 512)), transposed=False, rows=32)
    if op.ndim == 1:  # packed (MKL)
        assert op[:4].tolist() == [128, 512, op[2], 32]
        with pytest.raises(ValueError, match="shapes do not match"):
            fixed_products(np.ones((31, 128)), op, np.ones((31, 512)), 1)
    else:
        assert _blas.bound_to() != "mkl"
    fixed_products(np.ones((32, 128)), op, out := np.zeros((32, 512)), 1)
    assert np.all(out == 128)


@pytest.mark.parametrize("choice, bound", [("openblas", "numpy"), ("auto", None)])
def test_each_blas_gives_the_cells_numbers_in_its_own_process(tmp_path, choice, bound):
    """At sizes where MKL packs the recurrent operand (B * H * G * H >= PACK_WORK for every cell)."""
    script = KERNELS_AGAINST_CELLS.format(register="", sizes="3, 64, 8, 128")
    result = run_python(script, env_updates={"NUMBA_CACHE_DIR": str(tmp_path), "MINIRNN_BLAS": choice}, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    expected = bound or ("mkl" if _mkl.why_not() is None else "numpy")
    assert report["bound"] == expected
    assert report["packed"] == (expected == "mkl")                  # MKL's packed layout, or op(w) itself
    for name, error in report["errors"].items():
        assert error < (1e-12 if "float64" in name else 2e-5), (name, error)


TORCH_FIRST = """
    import torch                                          # first: its GNU OpenMP is loaded for all to share
    import numpy as np
    from minirnn import kernels
    from minirnn.kernels import _blas, threads
    rng = np.random.default_rng(1)
    x, h = rng.normal(size=(6, 3, 4)).astype(np.float32), np.zeros((3, 5), np.float32)
    W = [rng.uniform(-1, 1, size=s).astype(np.float32) for s in [(20, 4), (20, 5), (20,), (20,)]]
    kernels.lstm.forward(x, h, h, *W)                       # MKL's first calls: small products
    errors = []
    for lib in threads._libs():
        lib.set_num_threads(2)
    for _ in range(2):
        a, w = rng.normal(size=(64, 512)), rng.normal(size=(512, 128))
        out = np.empty((64, 128))
        op = _blas.pack_b(w, transposed=False, rows=64)      # packed on two threads
        kernels.lstm._forward_loop.dispatcher
        from numba import njit
        njit(lambda a, b, o: _blas.gemm_fixed(a, b, o))(a, op, out)
        errors.append(float(np.abs(out - a @ w).max()))
    from minirnn.kernels import _mkl
    print(_blas.bound_to(), _mkl._state.get("threads"), max(errors))
"""


def test_a_packed_operand_is_right_with_torch_imported_first_on_two_threads(tmp_path):
    """With Intel's OpenMP as MKL's threads and torch imported first, the first operand packed on two threads was
    garbage (error 61 in this case; the second pack was right). MKL now runs sequential (minirnn's own threads
    split the work: kernels/_batch.py), whatever thread count the BLAS libraries are given."""
    result = run_python(TORCH_FIRST, env_updates={"NUMBA_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert result.returncode == 0, result.stderr
    bound, layer, error = result.stdout.split()[-3:]
    assert float(error) < 1e-10, (bound, layer, error)
    assert layer == ("sequential" if bound == "mkl" else "None")


def test_an_unpacked_fixed_operand_calls_the_small_products_symbol():
    """Below PACK_WORK gemm_fixed calls SMALL_SYMBOLS (NumPy's OpenBLAS, whose small-matrix path is faster there
    than MKL), above it MKL's packed product: read in the compiled code."""
    lstm._forward_loop.dispatcher
    a, out = np.ones((2, 3)), np.ones((2, 4))
    fixed_products(a, _blas.pack_b(np.ones((3, 4)), transposed=False, rows=2), out, 1)
    ir = "\n".join(fixed_products.inspect_llvm().values())
    assert "minirnn_dgemm_small" in ir
    assert np.allclose(out, 3.0)
