"""Synthetic memory tasks: the adding problem, copy memory and frequency-band classification, as NumPy arrays.

Sequences are time-major, ``(T, n, features)``. Every generator takes ``seed=`` (an int) or ``rng=`` (a
``numpy.random.Generator``): the same seed gives the same arrays.
"""

from __future__ import annotations

import numpy as np

from ._checks import check_int, make_rng

__all__ = [
    "ADDING_BASELINE_MSE",
    "adding_problem",
    "copy_memory",
    "copy_memory_baseline",
    "sequence_classification",
    "FREQUENCY_BANDS",
]

#: MSE of always predicting 1 on the adding problem: Var(U1 + U2) = 2 * (1/12) = 1/6. A model must beat this.
ADDING_BASELINE_MSE = 1.0 / 6.0


# -- adding problem
# -----------------------------------------------------------------------------------------------------
def adding_problem(n, T, seed=None, *, rng=None):
    """The adding problem (Hochreiter & Schmidhuber 1997; the version of Le, Jaitly & Hinton 2015).

    Each sequence has T steps of two channels: channel 0 holds numbers U(0, 1), channel 1 is a marker that is
    1 at exactly two steps, one drawn uniformly from the first half [0, T//2) and one from the second half
    [T//2, T), and 0 elsewhere. The target is the sum of the two marked numbers:

        y = sum_t x[t, 0] * x[t, 1]        in [0, 2]

    Predicting the constant 1 scores ``ADDING_BASELINE_MSE`` = Var(U1 + U2) = 1/6; a network must beat that.

    Args:
        n: number of sequences, >= 1.  T: sequence length, >= 2.  seed / rng: the randomness.

    Returns:
        x (T, n, 2) float64, y (n, 1) float64.

    Example:
        >>> x, y = adding_problem(4, 50, seed=0)
        >>> x.shape, y.shape, x[:, :, 1].sum(axis=0).tolist()
        ((50, 4, 2), (4, 1), [2.0, 2.0, 2.0, 2.0])
    """
    n = check_int(n, "n", 1)
    T = check_int(T, "T", 2)
    g = make_rng(seed, rng)
    values = g.uniform(0.0, 1.0, size=(T, n))
    first = g.integers(0, T // 2, size=n)  # in the first half
    second = g.integers(T // 2, T, size=n)  # in the second half
    marker = np.zeros((T, n))
    cols = np.arange(n)
    marker[first, cols] = 1.0
    marker[second, cols] = 1.0
    x = np.stack([values, marker], axis=-1)  # (T, n, 2)
    y = (values * marker).sum(axis=0)[:, None]  # (n, 1)
    return x, y


# -- copy memory
# --------------------------------------------------------------------------------------------------------
def copy_memory(n, T, seed=None, n_symbols=8, copy_len=10, *, one_hot=False, rng=None):
    """The copy-memory task (Hochreiter & Schmidhuber 1997; the version of Arjovsky, Shah & Bengio 2016).

    Alphabet: 0 is the blank, 1..n_symbols are the symbols, n_symbols + 1 is the delimiter. Each input
    sequence has length T + 2 * copy_len:

        input:   s_1 .. s_copy_len   0 x (T - 1)   delimiter   0 x copy_len
        target:  0 x (T + copy_len)                            s_1 .. s_copy_len

    with s_i uniform over 1..n_symbols. After seeing the delimiter the network must output the symbols it saw
    T + 10 steps earlier. The baseline that outputs blanks and then guesses uniformly scores
    ``copy_memory_baseline(T)``.

    Args:
        n: number of sequences, >= 1.  T: the delay, >= 1.  n_symbols >= 1.  copy_len >= 1.
        one_hot: if True, x is one-hot over the n_symbols + 2 input classes.

    Returns:
        x (T + 2 copy_len, n) int64, or (T + 2 copy_len, n, n_symbols + 2) float64 if one_hot;
        y (T + 2 copy_len, n) int64 with classes in 0..n_symbols (a model has n_symbols + 2 outputs or
        n_symbols + 1).

    Example:
        >>> x, y = copy_memory(2, 5, seed=0, n_symbols=3, copy_len=2)
        >>> x[:, 0].tolist(), y[:, 0].tolist()
        ([3, 2, 0, 0, 0, 0, 4, 0, 0], [0, 0, 0, 0, 0, 0, 0, 3, 2])
    """
    n = check_int(n, "n", 1)
    T = check_int(T, "T", 1)
    n_symbols = check_int(n_symbols, "n_symbols", 1)
    copy_len = check_int(copy_len, "copy_len", 1)
    g = make_rng(seed, rng)
    length = T + 2 * copy_len
    symbols = g.integers(1, n_symbols + 1, size=(copy_len, n))  # (copy_len, n)
    x = np.zeros((length, n), dtype=np.int64)
    x[:copy_len] = symbols
    x[copy_len + T - 1] = n_symbols + 1  # the delimiter
    y = np.zeros((length, n), dtype=np.int64)
    y[-copy_len:] = symbols
    if one_hot:
        x = np.eye(n_symbols + 2)[x]  # (length, n, n_symbols + 2)
    return x, y


def copy_memory_baseline(T, n_symbols=8, copy_len=10) -> float:
    """Cross-entropy per step of the memoryless baseline on ``copy_memory``: blanks, then uniform guesses.

        baseline = copy_len * log(n_symbols) / (T + 2 * copy_len)         = 10 log(8) / (T + 20) by default

    Example:
        >>> round(copy_memory_baseline(100), 5)
        0.17329
    """
    T = check_int(T, "T", 1)
    n_symbols = check_int(n_symbols, "n_symbols", 1)
    copy_len = check_int(copy_len, "copy_len", 1)
    return copy_len * float(np.log(n_symbols)) / (T + 2 * copy_len)


# -- sequence classification
# --------------------------------------------------------------------------------------------
#: Frequency bands (cycles per step) of the three classes of ``sequence_classification``.
FREQUENCY_BANDS = ((0.03, 0.06), (0.09, 0.14), (0.18, 0.26))


def sequence_classification(n, seed=None, *, min_len=20, max_len=60, noise=0.5, rng=None):
    """Which of 3 frequency bands is a noisy sine of random length in? A small offline sequence
    classification set.

    For each sequence: class k uniform in {0, 1, 2} (balanced: each appears n/3 times, shuffled), length L
    uniform in [min_len, max_len], frequency f uniform in ``FREQUENCY_BANDS[k]``, amplitude a ~ U(0.5, 1.5),
    phase phi ~ U(0, 2pi):

        x_t = a sin(2 pi f t + phi) + noise * e_t,   e_t ~ N(0, 1),   t = 0 .. L - 1;   x_t = 0 for t >= L
        (padding)

    With noise 0.5 no single step tells the class: the network has to integrate over time, and short
    sequences are harder (few cycles of the slowest band fit in 20 steps).

    Args:
        n: number of sequences, >= 1.  min_len, max_len: lengths, 2 <= min_len <= max_len.  noise >= 0.

    Returns:
        x (max_len, n, 1) float64 zero-padded, lengths (n,) int64, y (n,) int64 in {0, 1, 2}.

    Example:
        >>> x, lengths, y = sequence_classification(6, seed=0)
        >>> x.shape, sorted(y.tolist())
        ((60, 6, 1), [0, 0, 1, 1, 2, 2])
    """
    n = check_int(n, "n", 1)
    min_len = check_int(min_len, "min_len", 2)
    max_len = check_int(max_len, "max_len", 2)
    if max_len < min_len:
        raise ValueError(f"max_len must be >= min_len = {min_len}, got {max_len}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a standard deviation >= 0, got {noise!r}")
    g = make_rng(seed, rng)
    y = g.permutation(np.arange(n) % len(FREQUENCY_BANDS)).astype(np.int64)
    lengths = g.integers(min_len, max_len + 1, size=n).astype(np.int64)
    bands = np.array(FREQUENCY_BANDS)
    f = g.uniform(bands[y, 0], bands[y, 1])
    a = g.uniform(0.5, 1.5, size=n)
    phi = g.uniform(0, 2 * np.pi, size=n)
    t = np.arange(max_len, dtype=np.float64)[:, None]  # (max_len, 1)
    x = a * np.sin(2 * np.pi * f * t + phi) + noise * g.standard_normal((max_len, n))
    x[t[:, 0][:, None] >= lengths[None, :]] = 0.0  # padding
    return x[:, :, None], lengths, y
