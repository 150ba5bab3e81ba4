"""Intel's MKL as the compiled loops' BLAS, where it is installed (``pip install minirnn[mkl]``).

On this x86-64 machine MKL's single-thread GEMM is faster than OpenBLAS's for the per-step products of a
recurrent layer, ``h W_hh^T`` (B, H) x (H, G*H) and ``dgates W_hh`` (B, G*H) x (G*H, H), most of all when
``W_hh`` is packed once per sequence in MKL's layout (OpenBLAS copies, "packs", the unchanging ``W_hh`` into
its kernel's layout at every one of the T steps), and for the large products around the loop
(``python benchmarks/step_gemm.py``; docs/performance.md). PyTorch's own GEMM is MKL.

MKL's ILP64 CBLAS entry points ``cblas_sgemm_64``/``cblas_dgemm_64`` take the same arguments, in the same
order and with the same integer widths, as NumPy's ``scipy_cblas_sgemm64_``, so :mod:`._blas` binds its two
symbol names to them and the compiled loops (and Numba's disk cache) do not change.

Which BLAS: the environment variable ``MINIRNN_BLAS`` read once per process, before the first kernel runs:

    MINIRNN_BLAS=auto       (default) MKL if installed and every library it needs can be read, else OpenBLAS
    MINIRNN_BLAS=mkl        MKL, or an ImportError saying why not
    MINIRNN_BLAS=openblas   NumPy's OpenBLAS even where MKL is installed

``minirnn.kernels.blas()`` says which one the loops call.

Example:
    >>> choice("openblas")
    'openblas'
"""

from __future__ import annotations

import ctypes
import glob
import os
import sys
import threading

import numpy as np

ENV = "MINIRNN_BLAS"
CHOICES = ("auto", "mkl", "openblas")
_NAMES = {32: "cblas_sgemm_64", 64: "cblas_dgemm_64"}
# MKL's run-time dispatcher opens these when it is first called, and ends the process when it cannot:
# ``auto`` therefore checks beforehand that they can be read (a sandboxed user may not reach them).
_NEEDED = ("libmkl_rt.so*", "libmkl_core.so*", "libmkl_gnu_thread.so*", "libmkl_sequential.so*")
# MKL runs sequential: each call on the thread that makes it. minirnn makes its own threads
# (kernels/_batch.py: blocks of batch rows in the loops, blocks of rows in :func:`matmul`). MKL's OpenMP
# threads were worse twice. On Intel's OpenMP (MKL's default) with torch imported first, torch's libgomp
# answered MKL's omp_get_thread_num() inside Intel OpenMP's threads and a packed operand made on two threads
# came out wrong (tests/kernels/test_kernel_mkl.py has the case). On GNU OpenMP each idle thread spins
# 300,000 times (GOMP_SPINCOUNT's default, milliseconds) after every parallel product, and the spinning
# thread took half a core from the loop's blocks (the medium float32 LSTM on two threads: 1.28x, not 1.77x).
_SEQUENTIAL = 1  # MKL_Set_Threading_Layer's MKL_THREADING_SEQUENTIAL
_state = {"lib": None}


def choice(value=None) -> str:
    """The ``MINIRNN_BLAS`` setting (``value`` or the environment's), checked.

    Raises:
        ValueError: not one of ``auto``, ``mkl``, ``openblas``.
    """
    value = os.environ.get(ENV, "auto") if value is None else value
    normal = value.strip().lower()
    if normal not in CHOICES:
        raise ValueError(f"{ENV} must be one of {', '.join(CHOICES)}, got {value!r}")
    return normal


def _folders():
    """Where pip's ``mkl`` wheel puts its libraries: ``<prefix>/lib`` of this interpreter's prefixes (a
    venv's, its base Python's)."""
    seen = []
    for prefix in (sys.prefix, sys.base_prefix, os.path.dirname(os.path.dirname(sys.executable))):
        folder = os.path.join(prefix, "lib")
        if folder not in seen:
            seen.append(folder)
    return seen


def why_not() -> str | None:
    """None if MKL can be loaded here, else one sentence saying what is missing."""
    for folder in _folders():
        if glob.glob(os.path.join(folder, "libmkl_rt.so*")):
            for pattern in _NEEDED:
                paths = glob.glob(os.path.join(folder, pattern))
                if not paths or not all(os.access(p, os.R_OK) for p in paths):
                    return f"MKL in {folder} lacks a readable {pattern}"
            return None
    return "MKL is not installed (pip install mkl, or minirnn[mkl])"


