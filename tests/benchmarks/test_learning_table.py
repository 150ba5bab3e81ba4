"""benchmarks/learning.py --table: the README's learning table from the saved runs (runs made up here)."""
from __future__ import annotations

import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import learning  # noqa: E402


def _run(config, seed, value, solved_at):
    return {"job": {"task": "adding", "config": config, "T": 50, "steps": 5000, "seed": seed}, "value": value,
            "metric": "test_mse", "baseline_name": "predict 1", "baseline": 0.16, "beats_baseline": value < 0.16,
            "T": 50, "solved": value < learning.SOLVED_MSE, "solved_at": solved_at}


def test_the_table_counts_solved_seeds_and_lists_when_each_was_solved_in_the_cells_order():
    runs = [_run("rnn:default", s, 0.17, None) for s in range(2)]
    runs += [_run("gru:default", 1, 0.002, 1500), _run("gru:default", 0, 0.001, 1000), _run("gru:default", 2, 0.1, None)]
    lines = learning.table(runs).splitlines()
    assert len(lines) == 4 and lines[2].startswith("| adding | 50 | GRU, PyTorch default |")  # the GRU before the RNN
    assert "| 3 | 2/3 (MSE < 0.05) | MSE 0.0020 [0.0010, 0.1000] | predict 1: 0.160 | 1000, 1500 |" in lines[2]
    assert "| 2 | 0/2 (MSE < 0.05) | MSE 0.1700 [0.1700, 0.1700] |" in lines[3] and lines[3].endswith("| - |")


def test_a_table_of_no_runs_is_one_sentence_and_an_error(tmp_path, capsys):
    import pytest

    with pytest.raises(SystemExit) as stop:
        learning.main(["--table", "--results", str(tmp_path / "none.jsonl"), "--figure", str(tmp_path / "f.png")])
    assert stop.value.code == 2 and "holds no finished run" in capsys.readouterr().err
