"""The one place that wraps ``numba.njit``: lazy compilation, the disk cache, and what to do when it cannot
be written.

``jit(func)`` returns a stand-in for ``numba.njit(cache=True)(func)`` that imports Numba and builds the
dispatcher on the first call, so ``import minirnn`` neither imports Numba nor compiles anything. Each new
argument type (float32 or float64) then compiles once per process, or loads from Numba's disk cache in a few
hundred milliseconds.

When no cache folder is writable, Numba fails in one of two places (``numba/core/caching.py``):

* at decoration: it tries ``NUMBA_CACHE_DIR``, then the source's ``__pycache__``, then a user-wide folder,
  and raises ``RuntimeError("cannot cache function ...: no locator available ...")`` when none can be created
  and written;
* at the first call: a folder that was writable at decoration but is not any more (removed, made read-only,
  replaced by a file) raises ``OSError`` when Numba reads its cache index or saves the compiled code, and a
  corrupted cache file (truncated, overwritten) raises whatever unpickling it raises (``UnpicklingError``,
  ``EOFError``,
  ...).

In every case we compile without a disk cache (``cache=False``), warn once per process, and the numbers are
the same.
At the first call, the fallback compiles the function uncached and calls it again: an error that is not the
cache's (there should be none, since the layers validate their input first) raises again from there, so it is
never hidden.
Only errors that a cache can cause fall back: once code for the argument types is compiled (or loaded), an
error comes from running it and is raised as it is; and Ctrl-C, which reaches Python inside a callback of the
compiled loop and comes back as a ``SystemError`` caused by the ``KeyboardInterrupt``, raises
``KeyboardInterrupt``. ``fastmath`` is never used: it turns ``np.isnan`` into ``False`` and reorders sums.
``error_model="numpy"``: a division by zero gives inf/nan as in NumPy instead of raising, which removes the
zero test Numba puts before every division; that branch kept LLVM from vectorising the loops around the
division in ``_math.tanh``. Before the first compilation
``_math.register()`` teaches Numba that vectorisable ``tanh`` and ``_blas.register()`` the matrix products on
NumPy's BLAS.
"""

from __future__ import annotations

import functools
import warnings

_warned_about_cache = False
OPTIONS = {"error_model": "numpy", "nogil": True}  # see the module docstring; never fastmath


def jit(func):
    """Wrap ``func`` as a lazily compiled, disk-cached ``numba.njit`` function (see the module docstring)."""
    return LazyJit(func)


_JITABLE = []  # helpers the loops call, registered with Numba before the first compilation


def jitable(func):
    """Mark ``func`` as a helper that compiled loops may call (``numba.extending.register_jitable``, done
    lazily
    before the first compilation); outside compiled code it stays the plain Python function."""
    _JITABLE.append(func)
    return func


def _register_jitables():
    from numba.extending import register_jitable

    while _JITABLE:
        register_jitable(_JITABLE.pop())


class LazyJit:
    """``numba.njit(cache=True)(func)``, built on the first call; falls back to ``cache=False`` with one
    warning."""

    def __init__(self, func):
        functools.update_wrapper(self, func)
        self.py_func = func
        self._dispatcher = None
        self._cached = True

    @property
    def dispatcher(self):
        """The Numba dispatcher (created, not compiled, on first access)."""
        if self._dispatcher is None:
            self._dispatcher = self._make_dispatcher()
        return self._dispatcher

    def _make_dispatcher(self):
        import numba

        from . import _blas, _math

        _math.register()
        _blas.register()
        _register_jitables()
        if self._cached:
            try:
                return numba.njit(cache=True, **OPTIONS)(self.py_func)
            except RuntimeError as error:  # no cache folder can be written
                self._give_up_caching(error)
        return numba.njit(cache=False, **OPTIONS)(self.py_func)

    def _give_up_caching(self, error):
        self._cached = False
        _warn_once(error)

    def __call__(self, *args):
        dispatcher = self.dispatcher
        if not self._cached:
            return dispatcher(*args)
        try:
            return dispatcher(*args)
        except Exception as error:  # the cache folder broke after decoration, or its files are corrupted?
            if _wraps_interrupt(error):  # Ctrl-C inside the loop: interrupt, as Python code would
                raise KeyboardInterrupt() from None
            if not _is_cache_damage(error, dispatcher, args):
                raise
            import numba

            uncached = numba.njit(cache=False, **OPTIONS)(self.py_func)
            result = uncached(*args)  # a genuine error (not the cache's) raises again here, uncached
            self._dispatcher = uncached
            self._give_up_caching(error)
            return result

    def __repr__(self):
        return f"jit({self.py_func.__module__}.{self.py_func.__qualname__})"


def _wraps_interrupt(error) -> bool:
    """Whether ``error`` has a ``KeyboardInterrupt`` in its chain of causes.

    Ctrl-C during a compiled loop reaches Python inside a callback Numba makes (``_numba_unpickle``), and
    comes back as ``SystemError(... returned a result with an exception set)`` caused by the interrupt.
    """
    seen, hops = error, 0
    while seen is not None and hops < 100:
        if isinstance(seen, KeyboardInterrupt):
            return True
        seen, hops = seen.__cause__ or seen.__context__, hops + 1
    return False


def _is_cache_damage(error, dispatcher, args) -> bool:
    """Whether ``error``, raised by ``dispatcher(*args)``, can be the disk cache's fault (and compiling anew
    helps).

    An ``OSError`` always can (the compiled loops do no I/O; Numba saves to the cache after adding the
    overload).
    Otherwise not when the dispatcher has already compiled (or loaded) code for these argument types: then the
    cache was read without trouble and the error came from running the loop. Not for ``MemoryError``,
    ``RecursionError`` or ``SystemError``, which no cache file explains.
    """
    if isinstance(error, (MemoryError, RecursionError, SystemError)):
        return False
    if isinstance(error, OSError):  # reading the index, or saving after compiling (which adds the overload)
        return True
    try:
        from numba import typeof

        signature = tuple(typeof(a) for a in args)
        return signature not in dispatcher.overloads
    except Exception:  # types Numba cannot name: it could not have compiled them
        return True


def _warn_once(error):
    global _warned_about_cache
    if _warned_about_cache:
        return
    _warned_about_cache = True
    warnings.warn(
        "minirnn could not use Numba's compile cache (not writable, or its files are damaged), so its "
        "kernels compile "
        "without one (a few seconds in every new process; the results are the same). Point NUMBA_CACHE_DIR "
        "to a "
        "writable folder, or delete the damaged cache files, to keep compiled kernels. Numba said: "
        f"{error!r}",
        RuntimeWarning,
    )
