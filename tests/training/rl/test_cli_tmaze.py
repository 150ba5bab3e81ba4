"""``minirnn train tmaze``: what it writes and prints, resuming, and its command-line mistakes."""
import os
import re
import subprocess
import sys

import pytest

from minirnn import cli
from minirnn.training.checkpoint import read_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))


def test_train_tmaze_writes_both_policies_and_the_figure_and_prints_both_successes_last(tmp_path, capsys):
    out = str(tmp_path / "run")
    args = ["train", "tmaze", "--cell", "gru", "--corridor", "3", "--steps", "8", "--hidden", "4", "--batch", "4",
            "--out", out, "--no-progress"]
    assert cli.main(args) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"success=(0|1|0\.\d+) memoryless=(0|1|0\.\d+)", lines[-1]), lines[-1]
    assert {"checkpoint.npz", "control.npz", "success.png"} <= set(os.listdir(out))
    ck = read_checkpoint(os.path.join(out, "checkpoint.npz"))
    assert ck["meta"]["task"] == "tmaze" and ck["meta"]["step"] == 8 and ck["meta"]["settings"]["corridor"] == 3
    assert cli.main(["train", "tmaze", "--steps", "12", "--out", out, "--resume", "--no-progress"]) == 0
    ck = read_checkpoint(os.path.join(out, "checkpoint.npz"))                        # settings taken from the run
    assert ck["meta"]["step"] == 12 and ck["meta"]["settings"]["hidden"] == 4
    assert cli.main(["train", "tmaze", "--cell", "gru", "--corridor", "4", "--hidden", "4", "--batch", "4", "--out",
                     out, "--resume"]) == 2
    assert "used --corridor 3, got 4" in capsys.readouterr().err


def test_lstm_gets_forget_bias_one_by_default(tmp_path, capsys):
    out = str(tmp_path / "lstm")
    assert cli.main(["train", "tmaze", "--corridor", "2", "--steps", "0", "--hidden", "3", "--batch", "2",
                     "--out", out, "--no-progress"]) == 0
    ck = read_checkpoint(os.path.join(out, "checkpoint.npz"))
    assert ck["meta"]["settings"]["cell"] == "lstm" and ck["meta"]["settings"]["forget_bias"] == 1.0
    assert "RecurrentPolicy('lstm', 3, 3, 3, forget_bias=1.0)" in capsys.readouterr().out


@pytest.mark.parametrize("argv,message", [
    (["train", "tmaze", "--cell", "gru", "--forget-bias", "1"], "--forget-bias is for --cell lstm, got --cell gru"),
    (["train", "tmaze", "--corridor", "0"], "--corridor must be a positive integer, got 0"),
    (["train", "tmaze", "--T", "5"], "--T is not used by the tmaze task (its length is --corridor), got --T 5"),
    (["train", "adding", "--corridor", "5"], "--corridor is for the tmaze task, got task 'adding'"),
    (["train", "tmaze", "--cell", "cnn"], "argument --cell: invalid choice: 'cnn'"),
    (["train", "tmaze", "--batch", "0"], "--batch must be a positive integer, got 0"),
])
def test_bad_tmaze_command_lines_exit_with_a_sentence_and_no_traceback(tmp_path, argv, message):
    code = f"import sys; from minirnn.cli import main; sys.argv[0] = 'minirnn'; sys.exit(main({argv!r}))"
    result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, PYTHONPATH=ROOT))
    output = result.stdout + result.stderr
    assert result.returncode != 0 and "Traceback" not in output, output
    assert message in output, output
