"""The benchmarks' result files: an existing one is refused with one line and status 2 before anything is
measured, and left byte for byte; ``--overwrite`` replaces it; Ctrl-C inside the measurement ends with one
line, status 130, no traceback, and what was measured saved (``"interrupted": true``); logs are appended to,
whole lines only. The measurements are monkeypatched: nothing is timed here."""
from __future__ import annotations

import importlib.util
import json
import os
import pathlib
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "benchmarks"))

_env = dict(os.environ)
import _output  # noqa: E402
import product_threads  # noqa: E402
import speed  # noqa: E402
import speed_threads  # noqa: E402
import step_gemm  # noqa: E402  (sets thread variables for its own run: put back below)

os.environ.clear()
os.environ.update(_env)

OLD = b'{"old": "result"}\n'


def _load(name):
    """benchmarks/<name>.py under another module name (benchmarks/threads.py is not the threads module)."""
    path = os.path.join(ROOT, "benchmarks", f"{name}.py")
    spec = importlib.util.spec_from_file_location(f"bench_{name}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _never(*args, **kwargs):
    raise AssertionError("measured although the output was refused")


def _one_line(capsys):
    err = capsys.readouterr().err
    assert "Traceback" not in err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    return lines[0]


@pytest.fixture
def old(tmp_path):
    path = tmp_path / "result.json"
    path.write_bytes(OLD)
    return path


def _assert_refused(code, capsys, path, prog):
    line = _one_line(capsys)
    assert code == 2
    assert line == (f"{prog}: --json {str(path)!r} already exists; replace it with --overwrite or choose "
                    f"another --json")
    assert path.read_bytes() == OLD


def _assert_replaced(code, path):
    assert code == 0
    report = json.loads(path.read_text())
    assert "interrupted" not in report and path.read_bytes() != OLD
    assert os.listdir(path.parent) == [path.name]                     # no temporary left next to it
    return report


def _raise_on_call(n, value):
    """A stand-in measurement returning ``value(*args)`` until its ``n``-th call, which is a Ctrl-C."""
    calls = []

    def measure(*args, **kwargs):
        calls.append(args)
        if len(calls) == n:
            raise KeyboardInterrupt
        return value(*args)

    return measure


# --- speed_threads.py -------------------------------------------------------------------------------------

ST_ARGS = ["--cells", "rnn", "--dtypes", "float64", "--rounds", "1", "--blocks", "1"]


def test_speed_threads_refuses_an_existing_json_then_overwrite_replaces_it(old, capsys, monkeypatch):
    monkeypatch.setattr(speed_threads, "measure", _never)
    _assert_refused(speed_threads.main([*ST_ARGS, "--json", str(old)]), capsys, old, "speed_threads.py")
    monkeypatch.undo()
    monkeypatch.setattr(speed_threads, "_available", lambda: ["minirnn", "torch"])
    monkeypatch.setattr(speed_threads, "_run_worker", lambda *a: 10.0 / a[4])  # threads
    report = _assert_replaced(speed_threads.main([*ST_ARGS, "--sizes", "medium", "--json", str(old),
                                                  "--overwrite"]), old)
    (row,) = report["rows"]
    assert row["minirnn"]["speedup"] == row["torch"]["speedup"] == 2.0


def test_speed_threads_ctrl_c_saves_the_rows_measured_and_exits_130(tmp_path, capsys, monkeypatch):
    out = tmp_path / "threads.json"
    monkeypatch.setattr(speed_threads, "_available", lambda: ["minirnn"])
    monkeypatch.setattr(speed_threads, "_run_worker", _raise_on_call(3, lambda *a: 5.0))  # row 2's first
    code = speed_threads.main([*ST_ARGS, "--sizes", "medium", "large", "--json", str(out)])
    line = _one_line(capsys)
    assert code == 130
    assert line == (f"speed_threads.py: interrupted after 1 of 2 rows; wrote them to {out} "
                    f'(marked "interrupted": true)')
    report = json.loads(out.read_text())
    assert report["interrupted"] is True and [r["size"] for r in report["rows"]] == ["medium"]


def test_speed_threads_ctrl_c_without_json_or_before_a_row_writes_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(speed_threads, "_available", lambda: ["minirnn"])
    monkeypatch.setattr(speed_threads, "_run_worker", _raise_on_call(3, lambda *a: 5.0))
    assert speed_threads.main([*ST_ARGS, "--sizes", "medium", "large"]) == 130
    said = "speed_threads.py: interrupted after 1 of 2 rows; nothing written (no --json given)"
    assert _one_line(capsys) == said
    monkeypatch.setattr(speed_threads, "_run_worker", _raise_on_call(1, lambda *a: 5.0))
    assert speed_threads.main([*ST_ARGS, "--sizes", "medium", "--json", str(tmp_path / "t.json")]) == 130
    assert _one_line(capsys) == "speed_threads.py: interrupted before the first result; nothing written"
    assert os.listdir(tmp_path) == []


def test_a_worker_stopped_by_ctrl_c_is_a_ctrl_c_in_the_parent(monkeypatch):
    done = subprocess.CompletedProcess([], 130, stdout="", stderr="")
    monkeypatch.setattr(speed_threads.subprocess, "run", lambda *a, **k: done)
    with pytest.raises(KeyboardInterrupt):
        speed_threads._run_worker("minirnn", "medium", "rnn", "float64", 1, 1)


# --- step_gemm.py -----------------------------------------------------------------------------------------

SG_ARGS = ["--B", "2", "--H", "2", "--blocks", "1", "--cells", "rnn"]


def _noop():
    return None


def test_step_gemm_refuses_an_existing_json_then_overwrite_replaces_it(old, capsys, monkeypatch):
    monkeypatch.setattr(step_gemm, "time_products", _never)
    _assert_refused(step_gemm.main([*SG_ARGS, "--json", str(old)]), capsys, old, "step_gemm.py")
    monkeypatch.undo()
    monkeypatch.setattr(step_gemm, "_contenders", lambda a, b: {"numpy": (_noop, 1), "torch": (_noop, 1)})
    report = _assert_replaced(step_gemm.main([*SG_ARGS, "--dtypes", "float64", "--json", str(old),
                                              "--overwrite"]), old)
    assert set(report["results"]["float64"]) == {"rnn forward", "rnn backward"}


def test_step_gemm_ctrl_c_saves_the_products_timed_and_exits_130(tmp_path, capsys, monkeypatch):
    out = tmp_path / "gemm.json"
    product = _raise_on_call(250, lambda: None)          # 3 + 200 calls per product: in the second one
    monkeypatch.setattr(step_gemm, "_contenders", lambda a, b: {"numpy": (product, 1)})
    code = step_gemm.main([*SG_ARGS, "--dtypes", "float32", "float64", "--json", str(out)])
    line = _one_line(capsys)
    assert code == 130
    assert line == (f"step_gemm.py: interrupted after 1 of 4 products; wrote them to {out} "
                    f'(marked "interrupted": true)')
    report = json.loads(out.read_text())
    assert report["interrupted"] is True and list(report["results"]) == ["float32"]
    assert list(report["results"]["float32"]) == ["rnn forward"]


# --- product_threads.py -----------------------------------------------------------------------------------

def test_product_threads_refuses_an_existing_json_then_overwrite_replaces_it(old, capsys, monkeypatch):
    monkeypatch.setattr(product_threads, "speed_up", _never)
    code = product_threads.main(["--sizes", "1", "--json", str(old)])
    _assert_refused(code, capsys, old, "product_threads.py")
    monkeypatch.setattr(product_threads, "speed_up", lambda B, H, dtype: (2.0, 1.0))
    report = _assert_replaced(product_threads.main(["--sizes", "1", "--json", str(old), "--overwrite"]), old)
    assert [(r["dtype"], r["us_1"], r["us_2"]) for r in report["rows"]] == [("float32", 2.0, 1.0),
                                                                             ("float64", 2.0, 1.0)]


def test_product_threads_ctrl_c_saves_the_rows_and_exits_130(tmp_path, capsys, monkeypatch):
    out = tmp_path / "p.json"
    monkeypatch.setattr(product_threads, "speed_up", _raise_on_call(2, lambda *a: (2.0, 1.0)))
    assert product_threads.main(["--sizes", "1", "--json", str(out)]) == 130
    assert "interrupted after 1 of 2 rows; wrote them to" in _one_line(capsys)
    report = json.loads(out.read_text())
    assert report["interrupted"] is True and len(report["rows"]) == 1


# --- threads.py -------------------------------------------------------------------------------------------

def _fake_threads_measure(steps, repeats, results):
    results["copy"] = {"seconds_per_step": {"default": 0.01, "1": 0.01, "all": 0.02}, "default_vs_best": 1.0}
    return results


def test_threads_refuses_its_committed_default_and_an_existing_json_then_overwrite_replaces_it(
        old, capsys, monkeypatch):
    threads = _load("threads")
    committed = pathlib.Path(ROOT, "benchmarks", "results", "threads.json")
    before = committed.read_bytes()
    monkeypatch.setattr(threads, "measure", _never)
    assert threads.main([]) == 2
    assert "threads.json' already exists; replace it with --overwrite" in _one_line(capsys)
    assert committed.read_bytes() == before
    _assert_refused(threads.main(["--json", str(old)]), capsys, old, "threads.py")
    monkeypatch.setattr(threads, "measure", _fake_threads_measure)
    report = _assert_replaced(threads.main(["--json", str(old), "--overwrite"]), old)
    assert report["results"]["copy"]["default_vs_best"] == 1.0


def test_threads_ctrl_c_saves_the_workloads_timed_and_exits_130(tmp_path, capsys, monkeypatch):
    threads = _load("threads")
    for key in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS"):          # else a note on stderr first
        monkeypatch.delenv(key, raising=False)
    out = tmp_path / "t.json"

    def measure(steps, repeats, results):
        _fake_threads_measure(steps, repeats, results)
        raise KeyboardInterrupt

    monkeypatch.setattr(threads, "measure", measure)
    assert threads.main(["--json", str(out)]) == 130
    said = f"threads.py: interrupted after 1 of {len(threads.WORKLOADS)} workloads; wrote them to {out}"
    assert _one_line(capsys).startswith(said)
    assert json.loads(out.read_text())["interrupted"] is True


# --- speed.py and minirnn bench ---------------------------------------------------------------------------

def _no_run(monkeypatch):
    monkeypatch.setattr(speed, "_measure", _never)
    monkeypatch.setattr(speed, "_in_fresh_process", _never)


def test_speed_refuses_an_out_folder_holding_results_and_its_committed_default(tmp_path, capsys, monkeypatch):
    _no_run(monkeypatch)
    monkeypatch.chdir(ROOT)
    committed = pathlib.Path(ROOT, "benchmarks", "results", "speed.json")
    before = committed.read_bytes()
    assert speed.main([]) == 2                                       # benchmarks/results: the committed run
    assert "--out 'benchmarks/results' already holds speed.json" in _one_line(capsys)
    assert committed.read_bytes() == before
    (tmp_path / "speed.json").write_bytes(OLD)
    assert speed.main(["--out", str(tmp_path), "--no-plot"]) == 2
    assert _one_line(capsys) == (f"minirnn bench: --out {str(tmp_path)!r} already holds speed.json; replace "
                                 f"it with --overwrite or choose another --out")
    assert (tmp_path / "speed.json").read_bytes() == OLD
    chart = tmp_path / "charts"
    chart.mkdir()
    (chart / "growth.png").write_bytes(OLD)                          # a chart this run would draw counts too
    assert speed.main(["--out", str(chart)]) == 2
    assert "already holds growth.png" in _one_line(capsys)
    no_growth = speed.outputs(speed.parse_args(["--out", str(chart), "--no-growth"]))
    assert _output.why_not("--out", str(chart), no_growth) is None   # no growth chart: nothing in the way


def _in_process(monkeypatch):
    """Let speed.main run here: thread variables already right (no fresh process), no CPU pinning."""
    for key, value in speed._thread_env(1).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setenv("MINIRNN_BLAS", "auto")
    monkeypatch.setattr(speed, "pin_to_one_cpu", lambda: None)


MACHINE = {"load_avg_1_5_15": [0.5, 0.5, 0.5]}


def test_speed_overwrite_replaces_the_json(tmp_path, capsys, monkeypatch):
    (tmp_path / "speed.json").write_bytes(OLD)
    _in_process(monkeypatch)

    def measure(args, report):
        report.update(machine_before=MACHINE, machine_after=MACHINE)
        report["rows"].append({"size": "tiny"})

    monkeypatch.setattr(speed, "_measure", measure)
    code = speed.main(["--out", str(tmp_path), "--no-plot", "--overwrite"])
    report = _assert_replaced(code, tmp_path / "speed.json")
    assert report["rows"] == [{"size": "tiny"}]


def test_speed_ctrl_c_saves_the_rows_and_exits_130(tmp_path, capsys, monkeypatch):
    _in_process(monkeypatch)

    def measure(args, report):
        report["machine_before"] = MACHINE
        report["rows"].append({"size": "tiny", "cell": "rnn"})
        raise KeyboardInterrupt

    monkeypatch.setattr(speed, "_measure", measure)
    code = speed.main(["--out", str(tmp_path), "--sizes", "tiny", "--dtypes", "float64"])
    line = _one_line(capsys)
    assert code == 130
    assert line.startswith("minirnn bench: interrupted after 1 of 3 rows; wrote them to")
    assert line.endswith('speed.json (marked "interrupted": true)')
    report = json.loads((tmp_path / "speed.json").read_text())
    assert report["interrupted"] is True and report["rows"] == [{"size": "tiny", "cell": "rnn"}]
    assert sorted(os.listdir(tmp_path)) == ["speed.json"]            # no charts of an interrupted run


def test_the_parent_of_a_fresh_process_waits_for_it_to_save_after_ctrl_c(monkeypatch, capsys):
    class Child:
        waits = 0

        def __init__(self, *args, **kwargs):
            pass

        def wait(self):
            Child.waits += 1
            if Child.waits == 1:
                raise KeyboardInterrupt                              # the Ctrl-C reaches both processes
            return 130                                               # the child saved, said so and left

    monkeypatch.setattr(speed.subprocess, "Popen", Child)
    args = speed.parse_args(["--threads", "2"])
    assert speed._in_fresh_process(args, ["--threads", "2"]) == 130 and Child.waits == 2
    assert capsys.readouterr().err == ""                             # the child's line is the only one


def test_minirnn_bench_refuses_an_out_folder_holding_results(tmp_path, capsys):
    from minirnn import cli

    (tmp_path / "speed.json").write_bytes(OLD)
    tiny = ["--sizes", "tiny", "--cells", "rnn", "--dtypes", "float64", "--reps", "1", "--train-steps", "0",
            "--no-startup", "--no-memory", "--no-growth", "--no-plot", "--no-jax", "--no-torch"]
    assert cli.main(["bench", *tiny, "--out", str(tmp_path)]) == 2
    assert _one_line(capsys).startswith(f"minirnn bench: --out {str(tmp_path)!r} already holds speed.json")
    assert (tmp_path / "speed.json").read_bytes() == OLD


# --- the helpers and the .jsonl logs ----------------------------------------------------------------------

def test_mistaken_paths_are_one_sentence_before_measuring(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(step_gemm, "time_products", _never)
    missing = tmp_path / "no" / "r.json"
    assert step_gemm.main(["--json", str(missing)]) == 2
    assert _one_line(capsys) == (f"step_gemm.py: --json {str(missing)!r}: the folder {str(missing.parent)!r} "
                                 f"does not exist")
    assert step_gemm.main(["--json", str(tmp_path), "--overwrite"]) == 2
    assert "is a folder, not a file" in _one_line(capsys)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(old, monkeypatch):
    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(os, "fsync", broken)                         # the new bytes never reach the disk
    with pytest.raises(OSError, match="disk full"):
        _output.write_json(old, {"new": 1})
    assert old.read_bytes() == OLD and os.listdir(old.parent) == [old.name]


def test_appending_ends_a_torn_line_and_reading_skips_it(tmp_path):
    log = tmp_path / "runs.jsonl"
    log.write_text('{"seed": 0}\n{"seed": 1, "acc')                  # a run killed while writing
    _output.append_jsonl(log, {"seed": 2})
    assert log.read_text() == '{"seed": 0}\n{"seed": 1, "acc\n{"seed": 2}\n'
    assert [r["seed"] for r in _output.read_jsonl(log)] == [0, 2]


ROWS = {
    "video": {"label": "digit", "seed": 0},
    "translation": {"data": "dates", "attention": "additive", "seed": 0, "exact_match": 1.0, "seconds": 1},
    "learning_tmaze": {"cell": "gru", "seed": 0, "success": 1.0, "steps_to_bar": 100, "seconds": 1},
}


@pytest.mark.parametrize("name", list(ROWS))
def test_ctrl_c_in_a_log_appender_keeps_old_lines_and_finished_runs(name, tmp_path, capsys, monkeypatch):
    module = _load(name)
    log = tmp_path / "results.jsonl"
    log.write_text('{"earlier": "run"}\n')
    monkeypatch.setattr(module, "run", _raise_on_call(2, lambda *args: dict(ROWS[name])))  # 2nd run: Ctrl-C
    argv = {"video": ["--rows", "digit", "--seeds", "0", "1", "--results", str(log)],
            "translation": ["--run", "dates", "--seeds", "2"],
            "learning_tmaze": ["--rows", "corridor50", "--cells", "gru", "--seeds", "0", "1", "--results",
                               str(log), "--figure", str(tmp_path / "f.png")]}[name]
    monkeypatch.setattr(module, "RESULTS", str(log), raising=False)   # translation.py's fixed log
    assert module.main(argv) == 130
    said = f"{name}.py: interrupted; this run appended 1 row(s) to {log}, the run under way was dropped"
    assert _one_line(capsys) == said
    lines = log.read_text().splitlines(keepends=True)
    assert len(lines) == 2 and lines[0] == '{"earlier": "run"}\n' and lines[1].endswith("\n")
    assert json.loads(lines[1]) == ROWS[name]
