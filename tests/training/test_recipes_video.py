"""The video task: a tiny run learns direction from the order of frames while shuffled frames stay at chance, and
``minirnn train video`` prints the accuracy last, keeps its settings on resume and names every mistake."""
from __future__ import annotations

import re

import numpy as np
import pytest

from minirnn import cli
from minirnn.nn.optim import Adam
from minirnn.training.loop import fit
from minirnn.training.recipes import build_model, make


def test_a_small_gru_learns_direction_from_frame_order_and_shuffled_frames_stay_at_chance():
    exp = make("video", cell="gru", T=6, size=10, hidden=16, encoder_size=16, label="direction", n_test=400, seed=0)
    history = fit(exp.model, Adam(exp.model, lr=3e-3), exp.train_step, 1000, rng=exp.rng, evaluate=exp.evaluate,
                  clip_norm=1.0, progress=False)
    assert history["eval"]["accuracy"][-1] >= 0.95
    assert abs(history["eval"]["shuffled_accuracy"][-1] - 0.25) < 0.07     # 400 videos: one s.e. is 0.022
    assert exp.baseline[0] == "mean-frame logistic regression" and abs(exp.baseline[1] - 0.25) < 0.07


def test_the_checkpointed_config_rebuilds_the_same_model():
    exp = make("video", cell="lstm", T=5, label="memory", hidden=6, encoder_size=4, n_test=10, baseline=False)
    twin = build_model(exp.model_config)
    for name, value in exp.model.params.items():
        np.testing.assert_array_equal(twin.params[name], value)
    assert exp.info == {"T": 5, "batch": 32, "label": "memory", "size": 12} and exp.baseline == ("chance", 0.1)


def test_cli_train_video_prints_accuracy_last_and_resumes_with_its_label(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", "video", "--label", "memory", "--K", "3", "--cell", "gru", "--hidden", "4", "--out", out,
            "--no-progress"]
    assert cli.main(args + ["--steps", "2"]) == 0
    printed = capsys.readouterr().out.strip().splitlines()
    assert "T=4 label=memory" in printed[0] and printed[1].startswith("baseline (mean-frame logistic regression)")
    assert printed[-1].startswith("accuracy=") and 0 <= float(printed[-1].split("=")[1]) <= 1
    assert cli.main(["train", "video", "--steps", "3", "--out", out, "--resume", "--no-progress"]) == 0
    assert "T=4 label=memory" in capsys.readouterr().out
    assert cli.main(["train", "video", "--label", "digit", "--steps", "4", "--out", out, "--resume"]) == 2
    assert "used --label memory, got --label digit" in capsys.readouterr().err


@pytest.mark.parametrize("args, words", [
    (["train", "classify", "--label", "digit"], "--label is for the video task, got task 'classify'"),
    (["train", "video", "--K", "5"], "--K is for --label memory, got --label direction"),
    (["train", "video", "--label", "memory", "--K", "5", "--T", "9"], "--K 5 means --T 6"),
    (["train", "video", "--T", "3"], "at least 4 for --label direction"),
    (["train", "video", "--label", "digit", "--T", "6"], "at most 5 for --label digit"),
    (["train", "video", "--label", "memory", "--K", "0"], "--K must be a positive integer, got 0"),
])
def test_cli_video_mistakes_are_one_sentence(args, words, tmp_path, capsys):
    assert cli.main(args + ["--steps", "1", "--out", str(tmp_path / "x")]) == 2
    err = capsys.readouterr().err
    assert re.search(words, err) and len(err.strip().splitlines()) == 1, err
