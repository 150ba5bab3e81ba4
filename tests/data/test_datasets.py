"""The task generators: shapes, the statistics their baselines promise, determinism by seed, bad arguments."""
import numpy as np
import pytest

from minirnn import data as tasks
from minirnn.nn.losses import mse, softmax_cross_entropy
from minirnn.data import (ADDING_BASELINE_MSE, FREQUENCY_BANDS, Vocab, adding_problem, batchify, char_corpus,
                           copy_memory, copy_memory_baseline, make_windows, nino_sst, sequence_classification,
                           sine_series, train_val_split)


# -- adding problem -----------------------------------------------------------------------------------------------------
def test_adding_problem_layout_and_target():
    x, y = adding_problem(500, 30, seed=0)
    assert x.shape == (30, 500, 2) and y.shape == (500, 1) and x.dtype == y.dtype == np.float64
    marker = x[:, :, 1]
    assert set(np.unique(marker)) == {0.0, 1.0}
    assert np.all(marker[:15].sum(axis=0) == 1) and np.all(marker[15:].sum(axis=0) == 1)   # one per half
    assert np.all((x[:, :, 0] >= 0) & (x[:, :, 0] < 1))
    i = 7
    marked = np.flatnonzero(marker[:, i])
    assert y[i, 0] == x[marked[0], i, 0] + x[marked[1], i, 0]


def test_adding_problem_predict_one_baseline_is_one_sixth():
    x, y = adding_problem(200_000, 10, seed=1)
    loss, _ = mse(np.ones_like(y), y)
    assert ADDING_BASELINE_MSE == 1 / 6
    assert abs(loss - 0.167) < 0.005
    assert abs(y.mean() - 1.0) < 0.005


def test_adding_problem_first_marker_covers_the_first_half():
    x, _ = adding_problem(20_000, 10, seed=2)
    first = x[:5, :, 1].argmax(axis=0)
    counts = np.bincount(first, minlength=5) / 20_000
    np.testing.assert_allclose(counts, 0.2, atol=0.02)


def test_generators_are_deterministic_by_seed_and_rng():
    a = adding_problem(5, 12, seed=3)
    b = adding_problem(5, 12, rng=np.random.default_rng(3))
    c = adding_problem(5, 12, seed=4)
    assert all(np.array_equal(u, v) for u, v in zip(a, b))
    assert not np.array_equal(a[0], c[0])
    for make in (lambda s: copy_memory(4, 9, seed=s), lambda s: sequence_classification(9, seed=s),
                 lambda s: (sine_series(50, noise=1.0, seed=s),)):
        assert all(np.array_equal(u, v) for u, v in zip(make(8), make(8)))
        assert not all(np.array_equal(u, v) for u, v in zip(make(8), make(9)))


@pytest.mark.parametrize("call, error, words", [
    (lambda: adding_problem(10, 1, seed=0), ValueError, ["T", ">= 2", "1"]),
    (lambda: adding_problem(0, 10, seed=0), ValueError, ["n", ">= 1", "0"]),
    (lambda: adding_problem(2.5, 10), ValueError, ["n", "2.5"]),
    (lambda: adding_problem(2, 10, seed=1, rng=np.random.default_rng(1)), ValueError, ["seed or rng"]),
    (lambda: adding_problem(2, 10, rng=1), TypeError, ["rng", "Generator", "int"]),
    (lambda: copy_memory(2, 0), ValueError, ["T", ">= 1"]),
    (lambda: copy_memory(2, 5, copy_len=0), ValueError, ["copy_len"]),
    (lambda: sine_series(1), ValueError, ["n_steps"]),
    (lambda: sine_series(10, freqs=(0.7,)), ValueError, ["freqs", "0.5", "0.7"]),
    (lambda: sine_series(10, freqs=(0.1, 0.2), amplitudes=(1.0,)), ValueError, ["amplitudes", "2"]),
    (lambda: sine_series(10, noise=-1), ValueError, ["noise"]),
    (lambda: make_windows(np.arange(5.0), 4, 2), ValueError, ["window + horizon = 6", "5"]),
    (lambda: make_windows(np.zeros((2, 3, 4)), 1), ValueError, ["(L,) or (L, F)", "(2, 3, 4)"]),
    (lambda: make_windows(np.array(["a", "b"]), 1), TypeError, ["series", "<U1"]),
    (lambda: nino_sst("5"), ValueError, ["region", "'3.4'", "'5'"]),
    (lambda: sequence_classification(5, min_len=30, max_len=20), ValueError, ["max_len", "30", "20"]),
    (lambda: char_corpus(max_chars=0), ValueError, ["max_chars"]),
    (lambda: char_corpus(path="/nonexistent/file.txt"), FileNotFoundError, ["/nonexistent/file.txt"]),
    (lambda: train_val_split("abc", 1.5), ValueError, ["val_fraction", "1.5"]),
    (lambda: batchify(np.arange(5), 3), ValueError, ["batch_size", "6", "5"]),
])
def test_bad_arguments_raise_errors_that_say_what_was_expected(call, error, words):
    with pytest.raises(error) as info:
        call()
    for w in words:
        assert w in str(info.value)


