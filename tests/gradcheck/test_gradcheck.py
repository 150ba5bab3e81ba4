"""Tests of the stand-alone gradient checker: its numerics against closed forms, its strictness on deliberately broken
copies of minirnn's cells, its report, its command and its independence from minirnn."""
import ast
import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import gradcheck
from gradcheck.cli import main

ROOT = Path(__file__).resolve().parents[2]


def tanh_layer(seed=0):
    """params, loss, closed-form grads of L = sum(tanh(x W^T + b) * G): x (3, 4), W (5, 4), b (5,)."""
    rng = np.random.default_rng(seed)
    params = {"x": rng.normal(size=(3, 4)), "W": rng.normal(scale=0.5, size=(5, 4)), "b": rng.normal(size=5)}
    G = rng.normal(size=(3, 5))

    def loss(p):
        return float(np.sum(np.tanh(p["x"] @ p["W"].T + p["b"]) * G))

    h = np.tanh(params["x"] @ params["W"].T + params["b"])
    da = (1 - h ** 2) * G
    grads = {"x": da @ params["W"], "W": da.T @ params["x"], "b": da.sum(0)}
    return params, loss, grads


# -- numerics -------------------------------------------------------------------------------------------------------------
def test_numerical_gradient_of_linear_map_matches_closed_form():
    rng = np.random.default_rng(1)
    W, x, G = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    dW = gradcheck.numerical_gradient(lambda: W @ x, W, G)            # d sum((W x) * G) / dW = outer(G, x)
    dx = gradcheck.numerical_gradient(lambda x_: W @ x_, x, G)         # CS231n one-argument style
    assert dW.shape == W.shape and np.max(np.abs(dW - np.outer(G, x))) < 1e-9
    assert np.max(np.abs(dx - W.T @ G)) < 1e-9


def test_numerical_gradient_of_scalar_function_without_df():
    x = np.array([0.3, -1.2, 2.0])
    num = gradcheck.numerical_gradient(lambda: np.sum(np.sin(x)), x)
    assert np.max(np.abs(num - np.cos(x))) < 1e-9


def test_numerical_gradient_asks_for_df_when_f_returns_an_array():
    x = np.ones(3)
    with pytest.raises(ValueError, match="df"):
        gradcheck.numerical_gradient(lambda: 2 * x, x)


def test_perturbation_is_restored_bit_for_bit():
    # (3e-8 + 1e-6) - 1e-6 != 3e-8 in float64: restoring by subtraction would drift; we must write the original back
    assert (3e-8 + 1e-6) - 1e-6 != 3e-8
    params, loss, grads = tanh_layer()
    params["W"][0, 0] = 3e-8
    before = {k: v.copy() for k, v in params.items()}
    ids = {k: id(v) for k, v in params.items()}
    for method in gradcheck.METHODS:
        gradcheck.check_gradients(loss, params, grads, method=method)
    x = np.full(4, 3e-8)
    gradcheck.numerical_gradient(lambda: np.sum(x ** 2), x)
    assert all(np.array_equal(params[k], before[k]) and id(params[k]) == ids[k] for k in params)
    assert np.array_equal(x, np.full(4, 3e-8))


def test_float32_is_refused_with_the_reason_and_the_cast():
    params, loss, grads = tanh_layer()
    params["W"] = params["W"].astype(np.float32)
    with pytest.raises(ValueError, match=r"params\['W'\] is float32.*round-off.*astype\(np\.float64\)"):
        gradcheck.check_gradients(loss, params, grads)
    with pytest.raises(ValueError, match="float32"):
        gradcheck.numerical_gradient(lambda: 0.0, np.zeros(2, dtype=np.float32))


def test_bad_grads_are_named():
    params, loss, grads = tanh_layer()
    with pytest.raises(KeyError, match="'b'"):
        gradcheck.check_gradients(loss, params, {"x": grads["x"], "W": grads["W"]})
    with pytest.raises(ValueError, match=r"grads\['W'\] must have the shape .*\(5, 4\), got \(4, 5\)"):
        gradcheck.check_gradients(loss, params, {**grads, "W": grads["W"].T})


def test_correct_gradients_pass_with_round_off_sized_errors():
    params, loss, grads = tanh_layer()
    report = gradcheck.check_gradients(loss, params, grads)
    assert report.passed and [r.name for r in report.rows] == ["x", "W", "b"]
    for row in report.rows:
        assert row.checked == params[row.name].size
        assert row.max_abs_error < 1e-8 and row.norm_rel_error < 1e-8 and row.reading == "good"


