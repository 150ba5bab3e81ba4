"""benchmarks/layer_phases.py: the phases of one compiled LSTM forward + backward add up to the whole."""
from __future__ import annotations

import doctest
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import layer_phases  # noqa: E402


def test_the_phases_add_up_to_the_whole_and_the_example_runs():
    res = layer_phases.phases(T=4, B=3, I=2, H=5, repeats=3)
    parts = res["input projection"] + res["forward loop"] + res["backward loop"] + res["weight gradients"]
    assert abs(parts - res["forward + backward"]) < 1e-9                    # the backward loop is the remainder
    assert all(res[k] > 0 for k in ("forward + backward", "forward step products", "weight gradients"))
    assert doctest.testmod(layer_phases).failed == 0


def test_the_command_prints_every_phase_and_refuses_a_bad_size():
    ok = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "layer_phases.py"), "--T", "3", "--B", "2",
                         "--H", "4", "--repeats", "2"], capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert "gate arithmetic" in ok.stdout and "weight gradients" in ok.stdout
    two = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "layer_phases.py"), "--T", "3", "--B", "16",
                          "--H", "4", "--repeats", "2", "--threads", "2"], capture_output=True, text=True, timeout=300)
    assert two.returncode == 0, two.stderr
    assert "2 thread(s)" in two.stdout and "forward loop" in two.stdout and "step products" not in two.stdout
    bad = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "layer_phases.py"), "--H", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "must be positive" in bad.stderr
