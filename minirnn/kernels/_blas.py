"""Matrix products inside the compiled loops, on MKL where it is installed, else on NumPy's own OpenBLAS.

    gemm_nn(a, b, out):      out = a @ b       a (M, K), b (K, N), out (M, N)
    gemm_nt(a, b, out):      out = a @ b.T     a (M, K), b (N, K), out (M, N)
    gemm_fixed(a, op, out):  out = a @ op(W)   op = pack_b(W, transposed, rows=M), laid out once per sequence

All arrays are C-contiguous and of one float dtype (checked when Numba compiles the call); :func:`matmul` is
the same BLAS for the large products around the loops, from Python.

Why not ``np.dot``: inside ``@njit`` Numba's ``np.dot`` calls SciPy's BLAS (``scipy.linalg.cython_blas``),
another OpenBLAS than NumPy's, slower here and 0.3 s to load in every process (the measurements:
docs/performance.md).

How: NumPy's wheels from PyPI ship OpenBLAS built as ``scipy-openblas64``, whose CBLAS entry points are named
``scipy_cblas_sgemm64_`` and ``scipy_cblas_dgemm64_`` (64-bit integer arguments); MKL's ``cblas_sgemm_64`` and
``cblas_dgemm_64`` take the same arguments (:mod:`._mkl`, which also says how ``MINIRNN_BLAS`` chooses).
:func:`register` gives the chosen pair fixed names in LLVM's symbol table (``llvmlite.binding.add_symbol``);
the loops call them by those names (``numba.types.ExternalFunction``). Because a compiled loop refers to the
name, not to an address, Numba's disk cache stays valid: each process binds the name again before any kernel
is loaded. On MKL, ``pack_b`` lays ``W_hh`` out in MKL's packed format and ``gemm_fixed`` calls
``cblas_?gemm_compute`` on it; on OpenBLAS, ``pack_b`` is ``op(W)`` as a C array and ``gemm_fixed`` is
``gemm_nn`` (the operand's rank picks the compiled body, so the two never share cached code).

Where NumPy was built against another BLAS (conda, macOS Accelerate) and MKL is absent, the two names are
bound to small compiled functions (``numba.cfunc``) that call ``np.dot``, that is SciPy's BLAS: same results,
the old speed. So SciPy is only needed there, and is not a dependency: when it is installed, ``import numba``
imports SciPy's BLAS too (about 0.3 s).
"""

from __future__ import annotations

import ctypes
import glob
import os

import numpy as np

ROW_MAJOR, NO_TRANS, TRANS, PACKED = 101, 111, 112, 151  # the CBLAS enum values (PACKED: MKL's)
SYMBOLS = {32: "minirnn_sgemm", 64: "minirnn_dgemm"}
PACKED_SYMBOLS = {32: "minirnn_sgemm_packed", 64: "minirnn_dgemm_packed"}  # bound only on MKL
#: gemm_fixed's plain (unpacked, small) products: NumPy's OpenBLAS even where MKL is bound, whose small-matrix
#: path is faster for them (the small float32 LSTM: 0.23 ms a forward + backward on OpenBLAS, 0.26 on MKL).
SMALL_SYMBOLS = {32: "minirnn_sgemm_small", 64: "minirnn_dgemm_small"}
#: pack_b packs for MKL from this many multiply-adds per product (below, MKL's packed buffer is far larger
#: than the matrix, about 7 MB for a 5 x 5 one, and packing saves nothing).
PACK_WORK = 1 << 20
#: matmul calls MKL from this many multiply-adds (below, its ctypes call, 10-15 us, costs more than it saves).
MATMUL_WORK = 1 << 22
_NUMPY_NAMES = {32: "scipy_cblas_sgemm64_", 64: "scipy_cblas_dgemm64_"}
_bound = None  # "mkl", "numpy" or "scipy" once register() has run
_keep_alive = []  # the fallback cfuncs must outlive every call into them


def gemm_nn(a, b, out):
    """out = a @ b for 2-D C-contiguous arrays; outside Numba this is ``np.matmul``."""
    np.matmul(a, b, out=out)


def gemm_nt(a, b, out):
    """out = a @ b.T for 2-D C-contiguous arrays; outside Numba this is ``np.matmul``."""
    np.matmul(a, b.T, out=out)


