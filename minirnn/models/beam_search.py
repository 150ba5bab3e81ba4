"""Beam search for :class:`~minirnn.models.Seq2Seq`: keep the ``beam`` most probable prefixes at every step.

    score(y)       = sum_t log p(y_t | y_<t, x)                 (the prefix's log-probability)
    normalised(y)  = score(y) / len(y) ** length_penalty       (len counts the final </s>; 0: no
    normalisation)

At each step every live prefix is extended by every symbol; of those beam x V candidates the ``beam`` with the
highest score survive (ties: the lower index). A candidate ending in ``</s>`` is finished and leaves the beam;
the search stops when ``beam`` prefixes have finished, none is alive, or after ``max_len`` steps (the live
ones then count as finished). The answer is the finished prefix with the highest normalised score. Without
normalisation a sum of log-probabilities prefers short outputs; dividing by the length (Wu et al. 2016 use
((5+len)/6)^alpha) removes most of that bias. With ``beam=1`` this is greedy decoding; with a beam wide enough
to keep every candidate it is exhaustive search (both tested).
"""

from __future__ import annotations

import numpy as np

from ..data.pairs import BOS, EOS
from ..nn.validation import check_size

__all__ = ["beam_search"]


def _log_softmax(z):
    z = z - z.max(axis=-1, keepdims=True)
    return z - np.log(np.exp(z).sum(axis=-1, keepdims=True))


def beam_search(model, src, beam=5, max_len=20, length_penalty=1.0):
    """Decode one source sequence ``src`` (S,) of ids with a beam of width ``beam``.

    Returns ``tokens`` (list of ids without ``</s>``), the normalised ``score``, and the attention ``weights``
    (steps, S) of the chosen output (zeros without attention).

    Example:
        >>> from minirnn.models import Seq2Seq
        >>> model = Seq2Seq("ab", "ab", 4, seed=0)
        >>> tokens, score, weights = beam_search(model, np.array([3, 4, 3]), beam=3, max_len=5)
        >>> weights.shape[1], score < 0
        (3, True)
    """
    beam, max_len = check_size(beam, "beam"), check_size(max_len, "max_len")
    if not (isinstance(length_penalty, (int, float)) and length_penalty >= 0):
        raise ValueError(f"length_penalty must be a number >= 0, got {length_penalty!r}")
    src = np.asarray(src)
    if src.ndim != 1:
        raise ValueError(f"src must be one sequence of ids, shape (S,), got {src.shape}")
    keys, state, mask = model._encode(src[:, None], np.array([src.size]))  # B = 1
    S = keys.shape[1]
    alive = [([], 0.0, [])]  # (tokens, score, attention rows) per live prefix
    finished = []
    for _ in range(max_len):
        n = len(alive)
        y = np.array([a[0][-1] if a[0] else BOS for a in alive])
        logits, new_state, w, _ = model._step(y, state, keys.repeat(n), np.repeat(mask, n, 0))
        w = np.zeros((n, S)) if w is None else w
        cand = np.array([a[1] for a in alive])[:, None] + _log_softmax(logits.astype(np.float64))  # (n, V)
        order = np.argsort(-cand, axis=None, kind="stable")[:beam]
        keep, rows = [], []
        for flat in order:
            parent, token = divmod(int(flat), cand.shape[1])
            tokens, _, attn = alive[parent]
            hyp = (tokens + [token], float(cand[parent, token]), attn + [w[parent]])
            if token == EOS:
                finished.append(hyp)
            else:
                keep.append(hyp)
                rows.append(parent)
        if len(finished) >= beam or not keep:
            break
        alive, state = keep, tuple(s[rows] for s in new_state)
    else:
        finished.extend(alive)
    best = max(finished, key=lambda h: h[1] / len(h[0]) ** length_penalty)
    tokens = best[0][:-1] if best[0][-1] == EOS else best[0]
    return tokens, best[1] / len(best[0]) ** length_penalty, np.array(best[2])