def test_a_gradient_off_by_a_tenth_of_a_percent_fails_by_default():
    params, loss, grads = tanh_layer()
    report = gradcheck.check_gradients(loss, params, {**grads, "W": grads["W"] * 1.001})
    assert not report.passed and [r.name for r in report.failed_rows] == ["W"]
    # entry-wise relative error of a 0.1% scale is 0.001 / 2.001: torch's rtol=1e-3 would let it through
    assert report.row("W").max_rel_error == pytest.approx(0.001 / 2.001, rel=1e-3)
    assert report.row("W").reading == "wrong"                  # a definite error, far above round-off


@pytest.mark.parametrize("method", ["sampled", "direction"])
def test_cheap_methods_catch_the_scale_bug_and_pass_correct_code(method):
    params, loss, grads = tanh_layer()
    good = gradcheck.check_gradients(loss, params, grads, method=method, num_samples=5, seed=3)
    bad = gradcheck.check_gradients(loss, params, {**grads, "b": grads["b"] * 1.001}, method=method, num_samples=5,
                                    seed=3)
    assert good.passed and [r.name for r in bad.failed_rows] == ["b"]
    expected_checked = {"sampled": [5, 5, 5], "direction": [1, 1, 1]}[method]
    assert [r.checked for r in good.rows] == expected_checked


def test_direction_check_compares_with_the_analytic_directional_derivative():
    params, loss, grads = tanh_layer()
    report = gradcheck.check_gradients(loss, params, grads, method="direction", seed=7, names=["W"])
    v = np.random.default_rng(7).standard_normal(params["W"].shape)   # the first direction drawn with seed 7
    assert report.rows[0].worst_analytic == pytest.approx(np.sum(grads["W"] * v), rel=1e-12)
    assert report.rows[0].worst_numeric == pytest.approx(np.sum(grads["W"] * v), rel=1e-7)


def test_cs231n_array_pattern_in_check_gradients():
    rng = np.random.default_rng(2)
    W, x, G = rng.normal(size=(3, 4)), rng.normal(size=4), rng.normal(size=3)
    report = gradcheck.check_gradients(lambda p: p["W"] @ x, {"W": W}, {"W": np.outer(G, x)}, df=G)
    assert report.passed and report.row("W").max_abs_error < 1e-9


def test_relu_kink_is_flagged_and_excluded():
    # L = sum(relu(W x) * G); W[0] x = 1e-7 sits inside the +-eps steps of W[0, 0] and W[0, 1] (x = 1, 2)
    x, G = np.array([1.0, 2.0]), np.array([1.0, -1.0])
    W = np.array([[-2.0 + 1e-7, 1.0], [0.5, 0.25]])
    params = {"W": W}
    loss = lambda p: float(np.sum(np.maximum(p["W"] @ x, 0) * G))          # noqa: E731
    grads = {"W": np.outer(G * (W @ x > 0), x)}
    blind = gradcheck.check_gradients(loss, params, grads)
    aware = gradcheck.check_gradients(loss, params, grads, preactivations=lambda p: p["W"] @ x)
    assert not blind.passed and blind.row("W").worst_index[0] == 0
    assert aware.passed and aware.row("W").kinks == 2
    assert aware.row("W").worst_index[0] == 1                     # the worst entry shown is one away from the kink


