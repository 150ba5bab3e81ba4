"""benchmarks/speed_compare.py: the agreement of two runs and the two-thread speed-ups, on runs made up here."""
from __future__ import annotations

import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

import speed_compare  # noqa: E402


def _run(threads, auto, torch, jax=None, load=0.5):
    ms = {"auto": auto, "torch": torch, **({"jax": jax} if jax else {})}
    return {"machine_before": {"threads": threads, "load_avg_1_5_15": [load] * 3},
            "rows": [{"size": "medium", "cell": "lstm", "dtype": "float32", "target": 1.0, "ms": ms}]}


def test_agreement_gives_each_runs_ratio_and_how_many_meet_the_target():
    (row,) = speed_compare.agreement([_run(1, 9.0, 10.0, 12.0), _run(1, 11.0, 10.0)])
    assert row["vs_torch"] == [0.9, 1.1] and row["meets"] == "1/2"
    assert row["vs_jax"] == [0.75, None]


def test_speedups_divide_one_thread_by_two_thread_times_for_both():
    ((key, mine, torch),) = speed_compare.speedups(_run(1, 10.0, 12.0), _run(2, 6.0, 8.0))
    assert key == ("medium", "lstm", "float32") and mine == 10.0 / 6.0 and torch == 12.0 / 8.0


def test_the_command_prints_the_range_and_a_missing_file_is_one_sentence(tmp_path):
    for name, run in (("a", _run(1, 9.0, 10.0)), ("b", _run(1, 11.0, 10.0)), ("two", _run(2, 5.0, 6.0))):
        (tmp_path / name).mkdir()
        (tmp_path / name / "speed.json").write_text(json.dumps(run))
    script = os.path.join(ROOT, "benchmarks", "speed_compare.py")
    ok = subprocess.run([sys.executable, script, str(tmp_path / "a"), str(tmp_path / "b"), "--two-threads",
                         str(tmp_path / "two")], capture_output=True, text=True, timeout=60)
    assert ok.returncode == 0, ok.stderr
    assert "0.90 / 1.10  (range 0.90-1.10)" in ok.stdout and "1/2" in ok.stdout
    assert "1.80     1.67  yes" in ok.stdout
    bad = subprocess.run([sys.executable, script, str(tmp_path / "nowhere")], capture_output=True, text=True,
                         timeout=60)
    assert bad.returncode != 0 and "Traceback" not in bad.stderr and "is not a speed.json" in bad.stderr


def test_step_gemm_times_both_products_of_a_cell_for_every_contender(tmp_path):
    out = tmp_path / "gemm.json"
    run = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "step_gemm.py"), "--B", "2", "--H", "4",
                          "--blocks", "1", "--dtypes", "float64", "--cells", "gru", "--json", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    res = json.loads(out.read_text())["results"]["float64"]
    assert set(res) == {"gru forward", "gru backward"}
    import importlib.util

    from minirnn.kernels import _mkl

    expected = {"numpy", "torch"} | ({"jax"} if importlib.util.find_spec("jax") else set())  # JAX is optional
    expected |= {"mkl", "mkl packed"} if _mkl.why_not() is None else set()                 # MKL: the test extra
    assert all(set(t) == expected and min(t.values()) > 0 for t in res.values())
    import step_gemm
    assert step_gemm.step_shapes(B=64, H=512, gates=4)["backward"] == ((64, 2048), (2048, 512))


def test_markdown_shows_the_first_runs_times_and_the_median_and_range_of_the_ratios():
    table = speed_compare.markdown([_run(1, 9.0, 10.0, 12.0), _run(1, 11.0, 10.0, 10.0), _run(1, 10.0, 10.0, 8.0)])
    row = table.splitlines()[2]
    assert row.startswith("| medium | lstm | f32 | 9.00 | - | - | 10.00 | 12.00 |")
    assert row.endswith("| 1.00 [0.90, 1.10] | 1.10 [0.75, 1.25] | ≤ 1 met 2 of 3 |")


def test_product_threads_times_one_and_two_threads_for_each_size(tmp_path):
    out = tmp_path / "threads.json"
    run = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "product_threads.py"), "--sizes", "2",
                          "--json", str(out)], capture_output=True, text=True, timeout=300,
                         env={**os.environ, "OPENBLAS_NUM_THREADS": "2"})
    assert run.returncode == 0, run.stderr
    rows = json.loads(out.read_text())["rows"]
    assert [(r["dtype"], r["work"]) for r in rows] == [(d, w) for d in ("float32", "float64") for w in (4096, 524288)]
    assert all(r["us_1"] > 0 and r["us_2"] > 0 for r in rows)
    bad = subprocess.run([sys.executable, os.path.join(ROOT, "benchmarks", "product_threads.py"), "--sizes", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--sizes must lie in 1..6" in bad.stderr and "Traceback" not in bad.stderr
