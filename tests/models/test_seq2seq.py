"""Seq2Seq: whole-model gradient checks (teacher forcing, scheduled sampling, free running; every cell and
attention), free running against greedy decoding, beam search against exhaustive search, beam 1 == greedy."""
import itertools

import numpy as np
import pytest

import gradcheck
from minirnn.data import EOS, PairVocab, encode_pairs
from minirnn.models import Seq2Seq, beam_search
from minirnn.nn.losses import softmax_cross_entropy


def tiny(cell="gru", attention="additive", **kwargs):
    return Seq2Seq(5, 6, 3, cell=cell, attention=attention, embed_dim=4, seed=0, backend="numpy", **kwargs)


def batch(seed=0):
    rng = np.random.default_rng(seed)
    src = rng.integers(3, 5, size=(4, 3))
    lengths = np.array([4, 2, 1])
    tgt_in, tgt_out = rng.integers(0, 6, size=(3, 3)), rng.integers(0, 6, size=(3, 3))
    mask = np.ones((3, 3), bool)
    mask[2, 1] = False
    return src, lengths, tgt_in, tgt_out, mask


CONFIGS = [(c, a, 0.0) for c in ("rnn", "gru", "lstm") for a in ("additive", "dot", "general", None)] + \
    [("gru", "additive", 0.5), ("gru", "additive", 1.0), ("lstm", "dot", 0.5), ("rnn", None, 1.0)]


@pytest.mark.parametrize("cell, attention, sampling", CONFIGS)
def test_whole_model_backward_matches_finite_differences(cell, attention, sampling):
    model = tiny(cell, attention, bidirectional=(cell != "rnn"))
    src, lengths, tgt_in, tgt_out, mask = batch()

    def loss(_):
        logits = model(src, lengths, tgt_in, sampling_prob=sampling, rng=np.random.default_rng(1))
        return softmax_cross_entropy(logits, tgt_out, mask)[0]

    logits = model(src, lengths, tgt_in, sampling_prob=sampling, rng=np.random.default_rng(1))
    _, d = softmax_cross_entropy(logits, tgt_out, mask)
    model.backward(d)
    grads = {k: v.copy() for k, v in model.grads.items()}
    report = gradcheck.check_gradients(loss, model.params, grads)
    assert report.passed, str(report)
    assert len(report.rows) == len(model.params) >= 10


def test_padded_source_positions_change_nothing():
    model = tiny()
    src, lengths, tgt_in, _, _ = batch()
    logits = model(src, lengths, tgt_in)
    src2 = src.copy()
    src2[2:, 1], src2[1:, 2] = 0, 1                             # rewrite the padding of sequences 1 and 2
    np.testing.assert_array_equal(model(src2, lengths, tgt_in), logits)
    alone = model(src[:1, 2:3], lengths[2:3], tgt_in[:, 2:3])   # sequence 2 on its own, unpadded
    np.testing.assert_allclose(alone[:, 0], logits[:, 2], rtol=0, atol=1e-14)


@pytest.mark.parametrize("attention", ["additive", None])
def test_free_running_feeds_back_the_greedy_prediction(attention):
    model = tiny("lstm", attention)
    src, lengths, _, _, _ = batch()
    tokens, _ = model.greedy(src, lengths, max_len=5)
    free = model(src, lengths, np.ones((5, 3), np.int64), sampling_prob=1.0, rng=np.random.default_rng(0))
    for b, t in enumerate(tokens):
        if len(t) < 5:                                          # ended with </s>
            assert free[len(t), b].argmax() == EOS
        assert free[:len(t), b].argmax(-1).tolist() == t
    forced = np.array([[1] + (t + [EOS] * 5)[:4] for t in tokens]).T   # teacher forcing on its own outputs
    teacher = model(src, lengths, forced)
    for b, t in enumerate(tokens):
        n = min(len(t) + 1, 5)
        np.testing.assert_allclose(teacher[:n, b], free[:n, b], rtol=0, atol=1e-13)


def test_teacher_forcing_ignores_the_rng_and_sampling_zero_is_teacher_forcing():
    model = tiny()
    src, lengths, tgt_in, _, _ = batch()
    a = model(src, lengths, tgt_in)
    b = model(src, lengths, tgt_in, sampling_prob=0.0, rng=np.random.default_rng(5))
    np.testing.assert_array_equal(a, b)


