"""How many BLAS threads each call uses: one for small products, more only for large ones on a machine with
idle cores.

OpenBLAS starts one thread per core and uses them all for every product. For the small products of a
recurrent step (B x H times H x 4H, a few million multiply-adds) the threads cost more than they save, and on
a busy machine they
wait for each other: ``minirnn train copy`` ran 2.6-4.7x slower with OpenBLAS's default threads than with one
on a loaded 2-core machine (``python benchmarks/threads.py`` measures it). So the layers enter

    with blas_threads_for(work):          # work: multiply-adds of the largest product of one call
        # NumPy's and the compiled loops' BLAS calls run with threads_for(work)
        ...

    threads_for(work) = 1                                                      if work < PARALLEL_WORK
                      = clip(round(cores - max(load - used, 0)), 1, ceiling)   otherwise

where ``cores`` is the CPUs this process may use, ``load`` the 1-minute load average (read at most once a
second), ``used`` the threads this process gave its last large product (1 at first): busy with its own
products, the process itself counts about that much in the load (on an otherwise idle 2-core machine the load
reads 1 to 1.3 while it runs on one thread, about 2 on two), so ``load - used`` is the load of the others; and
``ceiling`` the thread count the BLAS has when the outermost ``blas_threads_for`` is entered:
whatever the user chose (``OPENBLAS_NUM_THREADS``, ``threadpoolctl.threadpool_limits``) is never exceeded, and
no environment variable is set. The count is restored on the way out. The threads are set through
threadpoolctl; without it (it is a dependency, but an environment may lack it) nothing changes. ``fixed(n)``
turns the choice off, for benchmarks.

The count is also how many threads minirnn itself runs: the compiled loops of the RNN, LSTM and GRU split
their batch rows into that many blocks, and MKL's large products their rows (``_batch.py``), each block on
one BLAS thread (``one_thread_each``, ``one_thread_here``). MKL itself runs sequential (``_mkl.py`` says why).
"""

from __future__ import annotations

import contextlib
import functools
import os
import sys
import time

__all__ = [
    "PARALLEL_WORK",
    "threads_for",
    "blas_threads_for",
    "uses_blas",
    "recurrent_work",
    "linear_work",
    "fixed",
    "current",
    "one_thread_each",
    "one_thread_here",
]

#: Products below this many multiply-adds run on one thread. A recurrent layer's loops split over two threads
#: (MKL; ``python benchmarks/batch_split.py --dtypes float32 --size 100,32,32,64``, and ``--size
#: 100,16,32,128``): float32 forward + backward 1.07-1.19x from 2^19 (the LSTM at B=32, H=64; the RNN at B=32,
#: H=128), 1.00x for the GRU at B=32, H=64 (2^18.6), 0.81-0.89x for the RNN at 2^17-2^18. One product on
#: OpenBLAS's two threads against one (``OPENBLAS_NUM_THREADS=2 python benchmarks/product_threads.py``): 2^19
#: 0.96-1.00x, 2^21 1.20-1.30x, 2^23 and up 1.6-1.9x.
PARALLEL_WORK = 1 << 19
_state = {"libs": None, "depth": 0, "ceiling": 1, "current": 1, "fixed": None, "load": (0.0, -1.0), "used": 1}


def _libs():
    """threadpoolctl's controllers of the loaded BLAS libraries ([] without threadpoolctl).

    Looked up again whenever a module has been imported since (``import numba`` may load SciPy's own
    OpenBLAS).
    """
    if _state["libs"] is None or _state.get("modules") != len(sys.modules):
        _state["modules"] = len(sys.modules)
        try:
            from threadpoolctl import ThreadpoolController

            _state["libs"] = ThreadpoolController().select(user_api="blas").lib_controllers
        except Exception:  # threadpoolctl missing or unable to inspect the process
            _state["libs"] = []
    return _state["libs"]


def _cores() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # pragma: no cover - macOS, Windows
        return os.cpu_count() or 1


def _load() -> float:
    """The 1-minute load average, re-read at most once a second (0 where the system has none)."""
    value, when = _state["load"]
    now = time.monotonic()
    if now - when > 1.0:
        try:
            value = os.getloadavg()[0]
        except (OSError, AttributeError):  # pragma: no cover - Windows
            value = 0.0
        _state["load"] = (value, now)
    return value


