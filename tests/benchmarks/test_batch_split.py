"""benchmarks/batch_split.py: the ways it compares run the same layer, and its command line."""
from __future__ import annotations

import doctest
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import batch_split  # noqa: E402
from minirnn.kernels import _batch, _blas  # noqa: E402


def test_every_way_is_timed_and_the_library_choice_comes_back():
    choice = _batch.workers
    res = batch_split.compare("gru", "float64", (4, 16, 3, 5), blocks=2, reps=2)
    expected = {"one thread", "two threads"} | ({"two threads, rows split"} if _blas.bound_to() != "mkl" else set())
    assert set(res) == expected and all(ms > 0 for ms in res.values())
    assert _batch.workers is choice
    forms = batch_split.weight_gradients("float32", (3, 8, 2, 4), blocks=1)
    assert set(forms) == {(n, f) for n in (1, 2) for f in ("two products", "one on [x | h_prev]")}
    assert doctest.testmod(batch_split).failed == 0


def test_the_command_prints_each_row_and_refuses_a_bad_size_in_one_line():
    script = os.path.join(ROOT, "benchmarks", "batch_split.py")
    ok = subprocess.run([sys.executable, script, "--cells", "rnn", "--dtypes", "float32", "--size", "3,16,2,4",
                         "--blocks", "1", "--reps", "1"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "rnn float32 (3, 16, 2, 4): one thread" in ok.stdout and "two threads" in ok.stdout
    bad = subprocess.run([sys.executable, script, "--size", "3,16,0"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr
    assert "--size must be four positive integers T,B,I,H, got '3,16,0'" in bad.stderr