def load():
    """The loaded ``libmkl_rt`` (ctypes.CDLL), sequential (each call on its caller's thread); OSError if it
    will not load."""
    if _state["lib"] is None:
        problem = why_not()
        if problem:
            raise OSError(problem)
        folder = next(f for f in _folders() if glob.glob(os.path.join(f, "libmkl_rt.so*")))
        path = sorted(glob.glob(os.path.join(folder, "libmkl_rt.so*")))[-1]
        lib = ctypes.CDLL(path)
        lib.MKL_Set_Threading_Layer.argtypes = [ctypes.c_int]
        lib.MKL_Set_Threading_Layer(_SEQUENTIAL)
        _state["lib"], _state["threads"] = lib, "sequential"
    return _state["lib"]


def _addresses(names):
    """``{bits: address}`` of MKL's functions named in ``names`` (``{bits: name}``); OSError if MKL will not
    load."""
    lib = load()
    return {bits: ctypes.cast(getattr(lib, name), ctypes.c_void_p).value for bits, name in names.items()}


def gemm_addresses():
    """``{32: address, 64: address}`` of MKL's ILP64 ``cblas_sgemm_64``/``cblas_dgemm_64``; OSError if MKL
    will not load."""
    return _addresses(_NAMES)


_B_MATRIX = 162  # CblasBMatrix: pack the right operand
_ROW_MAJOR, _NO_TRANS, _TRANS = 101, 111, 112


def compute_addresses():
    """``{32: address, 64: address}`` of ``cblas_sgemm_compute_64``/``cblas_dgemm_compute_64``: C = A op(B)
    for a B made once by :func:`pack`."""
    return _addresses({32: "cblas_sgemm_compute_64", 64: "cblas_dgemm_compute_64"})


def _functions(dtype):
    """ctypes views of MKL's gemm, pack_get_size, pack and compute for one float dtype (argument types set
    once)."""
    key = ("functions", np.dtype(dtype).char)
    if key not in _state:
        lib, prefix = load(), "s" if np.dtype(dtype) == np.float32 else "d"
        F = ctypes.c_float if prefix == "s" else ctypes.c_double
        i32, i64, ptr = ctypes.c_int, ctypes.c_int64, ctypes.c_void_p
        gemm = getattr(lib, f"cblas_{prefix}gemm_64")
        gemm.argtypes, gemm.restype = [i32, i32, i32, i64, i64, i64, F, ptr, i64, ptr, i64, F, ptr, i64], None
        size = getattr(lib, f"cblas_{prefix}gemm_pack_get_size_64")
        size.argtypes, size.restype = [i32, i64, i64, i64], ctypes.c_size_t
        pack_ = getattr(lib, f"cblas_{prefix}gemm_pack_64")
        pack_.argtypes, pack_.restype = [i32, i32, i32, i64, i64, i64, F, ptr, i64, ptr], None
        compute = getattr(lib, f"cblas_{prefix}gemm_compute_64")
        compute.argtypes = [i32, i64, i64, i64, i64, i64, ptr, i64, ptr, i64, F, ptr, i64]
        compute.restype = None
        _state[key] = gemm, size, pack_, compute
    return _state[key]


HEADER = 4  # pack()'s first elements: K, N, where MKL's data starts, and the rows it was packed for