def gemm_fixed(a, b, out):
    """out = a @ op(W) with ``b = pack_b(W, ...)``: the product with an operand fixed for a whole sequence
    (W_hh). Outside Numba this is ``np.matmul`` on the plain (2-D) form; MKL's packed (1-D) form is read only
    by compiled code."""
    if np.ndim(b) != 2:
        raise TypeError(f"gemm_fixed: outside Numba b must be the 2-D op(W), got a {np.ndim(b)}-D array")
    np.matmul(a, b, out=out)


def pack_b(w, transposed, rows, reuse=False):
    """The right operand ``op(w)`` of ``rows``-row products, laid out once for :func:`gemm_fixed`.

    w: (K, N), or (N, K) with ``transposed`` (op(w) = w.T). On MKL, for products of at least ``PACK_WORK``
    multiply-adds, a 1-D buffer in MKL's packed layout, so the T products of a sequence do not copy ``W_hh``
    into the GEMM kernel's layout again at every step (OpenBLAS does); otherwise the (K, N) C-contiguous
    array ``op(w)`` itself. ``reuse``: on MKL, pack into this thread's buffer from its last call for as many
    ``rows``, for a caller done with that one (the kernels: one pack per loop; ``_mkl._buffer``).

    Example:
        >>> import numpy as np
        >>> pack_b(np.ones((6, 4)), transposed=True, rows=3).shape   # op(w) = w.T: too small to pack
        (4, 6)
    """
    register()
    w = np.ascontiguousarray(w)
    if _bound == "mkl" and w.dtype in (np.float32, np.float64) and rows * w.size >= PACK_WORK:
        from . import _mkl

        return _mkl.pack(w, transposed, rows, reuse)
    return np.ascontiguousarray(w.T) if transposed else w


def packer(w, transposed):
    """``rows -> pack_b(w, transposed, rows, reuse=True)``: the recurrent operand of a loop for blocks of
    ``rows`` rows (``_batch.run_over_batch`` asks for one per block size).

    Example:
        >>> import numpy as np
        >>> packer(np.ones((6, 4)), transposed=True)(3).shape
        (4, 6)
    """
    return lambda rows: pack_b(w, transposed, rows, reuse=True)


def matmul(a, b):
    """``a @ b`` on the loops' BLAS (MKL's gemm where it is bound, NumPy's ``@`` otherwise), for the large
    products around the loops (all inputs projected at once, the weight gradients). Products below
    ``MATMUL_WORK`` multiply-adds stay on NumPy's ``@``: a ctypes call costs 10-15 us, NumPy's about 1 us."""
    if _bound == "mkl" and a.ndim == b.ndim == 2 and a.shape[0] * a.shape[1] * b.shape[-1] >= MATMUL_WORK:
        from . import _mkl

        return _mkl.matmul(a, b)
    return a @ b


def find_numpy_cblas():
    """``{32: address, 64: address}`` of NumPy's own ``cblas_sgemm``/``cblas_dgemm`` (ILP64), or None if not
    found."""
    root = os.path.dirname(np.__file__)
    folders = [os.path.join(root, os.pardir, "numpy.libs"), os.path.join(root, ".dylibs")]
    for folder in folders:
        for path in sorted(glob.glob(os.path.join(folder, "*openblas*"))):
            try:
                lib = ctypes.CDLL(path)
                return {
                    bits: ctypes.cast(getattr(lib, name), ctypes.c_void_p).value
                    for bits, name in _NUMPY_NAMES.items()
                }
            except (OSError, AttributeError):
                continue
    return None


def bound_to():
    """Which BLAS the loops call: ``"mkl"``, ``"numpy"`` (its OpenBLAS), ``"scipy"`` (the fallback), or None
    before :func:`register`."""
    return _bound


def _signature(float_type):
    from numba import types

    i32, i64, ptr = types.int32, types.int64, types.voidptr
    return types.void(i32, i32, i32, i64, i64, i64, float_type, ptr, i64, ptr, i64, float_type, ptr, i64)


def _compute_signature(float_type):
    """MKL's ``cblas_?gemm_compute_64``: like gemm without alpha; its two transpose flags are 64-bit
    integers (one may be CblasPacked)."""
    from numba import types

    i32, i64, ptr = types.int32, types.int64, types.voidptr
    return types.void(i32, i64, i64, i64, i64, i64, ptr, i64, ptr, i64, float_type, ptr, i64)