def threads_for(work, ceiling=None) -> int:
    """BLAS threads for a call whose largest product has ``work`` multiply-adds (see the module docstring).

    Example:
        >>> threads_for(32 * 32 * 128, ceiling=8)         # one LSTM step at B=32, H=32: one thread
        1
    """
    ceiling = _state["ceiling"] if ceiling is None else ceiling
    if ceiling <= 1 or work < PARALLEL_WORK:
        return 1
    others = max(_load() - _state["used"], 0.0)  # the load of everything but this process
    _state["used"] = int(min(ceiling, max(1, round(_cores() - others))))
    return _state["used"]


def _set(n):
    for lib in _libs():
        lib.set_num_threads(n)


@contextlib.contextmanager
def blas_threads_for(work):
    """Run the block with ``threads_for(work)`` BLAS threads, then restore the count (nests; see the
    docstring).

    Example:
        >>> import numpy as np
        >>> with blas_threads_for(10):
        ...     _ = np.ones((4, 4)) @ np.ones((4, 4))
    """
    libs = _libs()
    if not libs:
        yield
        return
    if _state["depth"] == 0:  # the user's count, the ceiling (asked of each library: a few us a call)
        current = _state["ceiling"] = max(lib.num_threads for lib in libs)
    else:  # inside: what the enclosing block set
        current = _state["current"]
    wanted = _state["fixed"] or threads_for(work)
    _state["depth"] += 1
    _state["current"] = wanted
    try:
        if wanted != current:
            _set(wanted)
        yield
    finally:
        _state["depth"] -= 1
        _state["current"] = current
        if wanted != current:
            _set(current)


def current() -> int:
    """The thread count the enclosing :func:`blas_threads_for` chose for this call (1 outside any, and where
    threadpoolctl cannot set the BLAS's count).

    Example:
        >>> current()
        1
    """
    return _state["current"] if _state["depth"] else 1


@contextlib.contextmanager
def one_thread_each():
    """Run the block with one BLAS thread per calling thread: for work the caller itself spreads over
    threads (``_batch.run_over_batch``), whose BLAS calls must not start threads of their own. Restores the
    enclosing count on the way out.

    Example:
        >>> with one_thread_each():
        ...     pass
    """
    outer = current()
    if outer != 1:
        _set(1)
    try:
        yield
    finally:
        if outer != 1:
            _set(outer)


def one_thread_here():
    """Give the BLAS one thread for the calls of the current thread (a worker of ``one_thread_each``'s
    caller): a BLAS on OpenMP keeps the count per thread, OpenBLAS for the process (already 1 there)."""
    _set(1)


def uses_blas(work_of):
    """Decorator: run the method inside ``blas_threads_for(work_of(*args))``.

    Example:
        >>> @uses_blas(lambda a, b: a.shape[0] * a.shape[1] * b.shape[1])
        ... def product(a, b):
        ...     return a @ b
    """

    def decorate(method):
        @functools.wraps(method)
        def wrapper(*args, **kwargs):
            with blas_threads_for(work_of(*args, **kwargs)):
                return method(*args, **kwargs)

        return wrapper

    return decorate


def recurrent_work(layer, seq, *rest, **kwargs) -> int:
    """Multiply-adds of one step's recurrent product of a layer: B x H times H x (gates H), for seq (T, B,
    ...).

    Example:
        >>> from minirnn.cells import registry
        >>> class Layer: hidden_size, cell = 128, registry.get("lstm")
        >>> import numpy as np; recurrent_work(Layer(), np.zeros((10, 32, 8)))
        2097152
    """
    H = layer.hidden_size
    return int(seq.shape[1]) * H * getattr(getattr(layer, "cell", None), "num_gates", 4) * H


def linear_work(layer, x, *rest, **kwargs) -> int:
    """Multiply-adds of a Linear layer's product: rows times in_features times out_features, for x (..., in)
    in the forward and dy (..., out) in the backward.

    Example:
        >>> class Lin: in_features, out_features = 4, 3
        >>> import numpy as np; linear_work(Lin(), np.zeros((5, 4)))
        60
    """
    size, last = int(getattr(x, "size", 0)), (getattr(x, "shape", None) or (0,))[-1]
    other = (
        layer.out_features
        if last == getattr(layer, "in_features", None)
        else getattr(layer, "in_features", 1)
    )
    return size * other


@contextlib.contextmanager
def fixed(n):
    """Inside, every ``blas_threads_for`` uses exactly ``n`` threads (the benchmark's comparison);
    ``n=None``: auto."""
    previous = _state["fixed"]
    _state["fixed"] = n
    try:
        yield
    finally:
        _state["fixed"] = previous
