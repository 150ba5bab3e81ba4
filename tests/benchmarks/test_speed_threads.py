"""benchmarks/speed_threads.py: every contender alone in a process at one and at two threads."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SCRIPT = os.path.join(ROOT, "benchmarks", "speed_threads.py")
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import speed_threads  # noqa: E402


def test_one_thread_pins_xla_to_eigen_single_threaded_and_two_lets_it_be():
    one, two = speed_threads.thread_env(1, {"XLA_FLAGS": "--x"}), speed_threads.thread_env(2, {"XLA_FLAGS": "--x"})
    assert one["XLA_FLAGS"] == "--xla_cpu_multi_thread_eigen=false" and "XLA_FLAGS" not in two
    assert {one[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")} == {"1"}
    assert {two[k] for k in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")} == {"2"}


def test_a_small_run_times_each_contender_at_both_counts_and_divides_them(tmp_path):
    out = tmp_path / "threads.json"
    run = subprocess.run([sys.executable, SCRIPT, "--sizes", "medium", "--cells", "rnn", "--dtypes", "float64",
                          "--rounds", "1", "--blocks", "1", "--json", str(out)],
                         capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    (row,) = json.loads(out.read_text())["rows"]
    assert (row["size"], row["cell"], row["dtype"]) == ("medium", "rnn", "float64")
    for name in ("minirnn", "torch"):                                  # torch is in the test extra
        r = row[name]
        assert r["ms_1"] > 0 and r["ms_2"] > 0 and abs(r["speedup"] - r["ms_1"] / r["ms_2"]) < 1e-12
    assert "two-thread speed-up at least every peer's in" in run.stdout


def test_a_malformed_worker_call_is_one_sentence_and_status_2():
    bad = subprocess.run([sys.executable, SCRIPT, "--worker", "torch"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "Traceback" not in bad.stderr and "--worker takes" in bad.stderr
    typo = subprocess.run([sys.executable, SCRIPT, "--worker", "tourch", "medium", "rnn", "float32", "1", "2"],
                          capture_output=True, text=True, timeout=60)
    assert typo.returncode == 2 and "Traceback" not in typo.stderr and "expected a contender of" in typo.stderr