def _fallback_cfunc(float_type):
    """A compiled function with the CBLAS gemm signature that computes C = A op(B) with Numba's np.dot (SciPy
    BLAS).

    Only what the loops ask for: row-major, A not transposed, alpha = 1, beta = 0.
    """
    from numba import carray, cfunc

    dtype = np.dtype(str(float_type))

    def gemm(order, trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc):
        a = carray(A, (M, K), dtype)
        c = carray(C, (M, N), dtype)
        if trans_b == TRANS:
            np.dot(a, carray(B, (N, K), dtype).T, c)
        else:
            np.dot(a, carray(B, (K, N), dtype), c)

    try:
        return cfunc(_signature(float_type), cache=True)(gemm)
    except RuntimeError:  # no writable cache folder: compile it in every process
        return cfunc(_signature(float_type), cache=False)(gemm)


def _mkl_addresses(blas):
    """MKL's gemm entry points if ``blas`` (``MINIRNN_BLAS``) asks for them and MKL loads, else None."""
    from . import _mkl

    wanted = _mkl.choice(blas)
    if wanted == "openblas":
        return None
    try:
        return _mkl.gemm_addresses()
    except OSError as error:
        if wanted == "mkl":
            raise ImportError(f"{_mkl.ENV}=mkl, but MKL cannot be loaded: {error}") from None
        return None


def _addresses(numpy_cblas, floats, blas=None):
    """``("mkl" | "numpy" | "scipy", {32: address, 64: address})``: MKL's gemm (where installed and not
    refused by ``MINIRNN_BLAS``), else NumPy's own, else compiled fallbacks."""
    if numpy_cblas is None:
        mkl = _mkl_addresses(blas)
        if mkl:
            return "mkl", mkl
    addresses = find_numpy_cblas() if numpy_cblas is None else numpy_cblas
    if addresses:
        return "numpy", addresses
    try:
        import scipy.linalg.cython_blas  # noqa: F401  (what Numba's np.dot calls)
    except ImportError:
        raise ImportError(
            "minirnn's compiled loops need a BLAS: NumPy's own OpenBLAS (in NumPy's wheels from "
            "PyPI) was not found and SciPy is not installed. pip install scipy, or build the "
            "layers with backend='numpy'."
        ) from None
    fallbacks = {bits: _fallback_cfunc(ft) for bits, ft in floats.items()}
    _keep_alive.extend(fallbacks.values())
    return "scipy", {bits: f.address for bits, f in fallbacks.items()}