def pack(w, transposed, rows, reuse=False):
    """``op(w)`` in MKL's packed layout, for products ``a @ op(w)`` with ``a`` of ``rows`` rows.

    w: 2-D (K, N) C-contiguous, or (N, K) if ``transposed`` (op(w) = w.T). Returns a 1-D array of w's dtype:
    ``[K, N, start, rows, ..., MKL's data from index start (64-byte aligned) ...]`` for
    ``cblas_?gemm_compute``; the compiled product checks K, N and its row count against its operands before
    MKL reads the data (MKL's layout depends on the rows too). ``reuse``: pack into this thread's buffer
    from its last call for as many rows (:func:`_buffer`).
    """
    _, size, pack_, _ = _functions(w.dtype)
    K, N = (w.shape[1], w.shape[0]) if transposed else w.shape
    if max(K, N, rows) >= 2**24:  # K, N and rows must be exact in a float32 header
        raise ValueError(f"pack: w and rows may be at most 2**24 - 1, got shape {w.shape} and rows={rows}")
    data = -(-size(_B_MATRIX, rows, N, K) // w.itemsize)
    align = 64 // w.itemsize
    buffer = _buffer(HEADER + align + data, w.dtype, rows, reuse)
    start = HEADER + (-(buffer.ctypes.data // w.itemsize + HEADER)) % align
    buffer[:HEADER] = K, N, start, rows
    pack_(_ROW_MAJOR, _B_MATRIX, _TRANS if transposed else _NO_TRANS, rows, N, K, 1.0, w.ctypes.data,
          w.shape[1], buffer[start:].ctypes.data)
    return buffer


#: How many packed buffers each thread keeps for pack(..., reuse=True), the most recently used.
REUSED_BUFFERS = 4
_reused = threading.local()


def _buffer(size, dtype, rows, reuse):
    """A 1-D array of at least ``size`` elements for :func:`pack`: new, or with ``reuse`` the one this thread
    last packed for products of as many ``rows`` (the caller has finished with it: the kernels pack W_hh
    once per loop, each loop ends before the next pack, and the blocks of one loop that run at once have
    different row counts or share one operand). The forward's and the backward's operands share one buffer.

    Why: MKL asks for far more than it writes (9.2 MB for a 128 x 512 float32 W_hh, of which it writes the
    first 1.1 MB), and a new buffer of that size at every forward and backward moves glibc's thresholds for
    giving memory back: with the loops split over two threads the heap was trimmed at every call and the
    next call's arrays were fresh pages again, about 1,300 page faults a medium LSTM forward + backward.
    """
    if not reuse:
        return np.empty(size, dtype)
    kept = _reused.__dict__.setdefault("buffers", {})
    key = (np.dtype(dtype).char, rows)
    buffer = kept.pop(key, None)
    if buffer is None or buffer.size < size:
        buffer = np.empty(size, dtype)
    kept[key] = buffer  # the most recent last
    while len(kept) > REUSED_BUFFERS:
        kept.pop(next(iter(kept)))
    return buffer


def packed_data(buffer):
    """The part of a :func:`pack` result that MKL reads (after the header)."""
    return buffer[int(buffer[2]) :]


def _operand(x):
    """(CBLAS transpose flag, array whose buffer to pass, leading dimension) for a 2-D operand that is C- or
    Fortran-ordered (a transposed view of a C array); a copy for anything else."""
    if x.flags.c_contiguous:
        return _NO_TRANS, x, max(1, x.shape[1])
    if x.flags.f_contiguous:
        return _TRANS, x, max(1, x.shape[0])
    x = np.ascontiguousarray(x)
    return _NO_TRANS, x, max(1, x.shape[1])


def matmul(a, b):
    """``a @ b`` on MKL's gemm for 2-D arrays of one float dtype (transposed views are passed as such, not
    copied); a new (M, N) C-contiguous array. Anything else goes to ``np.matmul``. Inside a layer that may
    use n threads (``threads.current()``), n blocks of rows of ``a``, one per thread
    (``_batch.run_over_batch``).

    Example:
        >>> import numpy as np
        >>> matmul(np.ones((2, 3)), np.ones((3, 4))).shape
        (2, 4)
    """
    if not (a.ndim == b.ndim == 2 and a.dtype == b.dtype and a.dtype in (np.float32, np.float64)
            and a.shape[1] == b.shape[0] and a.size and b.size) or _state["lib"] is None:
        return np.matmul(a, b)
    from . import threads
    from ._batch import run_over_batch

    gemm = _functions(a.dtype)[0]
    (ta, a_, lda), (tb, b_, ldb) = _operand(a), _operand(b)
    M, K, N = a.shape[0], a.shape[1], b.shape[1]
    out = np.empty((M, N), a.dtype)
    row = lda * a.itemsize if ta == _NO_TRANS else a.itemsize  # bytes from one row of a to the next

    def rows(r0, r1):  # out[r0:r1] = a[r0:r1] @ b, on the calling thread (ctypes lets go of the GIL)
        gemm(_ROW_MAJOR, ta, tb, r1 - r0, N, K, 1.0, a_.ctypes.data + r0 * row, lda, b_.ctypes.data, ldb, 0.0,
             out.ctypes.data + r0 * N * out.itemsize, N)

    run_over_batch(rows, M, lambda _: (), threads.current())
    return out
