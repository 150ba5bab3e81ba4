"""Per-character features of Python source, for finding the units of a character model that track them.

    in_string, indentation = code_features(text)          # both (len(text),) float64

**in_string** is 1 for every character of a string literal, its opening and closing quotes included, and 0
elsewhere. The scanner reads the text once from the start and knows three states: code, a comment, a string.

- In code, ``#`` opens a comment (up to the end of the line: a quote in a comment opens nothing), and a quote
  opens a string: three equal quotes (``'''`` or ``\"\"\"``) a *triple-quoted* one, which spans lines (every
  docstring is one), a single ``'`` or ``"`` a *short* one.
- In a string, a backslash escapes the next character (so ``\\'`` does not close it, and a backslash before
  the end of a line continues a short string on the next line); the opening delimiter closes it; an
  unescaped newline ends a short string (Python would reject it, the scanner just starts again in code).
- Prefixes (``r``, ``b``, ``f``) belong to the code; the braces of an f-string count as string.

**indentation** is the number of leading spaces of the current line read so far: it grows over the leading
spaces, stays fixed after the first other character, and is 0 at the newline. It is causal (a model at
character t can know it), and it counts inside strings too (a docstring's lines are indented like code).

The scanner must start in code: run it on a whole file (or corpus) and slice the features afterwards, rather
than on a slice that may begin inside a string.
"""

from __future__ import annotations

import numpy as np

__all__ = ["code_features"]

_QUOTES = ("'", '"')


def _string_mask(text):
    """in_string (len(text),) float64 by the rules of the module docstring. A loop a student can step
    through, one character at a time (about a second per MB)."""
    mask = np.zeros(len(text))
    delim, comment, escaped = None, False, False  # delim: the open string's quote(s), None in code
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if delim is not None:  # inside a string
            mask[i] = 1.0
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == "\n" and len(delim) == 1:
                delim, mask[i] = None, 0.0  # an unterminated short string ends with its line
            elif text.startswith(delim, i):
                mask[i : i + len(delim)] = 1.0  # the closing quote(s) belong to the string
                i += len(delim)
                delim = None
                continue
        elif comment:
            comment = ch != "\n"
        elif ch == "#":
            comment = True
        elif ch in _QUOTES:
            delim = ch * 3 if text.startswith(ch * 3, i) else ch
            mask[i : i + len(delim)] = 1.0
            i += len(delim)
            continue
        i += 1
    return mask


def _indentation(text):
    """Leading spaces of the current line read so far, (len(text),) float64."""
    out = np.zeros(len(text))
    lead, counting = 0, True
    for i, ch in enumerate(text):
        if ch == "\n":
            lead, counting = 0, True
        elif counting and ch == " ":
            lead += 1
        else:
            counting = False
        out[i] = lead
    return out


def code_features(text):
    """The per-character features ``in_string`` and ``indentation`` of Python source (module docstring).

    Args:
        text: a str, read from the start in code (not from inside a string).

    Returns:
        in_string (N,) float64 of 0/1, indentation (N,) float64 of leading-space counts; N = len(text).

    Example:
        >>> s, ind = code_features('x = "a#b"  # it\\'s\\n  y = 1')
        >>> "".join("s" if v else "." for v in s)
        '....sssss..................'
        >>> ind[-5:].tolist()
        [2.0, 2.0, 2.0, 2.0, 2.0]
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    return _string_mask(text), _indentation(text)
