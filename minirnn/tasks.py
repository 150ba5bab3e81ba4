"""The classic little tasks for recurrent networks, generated or read offline, as NumPy arrays.

- ``adding_problem``: sum the two marked numbers of a long sequence (long-range memory, regression).
- ``copy_memory``: recall 10 symbols after T blank steps (long-range memory, classification per step).
- ``sine_series``, ``make_windows``, ``nino_sst``: time series forecasting, synthetic and real (NOAA sea temperatures).
- ``char_corpus``, ``Vocab``, ``train_val_split``, ``batchify``: character-level language modelling on offline text.
- ``sequence_classification``: which frequency band a noisy, variable-length sine lies in.

Sequences are time-major, ``(T, n, features)``, as the layers use them inside. Every random generator takes ``seed=``
(an int) or ``rng=`` (a ``numpy.random.Generator``): the same seed gives the same arrays. Nothing is downloaded.
"""
from __future__ import annotations

import os
import sysconfig
from importlib import resources

import numpy as np

from .errors import require_finite

__all__ = [
    "ADDING_BASELINE_MSE", "adding_problem",
    "copy_memory", "copy_memory_baseline",
    "sine_series", "make_windows", "nino_sst",
    "char_corpus", "Vocab", "train_val_split", "batchify",
    "sequence_classification", "FREQUENCY_BANDS", "STDLIB_CORPUS_FILES",
]

#: MSE of always predicting 1 on the adding problem: Var(U1 + U2) = 2 * (1/12) = 1/6. A model must beat this.
ADDING_BASELINE_MSE = 1.0 / 6.0


def _rng(seed, rng) -> np.random.Generator:
    if seed is not None and rng is not None:
        raise ValueError("give seed or rng, not both")
    if rng is not None:
        if not isinstance(rng, np.random.Generator):
            raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
        return rng
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, (int, np.integer))):
        raise TypeError(f"seed must be an int or None, got {type(seed).__name__}")
    return np.random.default_rng(seed)


def _check_int(value, name: str, minimum: int) -> int:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return int(value)


