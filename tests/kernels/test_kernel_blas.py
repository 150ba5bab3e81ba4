"""The matrix products inside the compiled loops (minirnn/kernels/_blas.py) against NumPy's ``@``.

They call NumPy's own OpenBLAS through a symbol name bound in each process; where NumPy has no such library the same
names are bound to compiled functions calling ``np.dot`` (SciPy's BLAS). Both must give NumPy's numbers, and the
kernels must give the cells' numbers on either.
"""
from __future__ import annotations

import json
import platform

import numpy as np
import pytest
from numba import njit
from numba.core.errors import TypingError

from minirnn.kernels import _blas, lstm
from minirnn.kernels._jit import jit

from test_kernels import run_python


@njit
def products(a, b, bt):
    out_nn = np.empty((a.shape[0], b.shape[1]), a.dtype)
    out_nt = np.empty((a.shape[0], bt.shape[0]), a.dtype)
    _blas.gemm_nn(a, b, out_nn)
    _blas.gemm_nt(a, bt, out_nt)
    return out_nn, out_nt


@pytest.mark.parametrize("dtype, tol", [(np.float64, 1e-13), (np.float32, 1e-5)])
@pytest.mark.parametrize("M, K, N", [(1, 1, 1), (3, 5, 7), (32, 128, 512), (7, 1, 2)])
def test_gemm_nn_and_nt_equal_numpy_matmul(dtype, tol, M, K, N):
    lstm._forward_loop.dispatcher                      # registers the BLAS names, as a kernel's first call does
    rng = np.random.default_rng(M * K * N)
    a, b = rng.normal(size=(M, K)).astype(dtype), rng.normal(size=(K, N)).astype(dtype)
    bt = np.ascontiguousarray(b.T)                     # (N, K)
    out_nn, out_nt = products(a, b, bt)
    expected = a.astype(np.float64) @ b.astype(np.float64)
    assert out_nn.dtype == out_nt.dtype == dtype
    np.testing.assert_allclose(out_nn, expected, rtol=tol, atol=tol * np.sqrt(K))
    np.testing.assert_allclose(out_nt, expected, rtol=tol, atol=tol * np.sqrt(K))


def test_the_loops_use_mkl_where_it_is_installed_and_numpys_openblas_is_found():
    """The test extra installs MKL on x86-64: its path is the default there and the one CI measures; PyPI's NumPy
    wheels ship scipy-openblas64, the OpenBLAS path (tests/kernels/test_kernel_mkl.py runs it in a subprocess)."""
    assert _blas.find_numpy_cblas() is not None
    lstm._forward_loop.dispatcher
    assert _blas.bound_to() == ("mkl" if platform.machine() == "x86_64" else "numpy")


def test_gemm_refuses_mismatched_shapes_and_non_contiguous_arrays():
    lstm._forward_loop.dispatcher
    a, b = np.ones((2, 3)), np.ones((4, 5))
    with pytest.raises(ValueError, match="gemm_nn: shapes do not match"):
        products(a, b, np.ones((5, 3)))
    with pytest.raises(ValueError, match="gemm_nt: shapes do not match"):
        products(a, np.ones((3, 5)), np.ones((5, 4)))

    @jit
    def strided(a, out):
        _blas.gemm_nn(a[:, ::2], a, out)

    with pytest.raises(TypingError, match="2-D C-contiguous"):
        strided(np.ones((4, 4)), np.ones((4, 4)))


KERNELS_AGAINST_CELLS = """
    import json, numpy as np
    from minirnn import cells, kernels
    from minirnn.kernels import _blas
    {register}
    rng = np.random.default_rng(0)
    T, B, I, H = {sizes}
    errors = {{}}
    for cell, G in (("rnn", 1), ("lstm", 4), ("gru", 3)):
        for dtype in (np.float64, np.float32):
            x, dout = rng.normal(size=(T, B, I)).astype(dtype), rng.normal(size=(T, B, H)).astype(dtype)
            states = [rng.normal(size=(B, H)).astype(dtype) for _ in range(2 if cell == "lstm" else 1)]
            scale = 1 / np.sqrt(H)
            params = [rng.uniform(-scale, scale, size=s).astype(dtype)
                      for s in [(G * H, I), (G * H, H), (G * H,), (G * H,)]]
            *got, cache = getattr(kernels, cell).forward(x, *states, *params)
            *want, want_cache = getattr(cells, cell).forward(x, *states, *params)
            g = getattr(kernels, cell).backward(dout, *states, cache)
            w = getattr(cells, cell).backward(dout, *states, want_cache)
            errors[f"{{cell}} {{dtype.__name__}}"] = max(
                [float(np.abs(a - b).max()) for a, b in zip(got, want)] + [float(np.abs(g[k] - w[k]).max()) for k in w])
    print(json.dumps({{"bound": _blas.bound_to(), "packed": _blas.pack_b(np.ones((G * H, H)), True, B).ndim == 1,
                      "errors": errors}}))
"""
# The compiled loops against the readable cells in a fresh process: ``register`` binds the BLAS, ``sizes`` is
# ``T, B, I, H``; prints a JSON line with the BLAS, whether the recurrent operand was packed, the largest errors.
FALLBACK = KERNELS_AGAINST_CELLS.format(register='_blas.register({}, blas="openblas")  # no OpenBLAS of NumPy\'s, no MKL',
                                        sizes="5, 3, 4, 6")


def test_the_scipy_fallback_gives_the_cells_numbers(tmp_path):
    result = run_python(FALLBACK, env_updates={"NUMBA_CACHE_DIR": str(tmp_path)}, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert report["bound"] == "scipy"
    for name, error in report["errors"].items():
        assert error < (1e-12 if "float64" in name else 1e-5), (name, error)


def test_each_product_and_dtype_compiles_under_its_own_name():
    """Numba names compiled code by qualified name, argument types and a counter that restarts in every process, and
    links a kernel loaded from the disk cache to already-loaded code of the same name. If gemm_nn's and gemm_nt's
    bodies shared a name (closures are all called ``impl``), a cached loop could run the other product: silently
    wrong when W_hh is square. So each variant must be compiled under a name of its own."""
    import re

    lstm._forward_loop.dispatcher
    for dtype in (np.float32, np.float64):
        products(np.ones((2, 3), dtype), np.ones((3, 4), dtype), np.ones((4, 3), dtype))
    ir = "\n".join(products.inspect_llvm().values())              # every compiled signature
    # LLVM inlines the small bodies, so read the names where the IR mentions them (definitions, environment
    # globals, alias metadata): Itanium-mangled as <length><name> after the module path ...5_blas.
    named = {ir[m.end():m.end() + int(m.group(1))] for m in re.finditer(r"5_blas(\d+)", ir)}
    for variant in ("gemm_nn_float32", "gemm_nt_float32", "gemm_nn_float64", "gemm_nt_float64"):
        assert variant in named, (variant, sorted(named))
    assert not any("impl" in name for name in named), sorted(named)
