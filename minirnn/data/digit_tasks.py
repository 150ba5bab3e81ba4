"""Digit-string tasks whose output grows with the input: reverse or sort a string of 1..max_len digits.

A sequence-to-sequence model without attention must squeeze the whole input into one state vector before it
writes the first output symbol; reversing makes it hold every digit in order, so its accuracy falls as the
strings grow, while attention can look each digit up where it is (Bahdanau et al. 2015's observation, in
miniature).
"""

from __future__ import annotations

from ._checks import check_int, make_rng

__all__ = ["digit_pairs", "DIGIT_TASKS", "DIGITS"]

DIGITS = "0123456789"
DIGIT_TASKS = {"reverse": lambda s: s[::-1], "sort": lambda s: "".join(sorted(s))}


def digit_pairs(n, task="reverse", min_len=1, max_len=20, *, seed=None, rng=None) -> list:
    """``n`` pairs (digits, answer): a string of uniform length in min_len..max_len with uniform digits, and
    its reversal (``task="reverse"``) or its sorted digits (``"sort"``).

    Example:
        >>> digit_pairs(2, "reverse", 3, 5, seed=0)
        [('52300', '00325'), ('0186', '6810')]
    """
    n, min_len = check_int(n, "n", 1), check_int(min_len, "min_len", 1)
    max_len = check_int(max_len, "max_len", min_len)
    if task not in DIGIT_TASKS:
        raise ValueError(f"task must be one of {tuple(DIGIT_TASKS)}, got {task!r}")
    rng = make_rng(seed, rng)
    lengths = rng.integers(min_len, max_len + 1, size=n)
    out = []
    for L in lengths:
        s = "".join(DIGITS[d] for d in rng.integers(0, 10, size=int(L)))
        out.append((s, DIGIT_TASKS[task](s)))
    return out