def test_eps_sweep_is_v_shaped_and_plots(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from gradcheck.plot import plot_eps_sweep

    x = np.array([0.7, -0.4])
    sweep = gradcheck.eps_sweep(lambda p: float(np.sum(np.exp(p["x"]))), {"x": x}, {"x": np.exp(x)})
    assert sweep["eps"] == [10.0 ** -k for k in range(2, 11)]
    err = np.array(sweep["max_rel_error"]["x"])
    best = int(np.argmin(err))
    assert 2 <= best <= 6                                # the bottom of the V is at eps 1e-4..1e-8
    assert err[0] > 1e3 * err[best] and err[-1] > 1e2 * err[best]
    assert err[0] == pytest.approx(np.exp(0.7) * 1e-4 / 6 / (2 * np.exp(0.7)), rel=0.05)  # truncation eps^2 f'''/6
    fig = plot_eps_sweep(sweep, tmp_path / "sweep.png")
    assert (tmp_path / "sweep.png").stat().st_size > 1000
    [line] = [line for line in fig.axes[0].lines if line.get_label() == "x"]      # one line per tensor
    assert np.allclose(line.get_ydata(), err)


def test_eps_sweep_figure_has_a_legend_for_tensors_guides_chosen_eps_and_bands(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from PIL import Image

    from gradcheck.plot import plot_eps_sweep

    x, w = np.array([0.7, -0.4]), np.array([0.3])
    params = {"x": x, "w": w}
    sweep = gradcheck.eps_sweep(lambda p: float(np.sum(np.exp(p["x"])) * p["w"][0]), params,
                                {"x": np.exp(x) * w[0], "w": np.array([np.sum(np.exp(x))])})
    fig = plot_eps_sweep(sweep, tmp_path / "sweep.png", chosen_eps=1e-5)
    ax = fig.axes[0]
    legend = ax.get_legend()
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts == ["x", "w", r"truncation $\propto \varepsilon^2$", r"round-off $\propto u/\varepsilon$",
                     r"chosen $\varepsilon = 10^{-5}$", r"good: error $< 10^{-7}$", r"wrong: error $> 10^{-2}$"]
    assert min(t.get_fontsize() for t in legend.get_texts()) >= 9
    assert min(t.get_fontsize() for t in [ax.xaxis.label, ax.yaxis.label, ax.title, *ax.get_xticklabels()]) >= 9
    lines = {line.get_label(): line for line in ax.lines}
    eps = np.array(sweep["eps"])
    trunc, roundoff = lines[texts[2]], lines[texts[3]]
    # the guides have slopes 2 and -1 on log-log axes, anchored at the median error at the largest/smallest eps
    tx, ty = np.log10(trunc.get_xdata()), np.log10(trunc.get_ydata())
    rx, ry = np.log10(roundoff.get_xdata()), np.log10(roundoff.get_ydata())
    assert np.polyfit(tx, ty, 1)[0] == pytest.approx(2) and np.polyfit(rx, ry, 1)[0] == pytest.approx(-1)
    first = np.median([sweep["max_rel_error"][k][0] for k in ("x", "w")])
    assert np.interp(np.log10(eps[0]), tx, ty) == pytest.approx(np.log10(first))
    assert list(lines[texts[4]].get_xdata()) == [1e-5, 1e-5]                  # the vertical line at chosen_eps
    renderer = fig.canvas.get_renderer()
    assert legend.get_window_extent(renderer).y1 < ax.get_window_extent(renderer).y0   # below, hiding no data
    with Image.open(tmp_path / "sweep.png") as png:
        assert png.info["dpi"][0] == pytest.approx(150, abs=0.5)


def test_cli_sweep_marks_the_eps_of_the_check(tmp_path, monkeypatch):
    import matplotlib
    matplotlib.use("Agg")
    import gradcheck.plot

    drawn = []
    original = gradcheck.plot.plot_eps_sweep
    monkeypatch.setattr(gradcheck.plot, "plot_eps_sweep", lambda *a, **k: drawn.append(original(*a, **k)))
    path = tmp_path / "sweep.png"
    assert main(["--target", "gradcheck.example:loss_and_grads", "--eps", "1e-5", "--sweep", str(path)]) == 0
    assert path.stat().st_size > 1000
    chosen = [line for line in drawn[0].axes[0].lines if line.get_label().startswith("chosen")]
    assert [list(line.get_xdata()) for line in chosen] == [[1e-5, 1e-5]]


# -- report ---------------------------------------------------------------------------------------------------------------
def test_reading_thresholds():
    assert [gradcheck.reading(e) for e in (1e-9, 1e-5, 1e-3, 0.5, np.nan)] == [
        "good", "fine only with kinks", "suspicious", "wrong", "wrong"]


def test_report_table_and_json():
    params, loss, grads = tanh_layer()
    report = gradcheck.check_gradients(loss, params, {**grads, "b": -grads["b"]}, title="demo")
    lines = str(report).splitlines()
    assert lines[0].startswith("demo: method=full eps=1e-06 rtol=1e-05")
    header = lines[1]
    assert all(lines[k].startswith(name) for k, name in zip((3, 4, 5), ("x", "W", "b")))
    col = header.index("result")
    assert [line[col:].strip() for line in lines[3:6]] == ["ok", "ok", "FAIL"]
    assert lines[-1] == "FAILED: 2 of 3 tensors within tolerance"
    data = json.loads(report.to_json())
    assert data["passed"] is False and data["rows"][2]["name"] == "b" and data["rows"][2]["shape"] == [5]
    assert data["rows"][2]["max_rel_error"] == pytest.approx(1.0) and data["rows"][2]["reading"] == "wrong"


# -- strictness on broken copies of minirnn's cells ---------------------------------------------------------------------
def broken(grads, name, corrupt):
    out = {k: v.copy() for k, v in grads.items()}
    out[name] = corrupt(out[name])
    return out


def sign_flip(g):
    g[3, 2] = -g[3, 2]
    return g


def swap_i_f(g, H=6):
    return np.concatenate([g[H:2 * H], g[:H], g[2 * H:]])


BUGS = {
    "sign flip of one entry": ("lstm", "W_hh", sign_flip),
    "0.1% scale": ("gru", "W_ih", lambda g: g * 1.001),
    "LSTM gates i and f swapped": ("lstm", "W_ih", swap_i_f),
    "transposed W_hh gradient": ("rnn_tanh", "W_hh", lambda g: g.T.copy()),
    "forgotten bias gradient": ("gru", "b_hh", np.zeros_like),
    "0.1% scale of dx": ("rnn_relu", "x", lambda g: g * 1.001),
    "0.1% scale of dc0": ("lstm", "c0", lambda g: g * 1.001),
}


@pytest.mark.parametrize("bug", list(BUGS))
def test_every_injected_bug_is_caught_and_located(bug):
    from minirnn.analysis.gradient_suite import cell_problem

    cell, name, corrupt = BUGS[bug]
    f, params, grads, pre = cell_problem(cell)
    assert gradcheck.check_gradients(f, params, grads, preactivations=pre).passed     # the correct copy passes
    report = gradcheck.check_gradients(f, params, broken(grads, name, corrupt), preactivations=pre)
    assert [r.name for r in report.failed_rows] == [name]
    if bug == "sign flip of one entry":
        assert report.row(name).worst_index == (3, 2)
        assert report.row(name).worst_numeric == pytest.approx(-report.row(name).worst_analytic, rel=1e-6)


# -- minirnn's own suite ----------------------------------------------------------------------------------------------------
def test_every_minirnn_cell_passes_with_and_without_padding():
    from minirnn.analysis.gradient_suite import CELLS, run_suite

    reports = run_suite(levels=("cell",), lengths=(False, True))
    assert len(reports) == 2 * len(CELLS) == 18                      # 4 cells, the 3 variants and the 2 LN cells
    failures = [(r.title, r.error, [row.name for row in r.failed_rows]) for r in reports if not r.passed]
    assert failures == []
    relu = [r for r in reports if "rnn_relu" in r.title]
    assert all(row.kinks == 0 for r in relu for row in r.rows)        # the default sizes keep clear of kinks


LAYER_CONFIGS = [(cell, k, bi, ln, "auto") for cell in ("rnn_tanh", "rnn_relu", "lstm", "gru")
                 for k, bi, ln in ((1, False, False), (2, True, True))] + [("rnn_tanh", 2, True, True, "numpy")] \
    + [(cell, 2, True, True, "auto") for cell in ("ln_lstm", "ln_gru")]


@pytest.mark.parametrize("cell,num_layers,bidirectional,lengths,backend", LAYER_CONFIGS)
def test_minirnn_layers_pass(cell, num_layers, bidirectional, lengths, backend):
    from minirnn.analysis.gradient_suite import layer_problem

    f, params, grads, pre, layer = layer_problem(cell, num_layers=num_layers, bidirectional=bidirectional,
                                                 lengths=lengths, backend=backend, T=4, B=3, I=3, H=4)
    report = gradcheck.check_gradients(f, params, grads, preactivations=pre)
    assert report.passed, str(report)
    expected = {"x", "h0", "weight_ih_l0", "weight_hh_l0", "bias_ih_l0", "bias_hh_l0"} | (
        {"c0"} if cell == "lstm" else set()) | ({"weight_hh_l1_reverse"} if bidirectional and num_layers == 2 else set())
    assert expected <= {r.name for r in report.rows}
    assert all(row.kinks == 0 for row in report.rows)
    assert all(np.array_equal(params[k], v) for k, v in layer.params.items())   # the layer's arrays, restored


def test_a_bug_deep_in_a_stacked_bidirectional_layer_is_located():
    from minirnn.analysis.gradient_suite import layer_problem

    f, params, grads, pre, layer = layer_problem("lstm", num_layers=2, bidirectional=True, lengths=True)
    bad = broken(grads, "weight_hh_l1_reverse", lambda g: g * 1.001)
    report = gradcheck.check_gradients(f, params, bad, method="sampled", num_samples=10)
    assert [r.name for r in report.failed_rows] == ["weight_hh_l1_reverse"]


def test_relu_preactivations_reproduce_the_cell_output():
    # the kink detector's own RNN loop must compute what minirnn's ReLU cell computes
    from minirnn.cells import rnn
    from minirnn.analysis.gradient_suite import _mask, _relu_preactivations, make_lengths

    rng = np.random.default_rng(5)
    x, h0 = rng.normal(size=(5, 3, 4)), rng.normal(size=(3, 6))
    W = (rng.normal(size=(6, 4)), rng.normal(size=(6, 6)) * 0.3, rng.normal(size=6), rng.normal(size=6))
    mask = _mask(make_lengths(5, 3), 5)
    out, h_n, _ = rnn.forward(x, h0, *W, mask=mask, nonlinearity="relu")
    pre = _relu_preactivations(x, h0[None], {(0, 0): W}, 1, 1, mask)
    assert len(pre) == 5
    for t in range(5):
        np.testing.assert_allclose(np.maximum(pre[t], 0), out[t][mask[t]], rtol=1e-12, atol=1e-14)


# -- the command --------------------------------------------------------------------------------------------------------
def test_cli_target_example_passes_and_writes_json(tmp_path, capsys):
    path = tmp_path / "r.json"
    assert main(["--target", "gradcheck.example:loss_and_grads", "--json", str(path)]) == 0
    out = capsys.readouterr().out
    assert "PASSED: 5 of 5 tensors within tolerance" in out
    data = json.loads(path.read_text())
    assert data["passed"] and [r["name"] for r in data["rows"]] == ["x", "h0", "Wx", "Wh", "b"]


STUDENT_CODE = '''
import numpy as np

def make_params(seed=0):
    rng = np.random.default_rng(seed)
    return {"W": rng.normal(size=(3, 2)), "x": rng.normal(size=2)}

G = np.array([1.0, -2.0, 0.5])

def loss_and_grads(p):
    z = p["W"] @ p["x"]
    loss = float(np.sum(np.tanh(z) * G))
    dz = (1 - np.tanh(z) ** 2) * G
    return loss, {"W": np.outer(dz, p["x"]), "x": 1.001 * (p["W"].T @ dz)}   # bug: dx scaled by 1.001
'''


def test_cli_target_file_with_a_bug_exits_1_and_names_the_tensor(tmp_path, capsys, monkeypatch):
    (tmp_path / "student_rnn.py").write_text(STUDENT_CODE)
    monkeypatch.chdir(tmp_path)
    assert main(["--target", "student_rnn.py:loss_and_grads"]) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines if line.rstrip().endswith("FAIL")] == ["x"]


def test_cli_usage_errors_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["--target", "no_such_module_xyz:f"]) == 2
    assert main(["--target", "nocolon"]) == 2
    (tmp_path / "nomake.py").write_text("def f(p):\n    return 0.0, {}\n")
    assert main(["--target", "nomake:f"]) == 2
    assert "make_params" in capsys.readouterr().err


