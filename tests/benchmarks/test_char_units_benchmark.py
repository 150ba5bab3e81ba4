"""benchmarks/char_units.py: the table counts a unit as found only at |r| >= 0.4 and twice the control, on
rows made up here; the committed results are 5 seeds of the notebook's budget."""
from __future__ import annotations

import json
import os
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import char_units  # noqa: E402

KEYS = [f"{f}/{s}" for f in char_units.FEATURES for s in ("h", "c")]


def _row(seed, trained, untrained):
    return {"job": {"seed": seed, "steps": 3000}, "trained": {k: [7, trained] for k in KEYS},
            "untrained": {k: [1, untrained] for k in KEYS}, "bits_per_char": 2.5, "eval_step": [500],
            "eval": {"test_loss": [1.7], **{k: [abs(trained)] for k in KEYS}}}


def test_table_counts_found_only_above_the_threshold_and_twice_the_control():
    rows = [_row(0, -0.5, 0.2), _row(1, 0.45, 0.3), _row(2, 0.39, 0.1)]   # found, under 2x control, under 0.4
    line = next(x for x in char_units.table(rows).splitlines() if x.startswith("| indentation | c_t"))
    assert "| 1/3 |" in line and "-0.50 (7)" in line and "max |r| 0.30" in line


def test_committed_results_are_five_seeds_at_the_notebooks_budget():
    path = os.path.join(ROOT, "benchmarks", "results", "char_units.jsonl")
    with open(path, encoding="utf-8") as fh:
        rows = [json.loads(line) for line in fh]
    assert sorted(r["job"]["seed"] for r in rows) == [0, 1, 2, 3, 4]
    assert {r["job"]["steps"] for r in rows} == {char_units.STEPS}
    notebook = open(os.path.join(ROOT, "notebooks", "src", "05_char_rnn.py"), encoding="utf-8").read()
    assert f"steps = 20 if SMALL else {char_units.STEPS}" in notebook
    assert f"H = 32 if SMALL else {char_units.H}" in notebook