# -- copy memory --------------------------------------------------------------------------------------------------------
def test_copy_memory_layout():
    T = 25
    x, y = copy_memory(300, T, seed=0)
    assert x.shape == y.shape == (T + 20, 300) and x.dtype == y.dtype == np.int64
    np.testing.assert_array_equal(y[-10:], x[:10])                      # the symbols come back at the end
    assert np.all((x[:10] >= 1) & (x[:10] <= 8))
    assert np.all(x[10:T + 9] == 0) and np.all(x[T + 9] == 9) and np.all(x[T + 10:] == 0)
    assert np.all(y[:T + 10] == 0)
    xo, yo = copy_memory(300, T, seed=0, one_hot=True)
    assert xo.shape == (T + 20, 300, 10) and np.array_equal(xo.argmax(-1), x) and np.all(xo.sum(-1) == 1)
    assert np.array_equal(yo, y)


def test_copy_memory_symbols_are_uniform():
    x, _ = copy_memory(20_000, 3, seed=1)
    freq = np.bincount(x[:10].ravel(), minlength=9)[1:] / x[:10].size
    np.testing.assert_allclose(freq, 1 / 8, atol=0.005)


@pytest.mark.parametrize("T", [1, 10, 100])
def test_copy_memory_baseline_is_the_loss_of_blanks_then_uniform_guesses(T):
    x, y = copy_memory(64, T, seed=2)
    L = T + 20
    logits = np.full((L, 64, 10), -1e3)          # classes 0..9: blank, 8 symbols, delimiter
    logits[:T + 10, :, 0] = 0.0                  # certain of blank until the symbols are due
    logits[T + 10:, :, 1:9] = 0.0                # then uniform over the 8 symbols
    loss, _ = softmax_cross_entropy(logits, y)
    expected = 10 * np.log(8) / (T + 20)
    assert abs(loss - expected) < 1e-12 and abs(copy_memory_baseline(T) - expected) < 1e-15
    assert abs(copy_memory_baseline(T, n_symbols=4, copy_len=3) - 3 * np.log(4) / (T + 6)) < 1e-15


# -- time series --------------------------------------------------------------------------------------------------------
def test_sine_series_is_the_sum_of_its_sines_plus_noise_of_the_given_std():
    x = sine_series(1000, freqs=(0.01, 0.125), amplitudes=(2.0, 0.5), phases=(0.3, 1.0))
    t = 37
    assert abs(x[t] - (2 * np.sin(2 * np.pi * 0.01 * t + 0.3) + 0.5 * np.sin(2 * np.pi * 0.125 * t + 1.0))) < 1e-12
    spectrum = np.abs(np.fft.rfft(x))
    assert sorted(np.argsort(spectrum)[-2:] / 1000) == [0.01, 0.125]    # exact bins for these frequencies
    noisy = sine_series(100_000, freqs=(0.01,), noise=0.3, seed=0)
    clean = sine_series(100_000, freqs=(0.01,))
    assert abs((noisy - clean).std() - 0.3) < 0.005


def test_make_windows_matches_a_plain_loop():
    series = np.random.default_rng(0).standard_normal((50, 3))
    X, Y = make_windows(series, window=7, horizon=3, stride=4)
    starts = list(range(0, 50 - 7 - 3 + 1, 4))
    assert X.shape == (7, len(starts), 3) and Y.shape == (3, len(starts), 3)
    for i, s in enumerate(starts):
        np.testing.assert_array_equal(X[:, i], series[s:s + 7])
        np.testing.assert_array_equal(Y[:, i], series[s + 7:s + 10])
    X1, _ = make_windows(np.arange(12), 5)
    assert X1.shape == (5, 7, 1) and X1.dtype == np.float64


