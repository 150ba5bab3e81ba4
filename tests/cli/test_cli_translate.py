"""``minirnn train translate`` and ``minirnn translate``, tiny: the metric last, the checkpoint, the attention as text,
and one-sentence errors."""
import re

import numpy as np
import pytest

from minirnn import cli
from minirnn.cli.translate import attention_text


def test_train_translate_then_translate_a_date(tmp_path, capsys):
    out = str(tmp_path / "dates")
    assert cli.main(["train", "translate", "--attention", "additive", "--steps", "3", "--hidden", "4", "--batch", "8",
                     "--out", out, "--no-progress"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert re.fullmatch(r"exact_match=\d\.\d+|exact_match=0", lines[-1])
    assert "Seq2Seq(" in lines[0] and "gru" in lines[0]
    assert cli.main(["translate", out + "/checkpoint.npz", "the 3rd of March 2001", "--beam", "3"]) == 0
    printed = capsys.readouterr().out.splitlines()
    header = printed[1].split()
    assert header == list("the3rdofMarch2001")
    assert printed[-1].startswith("</s>") and len(printed) >= 3
    assert cli.main(["translate", out + "/checkpoint.npz", "3 März 2001"]) == 2
    assert 'not in the vocabulary' in capsys.readouterr().err
    assert cli.main(["translate", out + "/checkpoint.npz", "1 May 2001", "--beam", "0"]) == 2
    assert '--beam must be a positive integer' in capsys.readouterr().err


def test_translate_refuses_a_checkpoint_of_another_task(tmp_path, capsys):
    out = str(tmp_path / "a")
    assert cli.main(["train", "adding", "--steps", "1", "--hidden", "2", "--T", "4", "--out", out,
                     "--no-progress"]) == 0
    assert cli.main(["translate", out + "/checkpoint.npz", "x"]) == 2
    assert 'not a translation checkpoint' in capsys.readouterr().err
    assert cli.main(["translate", str(tmp_path / "none.npz"), "x"]) == 2
    assert 'does not exist' in capsys.readouterr().err
    assert cli.main(["train", "adding", "--attention", "dot", "--steps", "1", "--out", out]) == 2
    assert 'are for the translate task' in capsys.readouterr().err


def test_train_translate_without_attention_on_reversal(tmp_path, capsys):
    out = str(tmp_path / "rev")
    assert cli.main(["train", "translate", "--attention", "none", "--data", "reverse", "--T", "5", "--cell", "lstm",
                     "--steps", "2", "--hidden", "4", "--out", out, "--no-progress"]) == 0
    assert capsys.readouterr().out.strip().splitlines()[-1].startswith("exact_match=")
    assert cli.main(["translate", out + "/checkpoint.npz", "12345"]) == 0
    assert "(this model has no attention)" in capsys.readouterr().out


def test_attention_text_writes_one_digit_per_weight():
    text = attention_text(np.array([[0.5, 0.5, 0.0], [0.02, 0.08, 0.9]]), "abc", ["x", "</s>"])
    assert text.splitlines() == ["     a b c", "x    5 5 .", "</s> . 0 9"]
