"""The branch-free tanh of the compiled loops (minirnn/kernels/_math.py) against the C library's, in ulp."""
from __future__ import annotations

import numpy as np
import pytest

from minirnn.kernels import _math
from minirnn.kernels._jit import OPTIONS


def _tanh_all(a, out):
    for k in range(a.size):
        out[k] = _math.tanh(a[k])


def tanh_all(a, out):
    """_math.tanh over an array, compiled as the kernels are (never from a disk cache, which would not see edits)."""
    global _compiled
    if _compiled is None:
        import numba

        _math.register()
        _compiled = numba.njit(cache=False, **OPTIONS)(_tanh_all)
    _compiled(a, out)


_compiled = None


@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_compiled_tanh_is_within_4_ulp_of_the_c_library_and_keeps_its_dtype(dtype):
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.normal(size=20000) * 3, rng.uniform(-0.2, 0.2, 20000), rng.uniform(-40, 40, 5000),
                        [0.0, -0.0, 0.125, -0.125, 1e-30, -1e-30, 9.0, 10.0, 19.0, 20.0, 30.0,
                         np.finfo(dtype).max, -np.finfo(dtype).max, np.inf, -np.inf]]).astype(dtype)
    out = np.empty_like(a)
    tanh_all(a, out)
    reference = np.tanh(a.astype(np.float64))
    ulp = np.spacing(np.abs(reference).astype(dtype)).astype(np.float64)
    error = np.abs(out.astype(np.float64) - reference) / ulp
    assert out.dtype == np.dtype(dtype)
    assert error.max() <= 4, f"max error {error.max()} ulp at x = {a[error.argmax()]}"
    assert np.array_equal(np.signbit(out), np.signbit(a))
    assert np.isnan(tanh_all_nan(dtype))


def tanh_all_nan(dtype):
    out = np.empty(1, dtype)
    tanh_all(np.array([np.nan], dtype), out)
    return out[0]
