"""A compiled time loop over blocks of batch rows, one block per thread, when the layer may use more than one.

The rows of a batch never meet inside a recurrent time loop: row b of h_t depends only on row b of h_{t-1}
and of x_t, and the weights are shared and only read. So with two threads the loop runs rows [0, B/2) on one
and [B/2, B) on the other, each with its own one-thread products, and the two meet once, when the sequence
ends (the weight gradients after the loop sum over all rows in one GEMM, on the layer's threads):

    one thread per step      h_rec = h_{t-1} W_hh^T (B rows, BLAS threads)  ->  gates of B rows (one thread)
    split over n threads     thread k:  h_rec[rows_k] = h_{t-1}[rows_k] W_hh^T  ->  gates of rows_k

Against a many-thread BLAS product at every step this also spreads the gate arithmetic (a third of a medium
LSTM step: ``python benchmarks/layer_phases.py``) and has no hand-off between threads at every step
(``python benchmarks/speed_threads.py`` measures both). The threads are Python threads; the loops are compiled
with ``nogil`` (``_jit.OPTIONS``), so they run at once.

How many blocks (:func:`workers`): on MKL ``threads.current()``, the count the layer's ``blas_threads_for``
chose for its products (1 for small ones, on a busy machine, or where the user asked for one thread), and at
most one block per ``MIN_ROWS`` rows. On OpenBLAS one: it lays ``W_hh`` out again at every product, so two
blocks of rows would do that twice per step, and its own threads, which split each product's columns, were
faster (the medium float32 LSTM on two threads 1.26x against 1.05x split, the large 1.55x against 1.45x:
``MINIRNN_BLAS=openblas python benchmarks/batch_split.py --cells lstm --dtypes float32``). A
loop takes its block as its last two arguments ``b0, b1`` and touches only those rows.
"""

from __future__ import annotations

import concurrent.futures

from . import threads

#: The fewest batch rows a thread gets (below, a product of so few rows runs at a fraction of the GEMM speed).
MIN_ROWS = 8
_pool = {"executor": None, "size": 0}


def blocks(B, n_threads):
    """The row blocks ``[(b0, b1), ...]`` for ``n_threads``: as even as possible, each of at least
    ``MIN_ROWS`` rows (one block, all rows, when B is too small to split).

    Example:
        >>> blocks(32, 2), blocks(9, 2), blocks(33, 4)
        ([(0, 16), (16, 32)], [(0, 9)], [(0, 8), (8, 16), (16, 24), (24, 33)])
    """
    n = max(1, min(n_threads, B // MIN_ROWS))
    edges = [B * k // n for k in range(n + 1)]
    return list(zip(edges[:-1], edges[1:]))


def workers() -> int:
    """How many blocks of rows the loops run at once: ``threads.current()`` where the loops' BLAS is MKL, else
    1 (see the module docstring).

    Example:
        >>> workers()                       # outside a layer
        1
    """
    n = threads.current()
    if n == 1:
        return 1
    from . import _blas

    _blas.register()  # (once per process; the loops need it anyway)
    return n if _blas.bound_to() == "mkl" else 1


def run_over_batch(loop, B, args_for, n_threads=None):
    """``loop(*args_for(rows), b0, b1)`` for each block [b0, b1) of the B batch rows, at once; returns the
    first block's result (the loops fill shared arrays, each its own rows, and return the same arrays).

    ``args_for(rows)`` gives the loop's arguments for blocks of ``rows`` rows: the shared arrays and the
    recurrent operand packed for products of that many rows (``_blas.pack_b``), so it is called inside the
    one-thread block: MKL wants an operand packed with the thread count that uses it. ``n_threads``: how many
    blocks at most (default :func:`workers`).

    Example:
        >>> import numpy as np
        >>> out = np.zeros(4)
        >>> def loop(out, b0, b1):
        ...     out[b0:b1] = b1
        ...     return out
        >>> run_over_batch(loop, 4, lambda rows: (out,)).tolist()     # outside a layer: one block
        [4.0, 4.0, 4.0, 4.0]
    """
    n_threads = workers() if n_threads is None else n_threads
    if n_threads == 1:  # (the small layers' path: nothing more to decide)
        return loop(*args_for(B), 0, B)
    parts = blocks(B, n_threads)
    if len(parts) == 1:
        return loop(*args_for(B), 0, B)
    with threads.one_thread_each():
        args = {b1 - b0: args_for(b1 - b0) for b0, b1 in parts}
        pool = _executor(len(parts) - 1)
        pending = [pool.submit(_worker_block, loop, (*args[b1 - b0], b0, b1)) for b0, b1 in parts[1:]]
        b0, b1 = parts[0]
        try:
            first = loop(*args[b1 - b0], b0, b1)
        finally:  # every block ends before the arrays are read or the thread count restored
            concurrent.futures.wait(pending)
        for future in pending:
            future.result()  # raises a block's error
    return first


def _worker_block(loop, args):
    """A worker thread's block, its BLAS calls on that thread alone. Set in the worker itself: a BLAS on
    OpenMP keeps its thread count per calling thread, and a new thread starts at one per core (MKL did, on
    its OpenMP layer: two blocks of two-thread products on two cores ran at about 1.5x instead of 1.7x)."""
    threads.one_thread_here()
    return loop(*args)


def _executor(size):
    """The worker threads (made once; a larger pool replaces a smaller one, which is not shut down: another
    thread of the program may be submitting to it, and its workers end when it is no longer referenced)."""
    if _pool["size"] < size:
        _pool["executor"] = concurrent.futures.ThreadPoolExecutor(size, thread_name_prefix="minirnn-batch")
        _pool["size"] = size
    return _pool["executor"]