# -- adding problem -----------------------------------------------------------------------------------------------------
def adding_problem(n, T, seed=None, *, rng=None):
    """The adding problem (Hochreiter & Schmidhuber 1997; the version of Le, Jaitly & Hinton 2015).

    Each sequence has T steps of two channels: channel 0 holds numbers U(0, 1), channel 1 is a marker that is 1 at
    exactly two steps, one drawn uniformly from the first half [0, T//2) and one from the second half [T//2, T), and
    0 elsewhere. The target is the sum of the two marked numbers:

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
    n = _check_int(n, "n", 1)
    T = _check_int(T, "T", 2)
    g = _rng(seed, rng)
    values = g.uniform(0.0, 1.0, size=(T, n))
    first = g.integers(0, T // 2, size=n)                 # in the first half
    second = g.integers(T // 2, T, size=n)                # in the second half
    marker = np.zeros((T, n))
    cols = np.arange(n)
    marker[first, cols] = 1.0
    marker[second, cols] = 1.0
    x = np.stack([values, marker], axis=-1)               # (T, n, 2)
    y = (values * marker).sum(axis=0)[:, None]            # (n, 1)
    return x, y


# -- copy memory --------------------------------------------------------------------------------------------------------
def copy_memory(n, T, seed=None, n_symbols=8, copy_len=10, *, one_hot=False, rng=None):
    """The copy-memory task (Hochreiter & Schmidhuber 1997; the version of Arjovsky, Shah & Bengio 2016).

    Alphabet: 0 is the blank, 1..n_symbols are the symbols, n_symbols + 1 is the delimiter. Each input sequence has
    length T + 2 * copy_len:

        input:   s_1 .. s_copy_len   0 x (T - 1)   delimiter   0 x copy_len
        target:  0 x (T + copy_len)                            s_1 .. s_copy_len

    with s_i uniform over 1..n_symbols. After seeing the delimiter the network must output the symbols it saw T + 10
    steps earlier. The baseline that outputs blanks and then guesses uniformly scores ``copy_memory_baseline(T)``.

    Args:
        n: number of sequences, >= 1.  T: the delay, >= 1.  n_symbols >= 1.  copy_len >= 1.
        one_hot: if True, x is one-hot over the n_symbols + 2 input classes.

    Returns:
        x (T + 2 copy_len, n) int64, or (T + 2 copy_len, n, n_symbols + 2) float64 if one_hot;
        y (T + 2 copy_len, n) int64 with classes in 0..n_symbols (a model has n_symbols + 2 outputs or n_symbols + 1).

    Example:
        >>> x, y = copy_memory(2, 5, seed=0, n_symbols=3, copy_len=2)
        >>> x[:, 0].tolist(), y[:, 0].tolist()
        ([3, 2, 0, 0, 0, 0, 4, 0, 0], [0, 0, 0, 0, 0, 0, 0, 3, 2])
    """
    n = _check_int(n, "n", 1)
    T = _check_int(T, "T", 1)
    n_symbols = _check_int(n_symbols, "n_symbols", 1)
    copy_len = _check_int(copy_len, "copy_len", 1)
    g = _rng(seed, rng)
    length = T + 2 * copy_len
    symbols = g.integers(1, n_symbols + 1, size=(copy_len, n))    # (copy_len, n)
    x = np.zeros((length, n), dtype=np.int64)
    x[:copy_len] = symbols
    x[copy_len + T - 1] = n_symbols + 1                            # the delimiter
    y = np.zeros((length, n), dtype=np.int64)
    y[-copy_len:] = symbols
    if one_hot:
        x = np.eye(n_symbols + 2)[x]                               # (length, n, n_symbols + 2)
    return x, y


def copy_memory_baseline(T, n_symbols=8, copy_len=10) -> float:
    """Cross-entropy per step of the memoryless baseline on ``copy_memory``: blanks, then uniform guesses.

        baseline = copy_len * log(n_symbols) / (T + 2 * copy_len)         = 10 log(8) / (T + 20) by default

    Example:
        >>> round(copy_memory_baseline(100), 5)
        0.17329
    """
    T = _check_int(T, "T", 1)
    n_symbols = _check_int(n_symbols, "n_symbols", 1)
    copy_len = _check_int(copy_len, "copy_len", 1)
    return copy_len * float(np.log(n_symbols)) / (T + 2 * copy_len)


# -- time series --------------------------------------------------------------------------------------------------------
def sine_series(n_steps, freqs=(0.02,), amplitudes=None, phases=None, noise=0.0, seed=None, *, rng=None):
    """A sum of sines sampled at t = 0, 1, ..., n_steps - 1, plus optional Gaussian noise.

        x_t = sum_k a_k sin(2 pi f_k t + phi_k) + noise * e_t,        e_t ~ N(0, 1)

    Args:
        n_steps: length, >= 2.  freqs: frequencies in cycles per step, each in (0, 0.5] (Nyquist).
        amplitudes: one per frequency (default all 1).  phases: radians, one per frequency (default all 0).
        noise: standard deviation of the added noise, >= 0.  seed / rng: randomness of the noise (and of nothing else).

    Returns:
        x (n_steps,) float64.

    Example:
        >>> x = sine_series(200, freqs=(0.01, 0.05), amplitudes=(1.0, 0.3), noise=0.1, seed=0)
        >>> x.shape
        (200,)
    """
    n_steps = _check_int(n_steps, "n_steps", 2)
    freqs = np.atleast_1d(np.asarray(freqs, dtype=np.float64))
    if freqs.ndim != 1 or freqs.size == 0 or not np.all((freqs > 0) & (freqs <= 0.5)):
        raise ValueError(f"freqs must be one or more frequencies in (0, 0.5] cycles per step, got {freqs.tolist()}")
    K = freqs.size
    amplitudes = np.ones(K) if amplitudes is None else np.atleast_1d(np.asarray(amplitudes, dtype=np.float64))
    phases = np.zeros(K) if phases is None else np.atleast_1d(np.asarray(phases, dtype=np.float64))
    for name, arr in (("amplitudes", amplitudes), ("phases", phases)):
        if arr.shape != (K,):
            raise ValueError(f"{name} must have one entry per frequency ({K}), got shape {arr.shape}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a standard deviation >= 0, got {noise!r}")
    g = _rng(seed, rng)
    t = np.arange(n_steps, dtype=np.float64)
    x = (amplitudes[:, None] * np.sin(2 * np.pi * freqs[:, None] * t + phases[:, None])).sum(axis=0)
    if noise:
        x = x + noise * g.standard_normal(n_steps)
    return x


def make_windows(series, window, horizon=1, stride=1):
    """Cut a series into (input window, following values) pairs for forecasting.

    Window i starts at s = i * stride: inputs are series[s : s + window], targets series[s + window : s + window +
    horizon]. N = (L - window - horizon) // stride + 1 windows.

    Args:
        series: (L,) or (L, F) array.  window >= 1.  horizon >= 1.  stride >= 1.

    Returns:
        inputs (window, N, F), targets (horizon, N, F), time-major (F = 1 for a 1-D series), float64 unless the
        series is float32.

    Example:
        >>> X, Y = make_windows(np.arange(10.0), window=3, horizon=2)
        >>> X.shape, Y.shape, X[:, 0, 0].tolist(), Y[:, 0, 0].tolist()
        ((3, 6, 1), (2, 6, 1), [0.0, 1.0, 2.0], [3.0, 4.0])
    """
    s = np.asarray(series)
    if not (np.issubdtype(s.dtype, np.floating) or np.issubdtype(s.dtype, np.integer)) or s.dtype == np.bool_:
        raise TypeError(f"series must be a real numeric array, got dtype {s.dtype}")
    if s.dtype != np.float32:
        s = s.astype(np.float64)
    if s.ndim == 1:
        s = s[:, None]
    if s.ndim != 2:
        raise ValueError(f"series must have shape (L,) or (L, F), got {np.shape(series)}")
    require_finite(s, "series")
    window = _check_int(window, "window", 1)
    horizon = _check_int(horizon, "horizon", 1)
    stride = _check_int(stride, "stride", 1)
    L = s.shape[0]
    if L < window + horizon:
        raise ValueError(f"series must have at least window + horizon = {window + horizon} steps, got {L}")
    starts = np.arange(0, L - window - horizon + 1, stride)                   # (N,)
    inputs = s[starts[None, :] + np.arange(window)[:, None]]                  # (window, N, F)
    targets = s[starts[None, :] + window + np.arange(horizon)[:, None]]       # (horizon, N, F)
    return inputs, targets


_NINO_REGIONS = {"1+2": "nino12", "3": "nino3", "4": "nino4", "3.4": "nino34"}


def nino_sst(region="3.4", anomaly=False):
    """Monthly sea surface temperature of an equatorial Pacific "Niño" region, January 1950 - December 2010 (real data).

    NOAA Climate Prediction Center indices (ERSST.v3b), public domain; see ``minirnn/data/README.md`` for the
    source and the regions. It has a yearly cycle plus the irregular El Niño / La Niña swings, a good first real
    series to forecast with ``make_windows``.

    Args:
        region: "1+2", "3", "4" or "3.4".  anomaly: if True, the departure from the month's mean instead of degrees.

    Returns:
        time (732,) float64 in years (1950.0 = January 1950, + 1/12 a month), sst (732,) float64 in degrees Celsius.

    Example:
        >>> t, sst = nino_sst("3.4")
        >>> t.shape, float(t[0]), float(sst[0])
        ((732,), 1950.0, 24.83)
    """
    if region not in _NINO_REGIONS:
        raise ValueError(f"region must be one of {sorted(_NINO_REGIONS)}, got {region!r}")
    text = resources.files("minirnn").joinpath("data", "nino_sst_monthly.csv").read_text(encoding="utf-8")
    lines = text.strip().splitlines()
    header = lines[0].split(",")
    table = np.array([[float(v) for v in line.split(",")] for line in lines[1:]])
    column = _NINO_REGIONS[region] + ("_anom" if anomaly else "")
    values = table[:, header.index(column)]
    time = table[:, 0] + (table[:, 1] - 1) / 12.0
    return time, values


# -- text -------------------------------------------------------------------------------------------------------------
#: The standard-library files that make the default corpus, in this order (prose-heavy modules, docstrings and code).
STDLIB_CORPUS_FILES = ("bisect.py", "calendar.py", "difflib.py", "fractions.py", "heapq.py", "shlex.py",
                       "string.py", "textwrap.py")


def char_corpus(path=None, max_chars=None) -> str:
    """Text for a character-level language model, read offline.

    With ``path``, the UTF-8 text of that file. Without it, the Python standard library's own source files listed in
    ``STDLIB_CORPUS_FILES`` (about 200 KB of English docstrings and Python), read at run time from this interpreter's
    stdlib and joined in that order: the same on every run of the same Python version, different across versions.

    Args:
        path: a text file, or None for the default corpus.  max_chars: keep only the first max_chars characters.

    Returns:
        the text, a str.

    Example:
        >>> text = char_corpus(max_chars=1000)
        >>> len(text)
        1000
    """
    if max_chars is not None:
        max_chars = _check_int(max_chars, "max_chars", 1)
    if path is not None:
        if not os.path.isfile(path):
            raise FileNotFoundError(f"path must name an existing text file, got {str(path)!r}")
        with open(path, encoding="utf-8") as f:
            text = f.read()
    else:
        stdlib = sysconfig.get_paths()["stdlib"]
        parts = []
        for name in STDLIB_CORPUS_FILES:
            file = os.path.join(stdlib, name)
            if not os.path.isfile(file):
                raise FileNotFoundError(f"the default corpus needs the standard library source {file}, which this "
                                        f"Python does not have; pass path= to a text file instead")
            with open(file, encoding="utf-8") as f:
                parts.append(f.read())
        text = "\n".join(parts)
    if not text:
        raise ValueError(f"the corpus is empty (path={path!r})")
    return text if max_chars is None else text[:max_chars]


class Vocab:
    """A character vocabulary: the sorted distinct characters of a text, each with an integer id.

    Example:
        >>> v = Vocab.from_text("hello")
        >>> v, v.encode("hole").tolist(), v.decode([1, 0])
        (Vocab(4 chars), [1, 3, 2, 0], 'he')
    """

    def __init__(self, chars):
        chars = list(chars)
        if not chars or len(set(chars)) != len(chars) or not all(isinstance(c, str) and len(c) == 1 for c in chars):
            raise ValueError("chars must be a non-empty sequence of distinct single characters")
        self.chars = chars
        self.index = {c: i for i, c in enumerate(chars)}

    @classmethod
    def from_text(cls, text: str) -> "Vocab":
        """The vocabulary of every character in ``text``, sorted by code point."""
        if not isinstance(text, str) or not text:
            raise ValueError("text must be a non-empty str")
        return cls(sorted(set(text)))

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, text: str) -> np.ndarray:
        """str of length L -> ids (L,) int64. Unknown characters raise ValueError."""
        try:
            return np.array([self.index[c] for c in text], dtype=np.int64)
        except KeyError as e:
            raise ValueError(f"text contains the character {e.args[0]!r}, which is not in the vocabulary") from None

    def decode(self, ids) -> str:
        """ids, any integer sequence -> str."""
        ids = np.asarray(ids)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(f"ids must be integers in [0, {len(self)}), got {ids.dtype} with range "
                             f"[{ids.min()}, {ids.max()}]")
        return "".join(self.chars[i] for i in ids.ravel())

    def __repr__(self) -> str:
        return f"Vocab({len(self)} chars)"


def train_val_split(data, val_fraction=0.1):
    """Split a sequence (text or array) into a leading training part and a trailing validation part, unshuffled.

    For language modelling and forecasting the split must respect time: the validation part is the last
    ``round(len(data) * val_fraction)`` items (at least 1), the training part everything before.

    Example:
        >>> train_val_split("abcdefghij", 0.2)
        ('abcdefgh', 'ij')
    """
    if not (isinstance(val_fraction, (int, float)) and 0 < val_fraction < 1):
        raise ValueError(f"val_fraction must be in (0, 1), got {val_fraction!r}")
    n = len(data)
    n_val = max(1, int(round(n * val_fraction)))
    if n - n_val < 1:
        raise ValueError(f"data must have at least 2 items to split, got {n}")
    return data[: n - n_val], data[n - n_val:]


def batchify(ids, batch_size):
    """Lay a long id sequence out as ``batch_size`` parallel streams, time-major, dropping the remainder.

    Column b is ids[b * L : (b + 1) * L] with L = len(ids) // batch_size, so consecutive chunks of rows continue each
    other (what truncated BPTT needs): inputs ``data[t:t+k]``, targets ``data[t+1:t+k+1]``.

    Returns:
        data (L, batch_size), the dtype of ids.

    Example:
        >>> batchify(np.arange(10), 3).tolist()
        [[0, 3, 6], [1, 4, 7], [2, 5, 8]]
    """
    ids = np.asarray(ids)
    if ids.ndim != 1:
        raise ValueError(f"ids must be a 1-D array, got shape {ids.shape}")
    if ids.dtype == np.bool_ or not np.issubdtype(ids.dtype, np.integer):
        raise TypeError(f"ids must be integer symbol ids, got dtype {ids.dtype}")
    batch_size = _check_int(batch_size, "batch_size", 1)
    L = len(ids) // batch_size
    if L < 2:
        raise ValueError(f"ids must have at least 2 * batch_size = {2 * batch_size} items, got {len(ids)}")
    return ids[: L * batch_size].reshape(batch_size, L).T.copy()


# -- sequence classification --------------------------------------------------------------------------------------------
#: Frequency bands (cycles per step) of the three classes of ``sequence_classification``.
FREQUENCY_BANDS = ((0.03, 0.06), (0.09, 0.14), (0.18, 0.26))


def sequence_classification(n, seed=None, *, min_len=20, max_len=60, noise=0.5, rng=None):
    """Which of 3 frequency bands is a noisy sine of random length in? A small offline sequence classification set.

    For each sequence: class k uniform in {0, 1, 2} (balanced: each appears n/3 times, shuffled), length L uniform in
    [min_len, max_len], frequency f uniform in ``FREQUENCY_BANDS[k]``, amplitude a ~ U(0.5, 1.5), phase phi ~ U(0, 2pi):

        x_t = a sin(2 pi f t + phi) + noise * e_t,   e_t ~ N(0, 1),   t = 0 .. L - 1;   x_t = 0 for t >= L (padding)

    With noise 0.5 no single step tells the class: the network has to integrate over time, and short sequences are
    harder (few cycles of the slowest band fit in 20 steps).

    Args:
        n: number of sequences, >= 1.  min_len, max_len: lengths, 2 <= min_len <= max_len.  noise >= 0.

    Returns:
        x (max_len, n, 1) float64 zero-padded, lengths (n,) int64, y (n,) int64 in {0, 1, 2}.

    Example:
        >>> x, lengths, y = sequence_classification(6, seed=0)
        >>> x.shape, sorted(y.tolist())
        ((60, 6, 1), [0, 0, 1, 1, 2, 2])
    """
    n = _check_int(n, "n", 1)
    min_len = _check_int(min_len, "min_len", 2)
    max_len = _check_int(max_len, "max_len", 2)
    if max_len < min_len:
        raise ValueError(f"max_len must be >= min_len = {min_len}, got {max_len}")
    if not (np.isfinite(noise) and noise >= 0):
        raise ValueError(f"noise must be a standard deviation >= 0, got {noise!r}")
    g = _rng(seed, rng)
    y = g.permutation(np.arange(n) % len(FREQUENCY_BANDS)).astype(np.int64)
    lengths = g.integers(min_len, max_len + 1, size=n).astype(np.int64)
    bands = np.array(FREQUENCY_BANDS)
    f = g.uniform(bands[y, 0], bands[y, 1])
    a = g.uniform(0.5, 1.5, size=n)
    phi = g.uniform(0, 2 * np.pi, size=n)
    t = np.arange(max_len, dtype=np.float64)[:, None]                        # (max_len, 1)
    x = a * np.sin(2 * np.pi * f * t + phi) + noise * g.standard_normal((max_len, n))
    x[t[:, 0][:, None] >= lengths[None, :]] = 0.0                            # padding
    return x[:, :, None], lengths, y