def test_nino_sst_is_the_real_noaa_series():
    t, sst = nino_sst("3.4")
    assert t.shape == sst.shape == (732,)
    assert t[0] == 1950.0 and abs(t[-1] - (2010 + 11 / 12)) < 1e-12
    assert sst[0] == 24.83 and sst[-1] == 25.29                      # first and last rows of the CPC file
    t12, s12 = nino_sst("1+2")
    assert 18 < s12.min() and s12.max() < 30
    # a strong yearly cycle in the coastal region: the value a year later correlates, 6 months later anti-correlates
    assert np.corrcoef(s12[:-12], s12[12:])[0, 1] > 0.7 and np.corrcoef(s12[:-6], s12[6:])[0, 1] < 0
    # anomalies are departures from each month's mean: they track our own de-seasonalised series
    _, anom = nino_sst("3.4", anomaly=True)
    by_month = sst.reshape(61, 12)
    mine = (by_month - by_month.mean(axis=0)).ravel()
    assert np.corrcoef(mine, anom)[0, 1] > 0.99
    # the 1997-98 El Niño is in it: its peak anomaly is the largest of the record in region 3.4
    assert 1997.5 < t[np.argmax(anom)] < 1998.2


# -- text -------------------------------------------------------------------------------------------------------------
def test_default_corpus_is_deterministic_and_from_the_stdlib():
    a = char_corpus()
    assert a == char_corpus() and len(a) > 100_000
    assert "def dedent(text)" in a and "class SequenceMatcher" in a       # textwrap.py and difflib.py
    assert char_corpus(max_chars=500) == a[:500]


def test_corpus_from_a_file_vocab_round_trip_and_split(tmp_path):
    p = tmp_path / "t.txt"
    p.write_text("héllo wörld\n", encoding="utf-8")
    text = char_corpus(path=str(p))
    assert text == "héllo wörld\n"
    v = Vocab.from_text(text)
    assert len(v) == 10 and v.chars == sorted(v.chars)
    ids = v.encode(text)
    assert ids.dtype == np.int64 and v.decode(ids) == text
    with pytest.raises(ValueError, match="'z'"):
        v.encode("z")
    with pytest.raises(ValueError, match=r"\[0, 10\)"):
        v.decode([10])
    train, val = train_val_split(ids, 0.25)
    assert len(val) == 3 and np.array_equal(np.concatenate([train, val]), ids)


def test_batchify_streams_continue_across_rows():
    data = batchify(np.arange(23), 4)
    assert data.shape == (5, 4)
    np.testing.assert_array_equal(data[:, 2], [10, 11, 12, 13, 14])
    inputs, targets = data[:-1], data[1:]
    assert np.all(targets == inputs + 1)


# -- sequence classification -----------------------------------------------------------------------------------------
def test_sequence_classification_shapes_padding_and_balance():
    x, lengths, y = sequence_classification(300, seed=0, min_len=10, max_len=40)
    assert x.shape == (40, 300, 1) and lengths.shape == y.shape == (300,)
    assert lengths.min() >= 10 and lengths.max() <= 40 and len(np.unique(lengths)) > 20
    assert np.array_equal(np.bincount(y), [100, 100, 100])
    steps = np.arange(40)[:, None]
    assert np.all(x[steps >= lengths, 0] == 0) and np.all(x[steps < lengths, 0] != 0)


def test_sequence_classification_needs_time_but_is_solvable():
    x, lengths, y = sequence_classification(3000, seed=1)
    # an independent frequency estimate (periodogram peak of the valid part) recovers the class almost always
    centers = np.mean(FREQUENCY_BANDS, axis=1)
    freqs = np.fft.rfftfreq(1024)
    pred = np.array([np.argmin(np.abs(centers - freqs[np.argmax(np.abs(np.fft.rfft(x[:L, i, 0], 1024)))]))
                     for i, L in enumerate(lengths)])
    assert (pred == y).mean() > 0.95
    # but the power of the signal says nothing: every class has the same mean square
    power = np.array([np.mean(x[:L, i, 0] ** 2) for i, L in enumerate(lengths)])
    per_class = [power[y == k].mean() for k in range(3)]
    assert max(per_class) - min(per_class) < 0.05
    assert abs(np.mean(power) - (0.25 + 13 / 12 / 2)) < 0.03          # noise^2 + E[a^2] / 2, a ~ U(0.5, 1.5)


def test_module_lists_its_public_names():
    for name in tasks.__all__:
        assert hasattr(tasks, name)
