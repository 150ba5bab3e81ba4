"""gradcheck never passes what it did not check: a missing gradient fails, a definite error reads "wrong", a function
that does not read its parameters is named, the caller's arrays come back even when ``f`` raises, long checks show
progress, and minirnn is imported only when its suite is asked for."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from gradcheck import progress
from gradcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]


def tanh_layer(seed=0):
    rng = np.random.default_rng(seed)
    params = {"x": rng.normal(size=(4, 3)), "W": rng.normal(size=(3, 5)), "b": rng.normal(size=5)}
    G = rng.normal(size=(4, 5))

    def loss(p):
        return float(np.sum(np.tanh(p["x"] @ p["W"] + p["b"]) * G))

    dz = (1 - np.tanh(params["x"] @ params["W"] + params["b"]) ** 2) * G
    grads = {"x": dz @ params["W"].T, "W": params["x"].T @ dz, "b": dz.sum(0)}
    return params, loss, grads


PARTIAL = '''
import numpy as np
from gradcheck.example import loss_and_grads as full, make_params

def loss_and_grads(p):
    loss, grads = full(p)
    return loss, {"x": grads["x"], "h0": grads["h0"]}           # 2 of the 5 parameters
'''


def test_a_target_returning_only_some_gradients_fails(tmp_path, capsys, monkeypatch):
    (tmp_path / "partial.py").write_text(PARTIAL)
    monkeypatch.chdir(tmp_path)
    assert main(["--target", "partial.py:loss_and_grads"]) == 1
    out = capsys.readouterr().out
    assert "MISSING: no analytic gradient for Wx, Wh, b" in out and "FAILED: 2 of 5 tensors" in out, out
    assert main(["--target", "partial.py:loss_and_grads", "--allow-missing"]) == 0     # asked otherwise
    assert "not checked (no gradient returned, --allow-missing): Wx, Wh, b" in capsys.readouterr().out


@pytest.mark.parametrize("scale", [1.01, 1.001])
def test_a_definite_scale_error_reads_wrong(scale):
    params, loss, grads = tanh_layer()
    report = gradcheck.check_gradients(loss, params, {**grads, "W": grads["W"] * scale})
    assert [r.name for r in report.failed_rows] == ["W"]
    assert report.row("W").reading == "wrong" and report.row("x").reading == "good"


def test_a_failure_at_round_off_level_reads_suspicious():
    params, loss, grads = tanh_layer()
    # exact gradients, but no tolerance at all: only round-off (~1e-10) separates them
    report = gradcheck.check_gradients(loss, params, grads, rtol=0.0, atol=1e-13)
    assert not report.passed
    assert {r.reading for r in report.failed_rows} == {"suspicious"}


def test_a_function_that_ignores_its_parameters_is_named():
    params, _, grads = tanh_layer()
    frozen = {k: v.copy() for k, v in params.items()}
    report = gradcheck.check_gradients(lambda p: float(np.sum(np.tanh(frozen["x"] @ frozen["W"]))), params,
                                       {k: np.zeros_like(v) for k, v in grads.items()})
    assert not report.passed                                        # zero == zero is no evidence
    assert "f may not be reading the parameters" in report.error and "ERROR:" in str(report)


def test_failed_rows_is_a_property_like_passed():
    params, loss, grads = tanh_layer()
    report = gradcheck.check_gradients(loss, params, grads)
    assert report.failed_rows == [] and report.passed is True


@pytest.mark.parametrize("method", ["full", "direction"])
def test_the_callers_array_is_restored_when_f_raises(method):
    params, loss, grads = tanh_layer()
    before = {k: v.copy() for k, v in params.items()}
    calls = {"n": 0}

    def failing(p):
        calls["n"] += 1
        if calls["n"] == 4:
            raise RuntimeError("the user's function broke")
        return loss(p)

    with pytest.raises(RuntimeError, match="broke"):
        gradcheck.check_gradients(failing, params, grads, method=method)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])         # bit for bit, no eps left behind
    with pytest.raises(RuntimeError):
        calls["n"] = 0
        gradcheck.numerical_gradient(lambda: failing(params), params["W"])
    np.testing.assert_array_equal(params["W"], before["W"])


def test_a_long_check_shows_progress_and_suggests_sampling(monkeypatch, capsys):
    monkeypatch.setattr(progress, "AUTO_SECONDS", 0.0)             # every check counts as long
    monkeypatch.setattr(progress, "_WARMUP_SECONDS", 0.0)
    params, loss, grads = tanh_layer()
    assert gradcheck.check_gradients(loss, params, grads).passed
    err = capsys.readouterr().err
    assert "checking 32 entries will take about" in err and "--method sampled" in err, err
    assert "32/32 entries" in err and "left" in err


def test_a_short_check_is_silent(capsys):
    params, loss, grads = tanh_layer()
    gradcheck.check_gradients(loss, params, grads)
    assert capsys.readouterr().err == ""


def _run(code):
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)), timeout=300)


def test_a_target_check_never_imports_minirnn():
    result = _run("""
        import sys
        from gradcheck.cli import main
        code = main(["--target", "gradcheck.example:loss_and_grads"])
        print("minirnn loaded:", any(m.split(".")[0] == "minirnn" for m in sys.modules), code)
    """)
    assert "minirnn loaded: False 0" in result.stdout, result.stdout + result.stderr


def test_without_target_the_suite_is_named_before_it_is_loaded():
    result = _run("""
        import sys
        from gradcheck.cli import main
        sys.exit(main(["--cell", "gru", "--level", "cell", "--lengths", "no", "--layers", "1",
                       "--bidirectional", "no"]))
    """)
    assert result.returncode == 0, result.stderr
    assert "running the suite minirnn.analysis.gradient_suite:run_suite" in result.stderr


def test_json_into_a_missing_folder_is_one_sentence_before_any_check(tmp_path, capsys):
    assert main(["--target", "gradcheck.example:loss_and_grads", "--json", str(tmp_path / "no" / "r.json")]) == 2
    captured = capsys.readouterr()
    assert captured.out == "" and "does not exist" in captured.err and len(captured.err.splitlines()) == 1


def test_minirnn_gradcheck_runs_the_suite(capsys):
    from minirnn.cli import main as minirnn_main
    assert minirnn_main(["gradcheck", "--cell", "lstm", "--level", "cell", "--lengths", "no", "--layers", "1",
                         "--bidirectional", "no", "--json", os.devnull]) == 0
    assert "PASSED" in capsys.readouterr().out
