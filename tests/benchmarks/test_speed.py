"""The speed benchmark (benchmarks/speed.py, also `minirnn bench`) runs end to end at a tiny size; no timing is asserted."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def test_speed_script_prints_the_table_and_writes_json_at_a_tiny_size(tmp_path):
    result = subprocess.run(
        [sys.executable, os.path.join(ROOT, "benchmarks", "speed.py"), "--sizes", "tiny", "--cells", "lstm", "gru",
         "--dtypes", "float64", "--reps", "1", "--warmup", "1", "--train-steps", "0", "--no-startup", "--no-memory",
         "--no-plot", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "auto ms" in result.stdout and "tiny   lstm float64" in result.stdout
    report = json.loads((tmp_path / "speed.json").read_text())
    assert {(r["cell"], r["dtype"]) for r in report["rows"]} == {("lstm", "float64"), ("gru", "float64")}
    assert set(report["rows"][0]["ms"]) == {"numba", "numpy", "auto"}
    assert report["threads"] == 1


def test_memory_formula_counts_what_bptt_stores():
    stored_activations = _speed_module().stored_activations
    T, B, I, H = 2, 3, 5, 7
    assert stored_activations(T, B, I, H, 8) == 8 * (2 * 3 * B * H + T * B * 4 * H + 2 * T * B * H)


def _speed_module():
    """benchmarks/speed.py loaded as a module (it is not part of the installed package)."""
    import importlib.util
    spec = importlib.util.spec_from_file_location("speed", os.path.join(ROOT, "benchmarks", "speed.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
