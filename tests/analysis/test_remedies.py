"""The profile descriptions (first-step drop, mid-range factor) against closed forms; the Pascanu quantities at
PyTorch's init; Keras' defaults against a real Keras layer; the learnability sweep; the sweep runner's resume and
backends; the house style of every figure."""
import json

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minirnn import LSTM, cli  # noqa: E402
from minirnn.analysis import remedies, style, sweep  # noqa: E402
from minirnn.analysis import vanishing as v  # noqa: E402


@pytest.mark.parametrize("g", [0.7, 1.0, 1.3])
def test_first_step_drop_and_mid_range_factor_recover_g_of_the_linear_rnn_exactly(g):
    layer = v.LinearRNN(3, 16, seed=0)
    layer.params["weight_hh_l0"][...] = v.orthogonal(16, 0, g)
    norms = v.gradient_norms(layer, np.random.default_rng(0).normal(size=(40, 1, 3)), np.ones((1, 16)))
    np.testing.assert_allclose(v.first_step_drop(norms), g, rtol=1e-12)
    np.testing.assert_allclose(v.mid_range_factor(norms), g, rtol=1e-10)


def test_forget_bias_3_profile_drops_at_the_first_step_then_stays_flat_which_one_mean_misdescribes():
    res = v.protocol_a(("lstm",), T=100, hidden=64, input_size=8, seeds=4, forget_bias=3.0)
    d = res["lstm_fb3"]
    assert np.all(d["drop"] < 0.3), d["drop"]                       # most of the gradient goes in one step
    assert np.all(np.abs(d["mid"] - 1) < 0.03), d["mid"]               # then flat over the middle of the range
    assert np.all(d["factor"] < d["mid"] - 0.01)                       # the geometric mean says "decays" instead


def test_pytorch_default_tanh_rnn_breaks_pascanus_sufficient_condition_yet_vanishes():
    """sigma_max(W_hh) ~ 2 sqrt(H) * sqrt(1 / (3H)) = 2/sqrt(3) > 1; spectral radius ~ 1/sqrt(3) (circular law)."""
    res = v.spectra(T=30, hidden=64, input_size=8)
    name = res["names"][0]
    assert 1.05 < res["norm"][name] < 1.2, res["norm"][name]
    assert 0.5 < res["radius"][name] < 0.65, res["radius"][name]
    assert res["sv"][name][0, 0] < 1e-3                                # and the 29-step product still vanishes


def test_non_normal_example_grows_then_decays():
    res = v.spectra(T=100, hidden=64, input_size=8)
    top = res["sv"][res["names"][2]][::-1, 0]                          # by distance 0..99
    assert res["radius"][res["names"][2]] < 0.7
    assert top.max() > 5 and 3 < top.argmax() < 40 and top[-1] < 1e-3, (top.max(), top.argmax(), top[-1])


def test_keras_defaults_match_a_keras_lstm_built_with_its_defaults():
    import keras
    from minirnn import interop
    k = keras.layers.LSTM(16)
    k.build((None, 5, 3))
    imported = interop.from_keras(k)
    ours = remedies.keras_defaults_(LSTM(3, 16, seed=0), rng=0)
    for layer in (imported, ours):
        W = layer.params["weight_hh_l0"]                               # (4H, H)
        np.testing.assert_allclose(W.T @ W, np.eye(16), atol=1e-5)
        b = layer.params["bias_ih_l0"] + layer.params["bias_hh_l0"]
        np.testing.assert_array_equal(b[16:32], 1.0)
        np.testing.assert_array_equal(np.delete(b, np.s_[16:32]), 0.0)
    a = np.sqrt(6 / (64 + 3))                                           # glorot uniform on (4H, I)
    assert np.abs(imported.params["weight_ih_l0"]).max() <= a + 1e-6
    assert np.abs(ours.params["weight_ih_l0"]).max() <= a


