"""Offline text for character language models: the standard-library corpus, a vocabulary, splits and
batches."""

from __future__ import annotations

import os
import sysconfig

import numpy as np

from ._checks import check_int

__all__ = ["char_corpus", "Vocab", "train_val_split", "batchify", "STDLIB_CORPUS_FILES"]

#: The standard-library files that make the default corpus, in this order (prose-heavy modules, docstrings
#: and code).
STDLIB_CORPUS_FILES = (
    "bisect.py",
    "calendar.py",
    "difflib.py",
    "fractions.py",
    "heapq.py",
    "shlex.py",
    "string.py",
    "textwrap.py",
)


def char_corpus(path=None, max_chars=None) -> str:
    """Text for a character-level language model, read offline.

    With ``path``, the UTF-8 text of that file. Without it, the Python standard library's own source files
    listed in ``STDLIB_CORPUS_FILES`` (about 200 KB of English docstrings and Python), read at run time from
    this interpreter's
    stdlib and joined in that order: the same on every run of the same Python version, different across
        versions.

    Args:
        path: a text file, or None for the default corpus.  max_chars: keep only the first max_chars
            characters.

    Returns:
        the text, a str.

    Example:
        >>> text = char_corpus(max_chars=1000)
        >>> len(text)
        1000
    """
    if max_chars is not None:
        max_chars = check_int(max_chars, "max_chars", 1)
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
                raise FileNotFoundError(
                    f"the default corpus needs the standard library source {file}, which this "
                    f"Python does not have; pass path= to a text file instead"
                )
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
        if (
            not chars
            or len(set(chars)) != len(chars)
            or not all(isinstance(c, str) and len(c) == 1 for c in chars)
        ):
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
            raise ValueError(
                f"text contains the character {e.args[0]!r}, which is not in the vocabulary"
            ) from None

    def decode(self, ids) -> str:
        """ids, any integer sequence -> str."""
        ids = np.asarray(ids)
        if ids.size and (not np.issubdtype(ids.dtype, np.integer) or ids.min() < 0 or ids.max() >= len(self)):
            raise ValueError(
                f"ids must be integers in [0, {len(self)}), got {ids.dtype} with range "
                f"[{ids.min()}, {ids.max()}]"
            )
        return "".join(self.chars[i] for i in ids.ravel())

    def __repr__(self) -> str:
        return f"Vocab({len(self)} chars)"


def train_val_split(data, val_fraction=0.1):
    """Split a sequence (text or array) into a leading training part and a trailing validation part,
    unshuffled.

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
    return data[: n - n_val], data[n - n_val :]


def batchify(ids, batch_size):
    """Lay a long id sequence out as ``batch_size`` parallel streams, time-major, dropping the remainder.

    Column b is ids[b * L : (b + 1) * L] with L = len(ids) // batch_size, so consecutive chunks of rows
    continue each
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
    batch_size = check_int(batch_size, "batch_size", 1)
    L = len(ids) // batch_size
    if L < 2:
        raise ValueError(f"ids must have at least 2 * batch_size = {2 * batch_size} items, got {len(ids)}")
    return ids[: L * batch_size].reshape(batch_size, L).T.copy()
