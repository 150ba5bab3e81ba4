"""minirnn.vanishing: the per-step gradient norms are exact (PyTorch autograd, closed forms), the protocol-A bands
hold, the figures and the command line produce their files."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from minirnn import GRU, LSTM, RNN, cli  # noqa: E402
from minirnn.analysis import vanishing as v  # noqa: E402


def _torch_step_norms(layer, x, dh_last):
    """||dL/dh_t||, ||dL/dc_t|| (LSTM) and ||dL/dx_t|| from torch autograd, retain_grad on every h_t and c_t."""
    p = {k: torch.tensor(a) for k, a in layer.params.items()}
    kind = layer.cell.name
    cls = {"rnn": torch.nn.RNNCell, "lstm": torch.nn.LSTMCell, "gru": torch.nn.GRUCell}[kind]
    cell = cls(layer.input_size, layer.hidden_size).double()
    with torch.no_grad():
        cell.weight_ih.copy_(p["weight_ih_l0"]); cell.weight_hh.copy_(p["weight_hh_l0"])
        cell.bias_ih.copy_(p["bias_ih_l0"]); cell.bias_hh.copy_(p["bias_hh_l0"])
    T, B, _ = x.shape
    xs = [torch.tensor(x[t], requires_grad=True) for t in range(T)]
    h = torch.zeros(B, layer.hidden_size, dtype=torch.float64)
    c = torch.zeros_like(h)
    hs, cs = [], []
    for t in range(T):
        if kind == "lstm":
            h, c = cell(xs[t], (h, c))
            c.retain_grad(); cs.append(c)
        else:
            h = cell(xs[t], h)
        h.retain_grad(); hs.append(h)
    (h * torch.tensor(dh_last)).sum().backward()
    norm = lambda ts: np.array([t.grad.norm().item() for t in ts])  # noqa: E731
    return norm(hs), (norm(cs) if kind == "lstm" else None), norm(xs)


@pytest.mark.parametrize("cls", [RNN, LSTM, GRU])
def test_gradient_profile_matches_torch_autograd_with_retain_grad_on_every_step(cls):
    rng = np.random.default_rng(0)
    layer = cls(5, 7, seed=3)
    x, dh_last = rng.normal(size=(40, 3, 5)), rng.normal(size=(3, 7))
    prof = v.gradient_profile(layer, x, dh_last)
    th, tc, tx = _torch_step_norms(layer, x, dh_last)
    np.testing.assert_allclose(prof["h"], th, rtol=1e-8, atol=0)
    np.testing.assert_allclose(prof["x"], tx, rtol=1e-8, atol=0)
    if cls is LSTM:
        np.testing.assert_allclose(prof["c"], tc, rtol=1e-8, atol=0)
    else:
        assert prof["c"] is None
    np.testing.assert_array_equal(v.gradient_norms(layer, x, dh_last), prof["h"])


def test_gradient_profile_matches_torch_at_protocol_a_size_where_the_ratio_is_1e_minus_20():
    layer = LSTM(8, 64, seed=1)
    x = np.random.default_rng(1).normal(size=(100, 1, 8))
    prof = v.gradient_profile(layer, x, np.ones((1, 64)))
    th, tc, _ = _torch_step_norms(layer, x, np.ones((1, 64)))
    assert v.decay_ratio(prof["h"]) < 1e-15
    np.testing.assert_allclose(prof["h"], th, rtol=1e-8, atol=0)
    np.testing.assert_allclose(prof["c"], tc, rtol=1e-8, atol=0)


@pytest.mark.parametrize("g", [0.5, 0.9, 1.0, 1.1, 1.5])
def test_linear_rnn_with_scaled_orthogonal_w_hh_decays_exactly_as_g_to_the_distance(g):
    T, H = 60, 16
    layer = v.LinearRNN(4, H, seed=0)
    layer.params["weight_hh_l0"][...] = v.orthogonal(H, seed=1, gain=g)
    rng = np.random.default_rng(2)
    norms = v.gradient_norms(layer, rng.normal(size=(T, 2, 4)), rng.normal(size=(2, H)))
    np.testing.assert_allclose(norms / norms[-1], g ** (T - 1 - np.arange(T)), rtol=1e-10, atol=0)
    np.testing.assert_allclose(v.per_step_factor(norms), g, rtol=1e-10)
    sv = v.jacobian_singular_values(layer, rng.normal(size=(T, 1, 4)))
    np.testing.assert_allclose(sv, (g ** (T - 1 - np.arange(T)))[:, None] * np.ones((1, H)), rtol=1e-10)


def test_jacobian_singular_values_equal_those_of_the_explicit_product_of_step_jacobians():
    T, H = 12, 6
    layer = RNN(3, H, seed=0)
    x = np.random.default_rng(0).normal(size=(T, 1, 3))
    out = layer(x)[0][:, 0]                                          # (T, H): h_0 .. h_{T-1}
    W = layer.params["weight_hh_l0"]
    sv = v.jacobian_singular_values(layer, x)
    J = np.eye(H)                                                    # dh_{T-1}/dh_t, built from t = T-1 down
    for t in reversed(range(T)):
        np.testing.assert_allclose(sv[t], np.linalg.svd(J, compute_uv=False), rtol=1e-10)
        J = J @ (np.diag(1 - out[t] ** 2) @ W) if t > 0 else J


def test_protocol_a_bands_hold_over_16_seeds():
    res = v.protocol_a(seeds=16)
    for cell in ("rnn", "lstm", "gru"):
        d = res[cell]
        assert np.all((1e-30 < d["ratio"]) & (d["ratio"] < 1e-15)), (cell, d["ratio"])
        assert np.all((0.5 < d["factor"]) & (d["factor"] < 0.7)), (cell, d["factor"])
    assert np.all(res["lstm_fb3"]["ratio_c"] > 0.1), res["lstm_fb3"]["ratio_c"]
    assert res["protocol"]["dtype"] == "float64" and res["protocol"]["seeds"] == 16


def test_float32_would_underflow_which_is_why_measurements_are_float64():
    layer = RNN(8, 64, seed=0, dtype=np.float32)
    x = np.random.default_rng(0).normal(size=(300, 1, 8)).astype(np.float32)
    assert v.gradient_norms(layer, x, np.ones((1, 64), np.float32))[0] == 0


def test_forget_bias_is_set_as_the_total_bias_of_the_gate_block():
    lstm = v.set_gate_bias(LSTM(3, 4, seed=0), "f", 3.0)
    b = lstm.params["bias_ih_l0"] + lstm.params["bias_hh_l0"]
    np.testing.assert_array_equal(b[4:8], 3.0)
    with pytest.raises(ValueError, match="num_layers=1"):
        v.gradient_norms(LSTM(3, 4, num_layers=2), np.zeros((5, 1, 3)), np.ones((1, 4)))
    with pytest.raises(ValueError, match="dh_last must have shape"):
        v.gradient_norms(LSTM(3, 4), np.zeros((5, 2, 3)), np.ones((1, 4)))


def test_every_figure_function_returns_a_figure_and_writes_its_png(tmp_path):
    small = dict(T=20, hidden=8, input_size=3)
    figs = [
        v.plot_profiles(v.protocol_a(seeds=3, **small), tmp_path / "a.png"),
        v.plot_gain_sweep(v.gain_sweep(seeds=2, **small), tmp_path / "b.png"),
        v.plot_heatmap(v.gain_scale_heatmap(gains=[0.8, 1.2], scales=[1e-3, 1.0], seeds=2, **small),
                       tmp_path / "c.png"),
        v.plot_gate_bias(v.gate_bias_sweep(biases=(0.0, 3.0), seeds=2, **small), tmp_path / "d.png"),
        v.plot_spectra(v.spectra(**small), tmp_path / "e.png"),
        v.plot_learnability(v.learnability(("gru", "irnn"), Ts=(5, 10), seeds=2, steps=3, hidden=8, batch=4,
                                           n_jobs=1), tmp_path / "f.png"),
        v.plot_defaults(v.defaults_profiles(("lstm",), seeds=2, **small), tmp_path / "g.png"),
        v.plot_clipping(v.clipping_traces(T=10, hidden=8, steps=5, batch=4, seeds=2), tmp_path / "h.png"),
        v.plot_cell_profiles(v.cell_profiles(("rnn", "lstm"), T=10, hidden=8, seeds=2, steps=3, batch=4),
                             tmp_path / "i.png"),
    ]
    for fig in figs:
        assert isinstance(fig, matplotlib.figure.Figure)
        plt.close(fig)
    assert all((tmp_path / f"{c}.png").stat().st_size > 1000 for c in "abcdefghi")


def test_cli_vanishing_writes_figures_numbers_and_a_summary_table(tmp_path, capsys):
    code = cli.main(["vanishing", "--cells", "rnn", "lstm", "gru", "--T", "30", "--hidden", "8", "--seeds", "2",
                     "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    for name in ("profiles.png", "profiles.json", "profiles.csv", "summary.txt"):
        assert (tmp_path / name).stat().st_size > 0
    data = json.loads((tmp_path / "profiles.json").read_text())
    assert data["protocol"]["T"] == 30 and len(data["lstm"]["ratio"]) == 2
    out = capsys.readouterr().out
    assert "first step" in out and "mid-range factor" in out and "LSTM forget bias 3" in out


def test_cli_vanishing_runs_a_selected_experiment(tmp_path):
    code = cli.main(["vanishing", "--cells", "rnn", "--T", "15", "--hidden", "8", "--seeds", "2", "--spectra",
                     "--gain", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    assert (tmp_path / "spectra.png").exists() and (tmp_path / "gain.png").exists()