def test_learnability_reports_success_rates_over_seeds_and_resumes(tmp_path):
    path = tmp_path / "l.jsonl"
    kw = dict(configs=("gru", "lstm_chrono"), Ts=(5, 8), seeds=2, steps=4, hidden=6, batch=4, path=str(path),
              n_jobs=1)
    res = remedies.learnability(**kw)
    assert res["test"].shape == (2, 2, 2) and res["success"].shape == (2, 2)
    np.testing.assert_array_equal(res["success"], np.mean(res["test"] < 0.05, axis=1))
    lines = path.read_text().splitlines()
    assert len(lines) == 8
    again = remedies.learnability(**kw)                                # all done: nothing is rerun
    assert len(path.read_text().splitlines()) == 8
    np.testing.assert_array_equal(again["test"], res["test"])


_CALLS = []


def _record(a):
    _CALLS.append(a)
    import os
    import threading
    return {"square": a * a, "pid": os.getpid(), "thread": threading.current_thread().name}


def test_sweep_writes_each_row_skips_done_jobs_and_ignores_a_torn_last_line(tmp_path):
    path = tmp_path / "r.jsonl"
    sweep.sweep(_record, [{"a": 1}, {"a": 2}], str(path), n_jobs=1, progress=False)
    with open(path, "a") as fh:
        fh.write('{"job": {"a": 3}, "squ')                              # a run killed while writing
    _CALLS.clear()
    rows = sweep.sweep(_record, [{"a": 1}, {"a": 2}, {"a": 3}], str(path), n_jobs=1, progress=False)
    assert _CALLS == [3]
    assert [r["square"] for r in rows] == [1, 4, 9]
    assert [json.loads(l)["job"]["a"] for l in path.read_text().splitlines()[2:] if l.endswith("}")] == [3]


def test_sweep_runs_on_whatever_joblib_backend_is_configured():
    import joblib
    import os
    jobs = [{"a": a} for a in range(4)]
    with joblib.parallel_config(backend="threading", n_jobs=2):
        rows = sweep.sweep(_record, jobs, None, progress=False)
    assert [r["square"] for r in rows] == [0, 1, 4, 9]
    assert all(r["pid"] == os.getpid() for r in rows)                 # threads of this process: the configured backend
    rows = sweep.sweep(_record, jobs, None, n_jobs=2, progress=False)  # default: local processes
    assert any(r["pid"] != os.getpid() for r in rows)


def test_every_figure_is_saved_at_150_dpi_with_no_text_below_9_points(tmp_path):
    from PIL import Image
    small = dict(T=12, hidden=6, input_size=3)
    figs = {"profiles": v.plot_profiles(v.protocol_a(seeds=2, **small), tmp_path / "profiles.png"),
            "heatmap": v.plot_heatmap(v.gain_scale_heatmap(gains=[0.8, 1.2], scales=[1e-3, 1.0], seeds=1, **small),
                                      tmp_path / "heatmap.png"),
            "bias": v.plot_gate_bias(v.gate_bias_sweep(biases=(0.0, 3.0), seeds=2, **small), tmp_path / "bias.png"),
            "spectra": v.plot_spectra(v.spectra(**small), tmp_path / "spectra.png")}
    for name, fig in figs.items():
        sizes = [t.get_fontsize() for t in fig.findobj(matplotlib.text.Text) if t.get_text().strip()]
        assert min(sizes) >= 9, (name, min(sizes))
        assert fig.get_figwidth() <= style.MAX_WIDTH
        dpi = Image.open(tmp_path / f"{name}.png").info["dpi"]
        assert round(dpi[0]) >= 150, (name, dpi)
        plt.close(fig)


def test_cli_vanishing_experiment_option_runs_learnability(tmp_path, capsys):
    code = cli.main(["vanishing", "--experiment", "learnability", "--steps", "2", "--seeds", "2",
                     "--n-jobs", "1", "--out", str(tmp_path), "--no-progress"])
    assert code == 0
    assert (tmp_path / "learnability.png").exists() and (tmp_path / "learnability.jsonl").exists()
    assert "solved (MSE < 0.05)" in capsys.readouterr().out
