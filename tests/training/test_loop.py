"""The fit loop and the tasks: same losses as PyTorch training the same model, small fast learning runs that beat
their baselines, the history plot, and the command line."""
import collections
import math
import re

import numpy as np
import pytest
import torch

from minirnn import cli
from minirnn import data as tasks
from minirnn.training import loop as train
from minirnn.training import recipes as experiments
from minirnn.nn.optim import Adam

from torch_reference import torch_twin


def test_fit_takes_the_same_steps_as_torch_training_the_same_model():
    """Adam + gradient-norm clipping on the adding problem: 8 steps, every loss equal to PyTorch's."""
    exp = experiments.adding("lstm", T=12, hidden=8, batch=5, seed=0, n_test=10)
    rnn = torch_twin(exp.model.rnn)
    fc = torch.nn.Linear(8, 1).double()
    fc.weight.data, fc.bias.data = torch.tensor(exp.model.fc.weight), torch.tensor(exp.model.fc.bias)
    batch_rng = np.random.default_rng(0)
    batch_rng.bit_generator.state = exp.rng.bit_generator.state          # the same batches
    history = train.fit(exp.model, Adam(exp.model, lr=1e-2), exp.train_step, 8, rng=exp.rng, clip_norm=0.5,
                        progress=False)
    params = list(rnn.parameters()) + list(fc.parameters())
    opt = torch.optim.Adam(params, lr=1e-2)
    losses, norms = [], []
    for _ in range(8):
        x, y = tasks.adding_problem(5, 12, rng=batch_rng)
        out, _ = rnn(torch.tensor(x))
        loss = torch.nn.functional.mse_loss(fc(out[-1]), torch.tensor(y))
        opt.zero_grad()
        loss.backward()
        norms.append(torch.nn.utils.clip_grad_norm_(params, 0.5).item())
        opt.step()
        losses.append(loss.item())
    np.testing.assert_allclose(history["loss"], losses, rtol=1e-10)
    np.testing.assert_allclose(history["grad_norm"], norms, rtol=1e-10)
    assert max(norms) > 0.5                                               # clipping really happened


def test_stream_chunks_cover_the_stream_and_reset_at_the_start():
    data = np.arange(30).reshape(15, 2)
    chunks = [train.stream_chunk(data, s, 4) for s in range(4)]
    assert [c[2] for c in chunks] == [True, False, False, True]           # (15 - 1) // 4 = 3 chunks, then again
    np.testing.assert_array_equal(np.concatenate([c[0] for c in chunks[:3]]), data[:12])
    np.testing.assert_array_equal(np.concatenate([c[1] for c in chunks[:3]]), data[1:13])


def _bigram_reference(train_text, test_text):
    """Add-one bigram cross-entropy with Counters: an independent count of what experiments.bigram_loss does."""
    chars = sorted(set(train_text + test_text))
    pairs = collections.Counter(zip(train_text, train_text[1:]))
    firsts = collections.Counter(train_text[:-1])
    logs = [math.log((pairs[(a, b)] + 1) / (firsts[a] + len(chars))) for a, b in zip(test_text, test_text[1:])]
    return -sum(logs) / len(logs)


def _train(exp, steps, lr=1e-2, eval_every=0):
    return train.fit(exp.model, Adam(exp.model, lr=lr), exp.train_step, steps, rng=exp.rng, evaluate=exp.evaluate,
                     eval_every=eval_every, clip_norm=1.0, progress=False)


def test_char_model_beats_the_bigram_counts_on_held_out_text():
    # words whose middle depends on more than the previous character: a bigram model cannot know which word it is in
    words = ["parallel", "paragraph", "parameter", "paradigm", "parachute"]
    rng = np.random.default_rng(0)
    text = " ".join(rng.choice(words, size=700)) + " "
    exp = experiments.char("gru", T=24, hidden=32, batch=8, seed=0, text=text)
    train_text, test_text = tasks.train_val_split(text, 0.1)
    assert exp.baseline[1] == pytest.approx(_bigram_reference(train_text, test_text), rel=1e-12)
    history = _train(exp, 250)
    assert history["eval"]["test_loss"][-1] < 0.8 * exp.baseline[1]


def test_adding_problem_is_learned_by_a_gru_at_short_length():
    exp = experiments.adding("gru", T=10, hidden=16, batch=32, seed=0, n_test=300)
    history = _train(exp, 300)
    assert exp.baseline[1] == pytest.approx(1 / 6, abs=0.03)
    assert history["eval"]["test_mse"][-1] < 0.2 * exp.baseline[1]


def test_forecaster_beats_repeating_the_last_value():
    exp = experiments.forecast("gru", T=12, hidden=16, seed=0)
    history = _train(exp, 300)
    assert history["eval"]["test_mse"][-1] < 0.8 * exp.baseline[1]


def test_classifier_beats_the_majority_class_by_far():
    exp = experiments.classify("gru", T=40, hidden=16, seed=0, n_test=300)
    history = _train(exp, 250)
    assert exp.baseline[1] == pytest.approx(1 / 3, abs=0.01)
    assert history["eval"]["accuracy"][-1] > 0.7


