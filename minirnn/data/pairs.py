"""Sequence pairs for sequence-to-sequence models: a symbol vocabulary with padding, start and end tokens,
and the padded, time-major batches a :class:`~minirnn.models.Seq2Seq` trains on.

    src_vocab, tgt_vocab = PairVocab("0123456789"), PairVocab("0123456789")
    batch = encode_pairs([("123", "321"), ("45", "54")], src_vocab, tgt_vocab)
    batch["src"] (S, B), batch["src_lengths"] (B,), batch["tgt_in"] (T, B) = <s> y, batch["tgt_out"] (T, B) =
    y </s>, batch["tgt_mask"] (T, B): False at padding.
"""

from __future__ import annotations

import numpy as np

__all__ = ["PairVocab", "encode_pairs", "PAD", "BOS", "EOS"]

PAD, BOS, EOS = 0, 1, 2
SPECIALS = ("<pad>", "<s>", "</s>")


class PairVocab:
    """Ids for the distinct characters of ``symbols``, after the three special tokens ``<pad>=0, <s>=1,
    </s>=2``.

    Example:
        >>> v = PairVocab("ab-")
        >>> len(v), v.encode("ba").tolist(), v.decode([5, 3, 2, 4])
        (6, [4, 3], '-a')
    """

    def __init__(self, symbols: str):
        if not isinstance(symbols, str) or not symbols:
            raise ValueError(f"symbols must be a non-empty str of distinct characters, got {symbols!r}")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"symbols must be distinct characters, got {symbols!r}")
        self.symbols = symbols
        self._ids = {c: i + len(SPECIALS) for i, c in enumerate(symbols)}

    def __len__(self):
        return len(self.symbols) + len(SPECIALS)

    def encode(self, text: str) -> np.ndarray:
        """The ids of ``text``'s characters (int64); a character outside the vocabulary is a ValueError."""
        try:
            return np.array([self._ids[c] for c in text], dtype=np.int64)
        except KeyError as e:
            raise ValueError(
                f"text holds the character {e.args[0]!r}, which is not in the vocabulary {self.symbols!r}"
            ) from None

    def decode(self, ids) -> str:
        """The text of ``ids`` up to the first ``</s>``; ``<pad>`` and ``<s>`` are skipped."""
        out = []
        for i in ids:
            i = int(i)
            if i == EOS:
                break
            if i >= len(SPECIALS):
                out.append(self.symbols[i - len(SPECIALS)])
        return "".join(out)

    def token(self, i: int) -> str:
        """The printable name of id ``i``: its character or ``<pad>``, ``<s>``, ``</s>``."""
        return SPECIALS[i] if i < len(SPECIALS) else self.symbols[i - len(SPECIALS)]

    def __repr__(self):
        return f"PairVocab({self.symbols!r})"


def encode_pairs(pairs, src_vocab: PairVocab, tgt_vocab: PairVocab) -> dict:
    """Pad a list of (source, target) strings into time-major id arrays.

    Returns a dict: ``src`` (S, B) int64 padded with ``<pad>``, ``src_lengths`` (B,), ``tgt_in`` (T, B) =
    ``<s>`` then the target (the decoder's inputs under teacher forcing), ``tgt_out`` (T, B) = the target then
    ``</s>`` (what it must predict), ``tgt_mask`` (T, B) bool, True where ``tgt_out`` counts; T = longest
    target + 1.

    Example:
        >>> v = PairVocab("abc")
        >>> b = encode_pairs([("ab", "ba"), ("c", "")], v, v)
        >>> b["src"].T.tolist(), b["tgt_in"].T.tolist(), b["tgt_out"].T.tolist()
        ([[3, 4], [5, 0]], [[1, 4, 3], [1, 0, 0]], [[4, 3, 2], [2, 0, 0]])
    """
    if not pairs:
        raise ValueError("pairs must hold at least one (source, target) pair, got none")
    src = [src_vocab.encode(s) for s, _ in pairs]
    tgt = [tgt_vocab.encode(t) for _, t in pairs]
    if min(len(s) for s in src) == 0:
        raise ValueError("every source must hold at least one character, got an empty one")
    B, S, T = len(pairs), max(len(s) for s in src), max(len(t) for t in tgt) + 1
    out = {
        "src": np.full((S, B), PAD, np.int64),
        "src_lengths": np.array([len(s) for s in src], np.int64),
        "tgt_in": np.full((T, B), PAD, np.int64),
        "tgt_out": np.full((T, B), PAD, np.int64),
        "tgt_mask": np.zeros((T, B), bool),
    }
    for b, (s, t) in enumerate(zip(src, tgt)):
        out["src"][: len(s), b] = s
        out["tgt_in"][: len(t) + 1, b] = np.r_[BOS, t]
        out["tgt_out"][: len(t) + 1, b] = np.r_[t, EOS]
        out["tgt_mask"][: len(t) + 1, b] = True
    return out
