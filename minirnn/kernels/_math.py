"""``tanh`` for the compiled loops: branch-free, so LLVM turns the loops that call it into SIMD code.

Why: inside ``@njit``, ``np.tanh`` on a scalar is a call into the C library (pip's llvmlite has no SVML), one
element at a time; this ``tanh`` is a few multiply-adds with no branch and no call, so the loops that call it
vectorise (4
float64 or 8 float32 lanes with AVX2). The measurements that made the difference: docs/performance.md.

How, for x in float32 or float64 (each computed in its own precision, never promoted)::

    |x| < 1/8:    tanh(x) = x + x^3 P(x^2)                     P: Taylor series of tanh, to below half an ulp
    otherwise:    tanh(x) = sign(x) (1 - e) / (1 + e),   e = exp(-2 min(|x|, X_MAX))
    exp(z) = 2^n exp(r),  n = round(z / ln 2),  r = z - n ln 2 (in two parts, Cody-Waite),  exp(r): Taylor
    polynomial,
             2^n built in the exponent bits (adding a "magic" 1.5 * 2^52 rounds to an integer in the low bits)

Both branches are computed and one is selected. Beyond X_MAX (20 for float64, 10 for float32) tanh is 1 in
that
precision. Measured against the C library's tanh: at most 4 ulp (float64 and float32, near |x| = 1/8); see
tests/kernels/test_kernel_math.py.

Outside Numba (``NUMBA_DISABLE_JIT=1``, or a call from Python) ``tanh`` is ``np.tanh``. :func:`register`
teaches Numba the fast version; ``_jit.py`` calls it before the first compilation, so importing this module
imports no Numba.
Numba's disk cache of a kernel does not notice edits to this file: after editing it, delete
``kernels/__pycache__/*.nb*``.
"""

from __future__ import annotations

from fractions import Fraction
from math import comb

import numpy as np


def tanh(x):
    """tanh(x); inside compiled code the branch-free version described in the module docstring."""
    return np.tanh(x)


def _tanh_taylor(count):
    """The first ``count`` coefficients c_k of tanh(x) = x + sum_k c_k x^(2k+1), k = 1..count (exact
    fractions)."""
    bernoulli = [Fraction(1)]  # B_0, B_1, ... (B_1 = -1/2)
    for m in range(1, 2 * count + 3):
        bernoulli.append(-sum(comb(m + 1, k) * bernoulli[k] for k in range(m)) / (m + 1))
    coeffs = []
    for n in range(2, count + 2):  # tanh: sum_n 2^2n (2^2n - 1) B_2n x^(2n-1) / (2n)!
        c = Fraction(2 ** (2 * n) * (2 ** (2 * n) - 1)) * bernoulli[2 * n]
        for k in range(1, 2 * n + 1):
            c /= k
        coeffs.append(c)
    return coeffs


# per dtype: (number of tanh Taylor terms after x, degree of the exp(r) polynomial, X_MAX, mantissa bits,
# exponent bias)
_SETTINGS = {np.float64: (8, 13, 20.0, 52, 1023), np.float32: (4, 7, 10.0, 23, 127)}
_registered = False


def _make_tanh(F, I):
    """The compiled tanh for float type F (np.float32 / np.float64) with its same-width integer type I."""
    n_tanh, n_exp, x_max, mantissa, bias = _SETTINGS[F]
    tanh_c = tuple(F(float(c)) for c in reversed(_tanh_taylor(n_tanh)))  # Horner order, highest first
    fact = [1]
    for k in range(1, n_exp + 1):
        fact.append(fact[-1] * k)
    exp_c = tuple(F(1.0 / fact[k]) for k in range(n_exp, -1, -1))  # 1/n!, ..., 1/1!, 1
    one, two, small, X_MAX = F(1), F(2), F(0.125), F(x_max)
    log2e = F(1.4426950408889634)
    if F is np.float64:  # ln 2 = LN2_HI + LN2_LO, LN2_HI * n exact
        ln2_hi, ln2_lo = F(0.6931471803691238), F(1.9082149292705877e-10)
    else:
        ln2_hi, ln2_lo = F(0.693145751953125), F(1.428606765330187e-06)
    magic = F(1.5 * 2.0**mantissa)
    magic_bits = I(np.asarray(magic, F).view(I))
    shift, bias_i = I(mantissa), I(bias)

    # The polynomials are written out (Horner) rather than looped over, so that Numba can inline the function.
    names = {
        "np": np,
        "F": F,
        "I": I,
        "one": one,
        "two": two,
        "small": small,
        "X_MAX": X_MAX,
        "log2e": log2e,
        "ln2_hi": ln2_hi,
        "ln2_lo": ln2_lo,
        "magic": magic,
        "magic_bits": magic_bits,
        "shift": shift,
        "bias_i": bias_i,
    }
    names.update({f"E{k}": c for k, c in enumerate(exp_c)})
    names.update({f"T{k}": c for k, c in enumerate(tanh_c)})
    source = f"""
def fast_tanh(x):
    ax = np.abs(x)
    z = -two * np.minimum(ax, X_MAX)                        # |x| >= 1/8: (1 - e) / (1 + e), e = exp(-2 |x|)
    m = z * log2e + magic                                   # n = round(z / ln 2) sits in m's low bits
    n = m - magic
    r = (z - n * ln2_hi) - n * ln2_lo                       # |r| <= ln(2) / 2
    p = {_horner("r", "E", len(exp_c))}
    scale = I((F(m).view(I) - magic_bits + bias_i) << shift).view(F)      # 2^n
    e = p * scale
    big = (one - e) / (one + e)
    # |x| < 1/8: x + x^3 P(x^2) (kept finite for large x)
    xs = np.minimum(ax, small)
    x2 = xs * xs
    tiny = xs + xs * x2 * ({_horner("x2", "T", len(tanh_c))})
    w = F(ax < small)                                       # select without a branch: exact, both are finite
    return np.copysign(w * tiny + (one - w) * big, x)
"""
    exec(compile(source, f"<minirnn.kernels._math tanh {F.__name__}>", "exec"), names)
    fast_tanh = names["fast_tanh"]
    return fast_tanh


def _horner(var, prefix, count):
    """``((C0 * var + C1) * var + C2) ...`` as source text, for ``count`` coefficients named prefix0,
    prefix1, ..."""
    text = f"{prefix}0"
    for k in range(1, count):
        text = f"({text}) * {var} + {prefix}{k}"
    return text


def register():
    """Teach Numba the fast :func:`tanh` (once per process; imports Numba)."""
    global _registered
    if _registered:
        return
    from numba import types
    from numba.extending import overload

    implementations = {32: _make_tanh(np.float32, np.int32), 64: _make_tanh(np.float64, np.int64)}

    @overload(tanh, inline="always")  # inlined by Numba: LLVM alone leaves the float64 one a call
    def _tanh_overload(x):
        if isinstance(x, types.Float):
            return implementations[x.bitwidth]

    _registered = True