def test_copy_task_learns_the_blanks_first_reaching_the_memoryless_baseline():
    """Copy memory plateaus at the memoryless baseline for long (a known property); a short run must reach it."""
    exp = experiments.copy("gru", T=5, hidden=16, seed=0, n_test=100)
    assert exp.baseline[1] == pytest.approx(10 * math.log(8) / 25)
    untrained = exp.evaluate(exp.model)["test_loss"]
    history = _train(exp, 100)
    assert untrained > 2.0 and history["eval"]["test_loss"][-1] < 1.1 * exp.baseline[1]


def test_plot_history_returns_a_figure_and_writes_a_png(tmp_path):
    exp = experiments.adding("rnn", T=6, hidden=4, batch=4, seed=0, n_test=10)
    history = _train(exp, 20, eval_every=5)
    fig = train.plot_history(history, tmp_path / "loss.png", title="t", baseline=exp.baseline)
    assert (tmp_path / "loss.png").stat().st_size > 1000
    assert len(fig.axes) == 2 and fig.axes[0].get_title() == "t"
    assert history["eval_step"] == [5, 10, 15, 20]


def test_fit_rejects_bad_arguments_with_sentences():
    exp = experiments.adding("rnn", T=6, hidden=4, batch=4, seed=0, n_test=10)
    opt = Adam(exp.model)
    with pytest.raises(ValueError, match="steps must be an integer >= 0, got -1"):
        train.fit(exp.model, opt, exp.train_step, -1, rng=exp.rng)
    with pytest.raises(ValueError, match="checkpoint_path must be given"):
        train.fit(exp.model, opt, exp.train_step, 1, rng=exp.rng, resume=True)
    with pytest.raises(TypeError, match="rng must be a numpy.random.Generator, got int"):
        train.fit(exp.model, opt, exp.train_step, 1, rng=0)


def test_cli_train_writes_checkpoint_and_curve_prints_the_metric_last_and_resumes(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", "classify", "--cell", "gru", "--steps", "6", "--hidden", "4", "--T", "20", "--out", out,
            "--no-progress"]
    assert cli.main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"accuracy=0\.\d+", lines[-1])
    assert (tmp_path / "run" / "checkpoint.npz").exists() and (tmp_path / "run" / "loss.png").exists()
    assert cli.main(["train", "classify", "--steps", "9", "--out", out, "--resume", "--no-progress"]) == 0
    from minirnn.training.checkpoint import read_checkpoint
    ck = read_checkpoint(tmp_path / "run" / "checkpoint.npz")
    assert ck["meta"]["step"] == 9 and ck["meta"]["settings"]["hidden"] == 4    # settings taken from the run
    capsys.readouterr()
    assert cli.main(["train", "classify", "--steps", "12", "--hidden", "5", "--out", out, "--resume"]) == 2
    assert "used --hidden 4, got --hidden 5" in capsys.readouterr().err


def test_cli_sample_prints_text_from_a_char_checkpoint(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(tasks, "char_corpus", lambda *a, **k: "abcabcabd " * 30)
    out = str(tmp_path / "char")
    assert cli.main(["train", "char", "--cell", "rnn", "--steps", "5", "--hidden", "8", "--T", "8", "--batch", "4",
                     "--out", out, "--no-progress"]) == 0
    assert re.fullmatch(r"test_loss=\d+\.\d+", capsys.readouterr().out.strip().splitlines()[-1])
    assert cli.main(["sample", out + "/checkpoint.npz", "--prime", "ab", "--length", "20", "--seed", "1"]) == 0
    text = capsys.readouterr().out.rstrip("\n")
    assert text.startswith("ab") and len(text) == 22 and set(text) <= set("abcd ")
    assert cli.main(["train", "adding", "--steps", "1", "--hidden", "2", "--T", "4", "--out", str(tmp_path / "a"),
                     "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["sample", str(tmp_path / "a" / "checkpoint.npz")]) == 2
    assert "not a character model checkpoint" in capsys.readouterr().err


def test_cli_char_trains_on_a_text_file_the_user_names(tmp_path, capsys):
    text = "the quick brown fox jumps over the lazy dog. " * 40                 # 1800 characters, 28 symbols
    (tmp_path / "corpus.txt").write_text(text, encoding="utf-8")
    out = str(tmp_path / "char")
    assert cli.main(["train", "char", "--text", str(tmp_path / "corpus.txt"), "--cell", "gru", "--steps", "3",
                     "--hidden", "8", "--T", "8", "--batch", "4", "--out", out, "--no-progress"]) == 0
    capsys.readouterr()
    assert cli.main(["sample", out + "/checkpoint.npz", "--prime", "the", "--length", "30", "--seed", "0"]) == 0
    assert set(capsys.readouterr().out.rstrip("\n")) <= set(text)          # its vocabulary is the file's
    capsys.readouterr()
    assert cli.main(["train", "adding", "--text", str(tmp_path / "corpus.txt"), "--out", str(tmp_path / "a")]) == 2
    assert "--text is for the char task" in capsys.readouterr().err
    assert cli.main(["train", "char", "--text", str(tmp_path / "missing.txt"), "--out", out]) == 2
    assert re.search("cannot read .*missing.txt", capsys.readouterr().err)