def register(numpy_cblas=None, blas=None):
    """Bind the two symbol names to a BLAS and teach Numba ``gemm_nn``/``gemm_nt`` (once per process).

    ``blas`` is ``MINIRNN_BLAS``'s value (read from the environment when None; see :mod:`._mkl`).
    ``numpy_cblas`` is :func:`find_numpy_cblas`'s answer (looked up when None, after MKL); the tests pass
    ``{}`` to force the SciPy fallback.

    It is long because the typing check and the compiled body of the two products must be defined
    together inside the Numba registration.
    """
    global _bound
    if _bound is not None:
        return
    import llvmlite.binding as llvm
    from numba import types
    from numba.core.errors import TypingError
    from numba.extending import overload

    floats = {32: types.float32, 64: types.float64}
    _bound, addresses = _addresses(numpy_cblas, floats, blas)
    for bits, name in SYMBOLS.items():
        llvm.add_symbol(name, addresses[bits])
    externals = {bits: types.ExternalFunction(SYMBOLS[bits], _signature(ft)) for bits, ft in floats.items()}
    small = (find_numpy_cblas() or addresses) if _bound == "mkl" else addresses
    for bits, name in SMALL_SYMBOLS.items():
        llvm.add_symbol(name, small[bits])
    small_externals = {
        bits: types.ExternalFunction(SMALL_SYMBOLS[bits], _signature(ft)) for bits, ft in floats.items()
    }
    if _bound == "mkl":
        from . import _mkl

        for bits, address in _mkl.compute_addresses().items():
            llvm.add_symbol(PACKED_SYMBOLS[bits], address)
    packed = {
        bits: types.ExternalFunction(PACKED_SYMBOLS[bits], _compute_signature(ft))
        for bits, ft in floats.items()
    }

    def check(a, b, out, table=externals):
        for name, arr in (("a", a), ("b", b), ("out", out)):
            if not (isinstance(arr, types.Array) and arr.ndim == 2 and arr.layout == "C"):
                raise TypingError(f"gemm: {name} must be a 2-D C-contiguous array, got {arr}")
        if not (isinstance(a.dtype, types.Float) and a.dtype == b.dtype == out.dtype):
            raise TypingError(
                f"gemm: a, b and out must share one float dtype, got {a.dtype}, {b.dtype}, {out.dtype}"
            )
        return table[a.dtype.bitwidth], a.dtype

    def implementation(transposed, table=externals):
        """The compiled body of gemm_nt (transposed) or gemm_nn: one CBLAS call on the arrays' buffers."""
        name, trans_b = ("gemm_nt", TRANS) if transposed else ("gemm_nn", NO_TRANS)

        # A constant message: building it inside impl (name + "...") would compile Numba's string
        # concatenation with every loop that multiplies, about a second of each cold compile.
        mismatch = f"{name}: shapes do not match"

        def typer(a, b, out):
            call, F = check(a, b, out, table)

            def impl(a, b, out):  # out (M, N) = a (M, K) @ b (K, N), or @ b.T for b (N, K)
                M, K = a.shape
                N = b.shape[0] if transposed else b.shape[1]
                if b.size != N * K or out.shape[0] != M or out.shape[1] != N:
                    raise ValueError(mismatch)
                ldb = K if transposed else N
                call(
                    ROW_MAJOR,
                    NO_TRANS,
                    trans_b,
                    M,
                    N,
                    K,
                    F(1),
                    a.ctypes,
                    K,
                    b.ctypes,
                    ldb,
                    F(0),
                    out.ctypes,
                    N,
                )

            # Numba names compiled code by qualified name + argument types (+ a counter that restarts in every
            # process), and a kernel loaded from the disk cache links to code of the same name compiled
            # elsewhere.
            # The four variants of this closure must therefore carry four names, or gemm_nt's code can be
            # linked
            # where gemm_nn's was meant (seen: a cached forward loop calling gemm_nn).
            impl.__name__ = impl.__qualname__ = f"{name}_{a.dtype}"
            return impl

        return typer

    overload(gemm_nn)(implementation(transposed=False))
    overload(gemm_nt)(implementation(transposed=True))
    gemm_small_typer = implementation(transposed=False, table=small_externals)

    def fixed_typer(a, b, out):
        """gemm_fixed: a 2-D ``b`` is a plain matrix (gemm_nn's body, on SMALL_SYMBOLS); a 1-D one is MKL's
        packed layout, a call of ``cblas_?gemm_compute`` (the argument types pick the body: Numba's cache
        keeps them apart)."""
        if isinstance(b, types.Array) and b.ndim == 2:
            impl = gemm_small_typer(a, b, out)
            impl.__name__ = impl.__qualname__ = f"gemm_fixed_plain_{a.dtype}"
            return impl
        if not (isinstance(b, types.Array) and b.ndim == 1 and b.layout == "C"):
            raise TypingError(f"gemm_fixed: b must come from pack_b (a 1-D or 2-D array), got {b}")
        _, F = check(a, a, out)
        if b.dtype != a.dtype:
            raise TypingError(f"gemm_fixed: b must have a's dtype {a.dtype}, got {b.dtype}")
        call = packed[a.dtype.bitwidth]
        mismatch = "gemm_fixed: shapes do not match"

        def impl(a, b, out):  # out (M, N) = a (M, K) @ op(W) (K, N), b = [K, N, start, M, ..., packed op(W)]
            M, K = a.shape
            N = out.shape[1]
            if out.shape[0] != M or b.size < 4 or b[0] != K or b[1] != N or b[3] != M:
                raise ValueError(mismatch)
            data = b[int(b[2]) :]
            call(ROW_MAJOR, NO_TRANS, PACKED, M, N, K, a.ctypes, K, data.ctypes, N, F(0), out.ctypes, N)

        impl.__name__ = impl.__qualname__ = f"gemm_fixed_packed_{a.dtype}"
        return impl

    overload(gemm_fixed)(fixed_typer)