def _sequence_logprob(model, src, seq):
    """log p(seq | src) by teacher forcing: the reference the search is compared with."""
    logits = model(src[:, None], np.array([src.size]), np.array([1] + seq[:-1])[:, None])[:, 0]
    z = logits - logits.max(-1, keepdims=True)
    logp = z - np.log(np.exp(z).sum(-1, keepdims=True))
    return float(sum(logp[t, y] for t, y in enumerate(seq)))


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
@pytest.mark.parametrize("attention", ["dot", None])
def test_a_wide_beam_finds_the_exhaustive_optimum(length_penalty, attention):
    model = Seq2Seq(5, 5, 3, attention=attention, embed_dim=3, seed=3, backend="numpy")   # 5 target symbols
    src, V, L = np.array([3, 4, 4]), 5, 3
    best, best_score = None, -np.inf
    for n in range(1, L + 1):
        for body in itertools.product([t for t in range(V) if t != EOS], repeat=n - 1):
            for last in range(V):
                if n < L and last != EOS:
                    continue                                    # shorter ones end with </s>; length L may not
                seq = list(body) + [last]
                score = _sequence_logprob(model, src, seq) / len(seq) ** length_penalty
                if score > best_score:
                    best, best_score = seq, score
    tokens, score, _ = beam_search(model, src, beam=V ** L, max_len=L, length_penalty=length_penalty)
    assert tokens == [t for t in best if t != EOS][:len(tokens)] and len(tokens) == len(best) - (best[-1] == EOS)
    assert score == pytest.approx(best_score, abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_beam_of_width_one_is_greedy_decoding(seed):
    model = Seq2Seq(7, 6, 5, cell="gru", attention="additive", seed=seed, backend="numpy")
    src = np.random.default_rng(seed).integers(3, 7, size=6)
    greedy, weights = model.greedy(src[:, None], np.array([6]), max_len=8)
    tokens, _, beam_weights = beam_search(model, src, beam=1, max_len=8)
    assert tokens == greedy[0]
    np.testing.assert_allclose(beam_weights, weights[0, :len(beam_weights)], rtol=0, atol=1e-14)


def test_a_wider_beam_never_scores_lower_than_greedy_here():
    model = Seq2Seq(7, 6, 5, seed=0, backend="numpy")
    src = np.array([3, 4, 5, 6, 3])
    scores = [beam_search(model, src, beam=k, max_len=6, length_penalty=0.0)[1] for k in (1, 3, 10)]
    assert scores[0] <= scores[1] <= scores[2]


def test_translate_decodes_a_string_and_refuses_unknown_characters():
    model = Seq2Seq("abc", "abc", 4, seed=0)
    text, weights = model.translate("abca", beam=2)
    assert set(text) <= set("abc") and weights.shape[1] == 4
    with pytest.raises(ValueError, match="'z', which is not in the vocabulary"):
        model.translate("abz")


@pytest.mark.parametrize("call, message", [
    (lambda m: m(np.zeros((3, 2)), [3, 3], np.ones((2, 2), int)), "src must be an integer array"),
    (lambda m: m(np.full((3, 2), 9), [3, 3], np.ones((2, 2), int)), r"src must hold ids in \[0, 5\)"),
    (lambda m: m(np.full((3, 2), 3), [3, 0], np.ones((2, 2), int)), "src_lengths must be B = 2 integers"),
    (lambda m: m(np.full((3, 2), 3), [3, 3], np.ones((2, 3), int)), "tgt_in must have B = 2 columns"),
    (lambda m: m(np.full((3, 2), 3), [3, 3], np.ones((2, 2), int), sampling_prob=0.5), "needs rng="),
    (lambda m: m.backward(np.zeros((2, 2, 6))), "before a forward pass"),
    (lambda m: Seq2Seq(5, 6, 3, cell="cnn"), "cell must be one of"),
    (lambda m: Seq2Seq(5, 6, 3, attention="luong"), "attention must be one of"),
])
def test_bad_input_is_refused_with_a_sentence(call, message):
    with pytest.raises((ValueError, TypeError, RuntimeError), match=message):
        call(tiny())


def test_a_few_hundred_steps_learn_to_reverse_short_strings():
    from minirnn.nn.optim import Adam
    from minirnn.training.recipes_translate import exact_match, translate
    from minirnn.training import loop
    exp = translate(attention="additive", data="reverse", T=4, hidden=16, seed=0, n_test=200, backend="numpy")
    loop.fit(exp.model, Adam(exp.model, lr=1e-2), exp.train_step, 150, rng=exp.rng, progress=False, clip_norm=1.0)
    assert exp.evaluate(exp.model)["exact_match"] > 0.8
    v = PairVocab("0123456789")
    assert exact_match(exp.model, [("1234", "4321")]) in (0.0, 1.0)
    assert encode_pairs([("1", "1")], v, v)["src"].shape == (1, 1)


@pytest.mark.parametrize("attention", ["additive", "dot", "general", None])
def test_float32_runs_end_to_end_in_float32(attention):
    model = Seq2Seq("abc", "abc", 4, attention=attention, dtype=np.float32, seed=0)
    logits = model(np.array([[3, 4], [5, 0]]), np.array([2, 1]), np.array([[1, 1], [4, 5]]))
    model.backward(np.ones_like(logits))
    assert logits.dtype == np.float32 and {g.dtype for g in model.grads.values()} == {np.dtype(np.float32)}
    reference = Seq2Seq("abc", "abc", 4, attention=attention, seed=0)
    reference.load_state_dict(model.state_dict())
    logits64 = reference(np.array([[3, 4], [5, 0]]), np.array([2, 1]), np.array([[1, 1], [4, 5]]))
    np.testing.assert_allclose(logits, logits64, rtol=0, atol=1e-5)
