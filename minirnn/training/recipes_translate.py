"""The ``translate`` task of ``minirnn train``: a :class:`~minirnn.models.Seq2Seq` learns human-written dates
-> ISO dates, or to reverse / sort digit strings (the output grows with the input: where attention matters).

    exp = translate(attention="additive", data="dates", seed=0)
    history = fit(exp.model, Adam(exp.model, lr=3e-3), exp.train_step, 2000, rng=exp.rng,
                  evaluate=exp.evaluate)
    exp.evaluate(exp.model)        # {'exact_match': 0.99...}: greedy decoding, whole output right

=========  ===============================================  ============================================
data       pairs                                            held out
=========  ===============================================  ============================================
dates      ``data.date_pairs`` (9 formats, ``languages``)   the tenth of all days never trained on
reverse    ``data.digit_pairs``, 1..T digits, reversed      fresh strings (short ones repeat by chance)
sort       the same, digits sorted                          the same
=========  ===============================================  ============================================

Training: fresh pairs every step (``exp.rng``), teacher forcing, softmax cross-entropy on the target symbols
and the final ``</s>``; with ``sampling > 0``, scheduled sampling whose probability of feeding the model's own
prediction rises linearly from 0 to ``sampling`` over the first 300 steps. ``exact_match``: the fraction of
held-out sources whose greedy decoding is exactly the target. Baseline: always answer the test set's most
frequent target.
"""

from __future__ import annotations

from collections import Counter

import numpy as np

from ..data.dates import ISO_SYMBOLS, date_pairs, date_symbols
from ..data.digit_tasks import DIGITS, digit_pairs
from ..data.pairs import encode_pairs
from ..models.seq2seq import Seq2Seq
from ..nn.losses import softmax_cross_entropy
from .recipes import Experiment, _model, _seeds

__all__ = ["translate", "DATA", "exact_match", "exact_match_by_length"]

#: The pair generators of the translate task: name -> (source symbols, target symbols).
DATA = ("dates", "reverse", "sort")
DEFAULT_T = {"dates": None, "reverse": 16, "sort": 16}


def _generator(data, T, languages):
    """``pairs(n, rng=..., part=...)`` and the (source, target) symbols of one data kind."""
    if data == "dates":
        return (
            lambda n, rng, part: date_pairs(n, rng=rng, languages=languages, part=part),
            date_symbols(languages),
            ISO_SYMBOLS,
        )
    return (lambda n, rng, part: digit_pairs(n, data, 1, T, rng=rng)), DIGITS, DIGITS


def decode_batch(model, sources, max_len, chunk=500):
    """Greedy outputs (strs) for a list of source strs, ``chunk`` at a time."""
    out = []
    for i in range(0, len(sources), chunk):
        b = encode_pairs([(s, "") for s in sources[i : i + chunk]], model.src_vocab, model.tgt_vocab)
        tokens, _ = model.greedy(b["src"], b["src_lengths"], max_len)
        out.extend(model.tgt_vocab.decode(t) for t in tokens)
    return out


def exact_match(model, pairs, max_len=None) -> float:
    """The fraction of ``pairs`` (source, target) whose greedy decoding equals the target.

    Example:
        >>> model = Seq2Seq("01", "01", 4, seed=0)
        >>> 0 <= exact_match(model, [("01", "10"), ("1", "1")]) <= 1
        True
    """
    max_len = max_len or max(len(t) for _, t in pairs) + 5
    outputs = decode_batch(model, [s for s, _ in pairs], max_len)
    return float(np.mean([o == t for o, (_, t) in zip(outputs, pairs)]))


def exact_match_by_length(model, pairs) -> dict:
    """``{source length: exact match}`` over ``pairs``, one entry per length that occurs."""
    by_length = {}
    outputs = decode_batch(model, [s for s, _ in pairs], max(len(t) for _, t in pairs) + 5)
    for o, (s, t) in zip(outputs, pairs):
        by_length.setdefault(len(s), []).append(o == t)
    return {L: float(np.mean(v)) for L, v in sorted(by_length.items())}


def _check_arguments(data, T, sampling):
    """A ValueError naming the argument if ``data``, ``T`` or ``sampling`` is not one the task can use."""
    if data not in DATA:
        raise ValueError(f"data must be one of {DATA}, got {data!r}")
    if not (0 <= sampling <= 1):
        raise ValueError(f"sampling must lie in [0, 1], got {sampling!r}")
    if data == "dates" and T is not None:
        raise ValueError(
            f"T is the longest digit string of data='reverse' or 'sort'; dates set their own lengths, "
            f"got T={T!r}"
        )


def _examples(model, pairs, max_len) -> str:
    """One line per (source, target) pair: the source, the model's greedy output and, if wrong, the target."""
    outputs = decode_batch(model, [s for s, _ in pairs], max_len)
    return "\n".join(
        f"  {s!r} -> {o!r}" + ("" if o == t else f" (should be {t!r})") for o, (s, t) in zip(outputs, pairs)
    )


def translate(
    cell="gru",
    attention="additive",
    data="dates",
    T=None,
    hidden=32,
    batch=64,
    seed=0,
    n_test=1000,
    embed_dim=16,
    languages=("en",),
    sampling=0.0,
    backend="auto",
) -> Experiment:
    """The translate experiment (see the module docstring); ``T`` is the longest digit string (reverse, sort);
    ``attention`` is a kind of ``minirnn.nn.attention.ATTENTIONS``, or None / "none".

    Example:
        >>> exp = translate(attention="dot", data="reverse", T=6, hidden=8, n_test=20)
        >>> exp.metric, exp.model
        ('exact_match', Seq2Seq(src_vocab=13, tgt_vocab=13, hidden_size=8, cell='gru', attention='dot',
        embed_dim=16))
    """
    _check_arguments(data, T, sampling)
    attention = None if attention == "none" else attention
    T = T or DEFAULT_T[data]
    languages = (languages,) if isinstance(languages, str) else tuple(languages)
    pairs, src_symbols, tgt_symbols = _generator(data, T, languages)
    s_model, s_rng, s_test = _seeds(seed)
    model, config = _model(
        {
            "class": "Seq2Seq",
            "src_vocab": src_symbols,
            "tgt_vocab": tgt_symbols,
            "hidden_size": hidden,
            "cell": cell,
            "attention": attention,
            "embed_dim": embed_dim,
        },
        s_model,
        backend,
    )
    test = pairs(n_test, np.random.default_rng(s_test), "test")

    def train_step(model, rng, step, carry):
        b = encode_pairs(pairs(batch, rng, "train"), model.src_vocab, model.tgt_vocab)
        p = sampling * min(1.0, step / 300)
        logits = model(b["src"], b["src_lengths"], b["tgt_in"], sampling_prob=p, rng=rng)
        loss, d = softmax_cross_entropy(logits, b["tgt_out"], b["tgt_mask"])
        model.backward(d)
        right = (logits.argmax(-1) == b["tgt_out"])[b["tgt_mask"]]
        return loss, float(right.mean()), None

    def evaluate(model):
        return {"exact_match": exact_match(model, test)}

    answer, count = Counter(t for _, t in test).most_common(1)[0]
    info = {
        "T": T if T is not None else max(len(s) for s, _ in test),
        "batch": batch,
        "data": data,
        "attention": attention,
        "examples": lambda model, n=5: _examples(model, test[:n], max(len(t) for _, t in test) + 5),
    }
    return Experiment(
        "translate",
        model,
        config,
        train_step,
        evaluate,
        "exact_match",
        (f"always {answer!r}", count / len(test)),
        np.random.default_rng(s_rng),
        lower_is_better=False,
        info=info,
    )