def test_cli_suite_subset_exits_0_and_python_m_works():
    assert main(["--cell", "gru", "--level", "cell", "--lengths", "no"]) == 0
    result = subprocess.run([sys.executable, "-m", "gradcheck", "--cell", "rnn_tanh,lstm", "--level", "cell",
                             "--method", "sampled", "--samples", "3"], capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASSED: 4 of 4 configurations within tolerance" in result.stdout


# -- independence ---------------------------------------------------------------------------------------------------------
def test_checking_core_imports_nothing_from_minirnn():
    for path in (ROOT / "gradcheck").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                assert not any(a.name.split(".")[0] == "minirnn" for a in node.names), path
            if isinstance(node, ast.ImportFrom):
                assert (node.module or "").split(".")[0] != "minirnn", path
    allowed = set(sys.stdlib_module_names) | {"numpy", "__future__"}
    for path in (ROOT / "gradcheck").glob("*.py"):            # at import time: NumPy and the standard library only
        for node in ast.parse(path.read_text()).body:
            names = ([a.name for a in node.names] if isinstance(node, ast.Import) else
                     [node.module or ""] if isinstance(node, ast.ImportFrom) and not node.level else [])
            assert all(name.split(".")[0] in allowed for name in names), (path, names)
    code = ("import sys, gradcheck, gradcheck.cli, gradcheck.plot, gradcheck.example; "
            "assert not [m for m in sys.modules if m.startswith(('minirnn', 'matplotlib'))], sorted(sys.modules)")
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)
