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
         "--no-plot", "--no-growth", "--no-jax", "--out", str(tmp_path)],
        cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "auto ms" in result.stdout and "tiny   lstm float64" in result.stdout
    report = json.loads((tmp_path / "speed.json").read_text())
    assert {(r["cell"], r["dtype"]) for r in report["rows"]} == {("lstm", "float64"), ("gru", "float64")}
    assert set(report["rows"][0]["ms"]) == {"numba", "numpy", "auto", "torch"}
    for key in ("machine_before", "machine_after"):
        m = report[key]
        assert m["threads"] == 1 and m["thread_env"]["OPENBLAS_NUM_THREADS"] == "1"
        assert len(m["load_avg_1_5_15"]) == 3 and m["numpy"] and m["numba"] and m["torch"]
        assert m["torch_threads"] == 1 and isinstance(m["torch_onednn"], bool)
    row = report["rows"][0]
    assert abs(row["vs_torch"] - row["ms"]["auto"] / row["ms"]["torch"]) < 1e-12


def test_memory_formula_counts_what_bptt_stores():
    stored_activations = _speed_module("speed_extras").stored_activations
    T, B, I, H = 2, 3, 5, 7
    assert stored_activations(T, B, I, H, 8) == 8 * (2 * 3 * B * H + T * B * 4 * H + 2 * T * B * H)


def _speed_module(name="speed"):
    """benchmarks/<name>.py loaded as a module (the benchmark is not part of the installed package)."""
    import importlib.util
    sys.path.insert(0, os.path.join(ROOT, "benchmarks"))
    spec = importlib.util.spec_from_file_location(name, os.path.join(ROOT, "benchmarks", f"{name}.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_growth_exponent_is_the_log_log_slope():
    growth = _speed_module("speed_growth")
    assert abs(growth.exponent([10, 100, 1000], [2.0, 20.0, 200.0]) - 1.0) < 1e-12
    assert abs(growth.exponent([1, 2, 4], [1.0, 4.0, 16.0]) - 2.0) < 1e-12


def test_a_contender_that_computes_something_else_is_refused_before_timing():
    import numpy as np
    import pytest
    contenders = _speed_module("speed_contenders")
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    reference = contenders.reference_grad("gru", np.float64, x, 4)
    assert contenders._check_agrees("same", reference.copy(), reference) == 0.0
    with pytest.raises(RuntimeError, match="differs from minirnn's"):
        contenders._check_agrees("twin", reference * 1.001, reference)
