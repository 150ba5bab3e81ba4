"""Exploding gradients in training: a clipped SGD step is exactly lr * max_norm long, the held-out loss is
measured on the model it claims to measure, and at a learning rate where unclipped SGD diverges the clipped
run's gradient norm stays bounded."""
import numpy as np
import pytest

from minirnn.analysis.experiments import _gain_rnn
from minirnn.analysis.exploding import clipping_rescue
from minirnn.analysis.tasks import train_task
from minirnn.data import adding_problem
from minirnn.nn.linear import Linear


def _params(layer, head):
    return np.concatenate([p.ravel() for p in (*layer.params.values(), *head.params.values())])


def test_one_clipped_sgd_step_moves_the_parameters_by_exactly_lr_times_the_threshold():
    seed, H = 3, 8
    start = _params(_gain_rnn(1.2, H, 2, seed), Linear(H, 1, seed=10_000 + seed))   # what train_task builds
    layer, head, h = train_task("adding", "rnn", 10, H, steps=1, batch=16, lr=0.1, clip=1.0, seed=seed,
                                optimizer="sgd", layer=_gain_rnn(1.2, H, 2, seed))
    assert h["grad_norm"][0] > 1.0                                   # so the clip is active
    g = h["grad_norm"][0]                                 # torch's rule: scale max_norm / (g + 1e-6)
    assert np.linalg.norm(_params(layer, head) - start) == pytest.approx(0.1 * g / (g + 1e-6), rel=1e-9)


def test_the_held_out_loss_at_step_0_is_the_untrained_models_mse_on_the_held_out_set():
    seed, H, T = 1, 8, 10
    layer, head = _gain_rnn(1.2, H, 2, seed), Linear(H, 1, seed=10_000 + seed)
    x, y = adding_problem(200, T, rng=np.random.default_rng(50_000 + seed))
    expected = np.mean((head(layer(x)[0][-1]) - y) ** 2)
    h = train_task("adding", "rnn", T, H, steps=6, batch=8, lr=0.1, clip=1.0, seed=seed, optimizer="sgd",
                   layer=_gain_rnn(1.2, H, 2, seed), eval_every=3)[2]
    np.testing.assert_array_equal(h["eval_step"], [0, 3, 6])
    assert h["eval_loss"][0] == pytest.approx(expected, rel=1e-12)
    assert h["eval_loss"][2] != h["eval_loss"][0]                   # measured again after training


def test_at_a_learning_rate_where_unclipped_sgd_diverges_the_clipped_gradient_stays_bounded():
    res = clipping_rescue(T=10, hidden=8, steps=40, batch=8, lr=0.5, seeds=2, eval_every=10)
    u, c = res["unclipped"], res["clipped"]
    assert np.all(u["max_grad_norm"] > 1e20)                         # measured: 1e43 .. 1e51 at 60 steps
    assert np.all(c["max_grad_norm"] < 100)                          # measured: 4 .. 7
    assert np.all(np.isfinite(c["test"]))
    np.testing.assert_array_equal(u["eval_loss"][:, 0], c["eval_loss"][:, 0])   # the same model at step 0
    np.testing.assert_array_equal(c["learned"], c["test"] < res["threshold"])
    assert not u["learned"].any()
    assert res["growth"].shape == (2,) and np.all(res["growth"] > 0)


def test_plot_clipping_rescue_writes_a_150_dpi_png_with_one_line_per_seed(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from PIL import Image

    from minirnn.analysis.figures import plot_clipping_rescue

    res = clipping_rescue(T=10, hidden=8, steps=20, batch=8, lr=0.5, seeds=3, eval_every=10)
    fig = plot_clipping_rescue(res, tmp_path / "clipping.png")
    grad_ax, loss_ax = fig.axes[:2]
    per_seed = [ln for ln in grad_ax.lines if len(ln.get_xdata()) == 20]
    assert len(per_seed) == 2 * 3                                    # unclipped and clipped, 3 seeds each
    growth_ax = fig.axes[2]
    assert len([ln for ln in growth_ax.lines if len(ln.get_xdata()) == 20]) == 2 * 3
    assert growth_ax.get_yscale() == "log"
    assert {round(ln.get_ydata()[0], 6) for ln in loss_ax.lines} >= {round(1 / 6, 6), round(1 / 12, 6)}
    plt.close(fig)
    with Image.open(tmp_path / "clipping.png") as im:
        assert round(im.info["dpi"][0]) == 150


def test_cli_vanishing_cliff_writes_its_figure_and_numbers(tmp_path, capsys):
    import json

    from minirnn import cli

    assert cli.main(["vanishing", "--experiment", "cliff", "--out", str(tmp_path), "--no-progress"]) == 0
    data = json.loads((tmp_path / "cliff.json").read_text())
    assert data["summary"]["unclipped"]["max_grad_norm"] > 1e3 > data["summary"]["clipped"]["max_grad_norm"]
    assert (tmp_path / "cliff.png").stat().st_size > 10_000
    assert "unclipped: max gradient norm 1.21e+03 (step 13)" in capsys.readouterr().out


def test_the_growth_recorded_at_a_step_is_the_growth_recomputed_from_that_steps_weights():
    from minirnn.analysis.exploding import clipping_traces
    from minirnn.analysis.gradients import decay_ratio, gradient_norms

    T, H, k, seed = 10, 6, 3, 0
    res = clipping_traces(gain=1.3, T=T, hidden=H, input_scale=0.5, steps=k + 1, batch=4, lr=0.2, seeds=1)
    x = adding_problem(1, T, seed=40_000 + seed)[0] * 0.5                 # the probe clipping_traces uses
    for name, clip in (("unclipped", None), ("clipped", 1.0)):
        layer = train_task("adding", "rnn", T, H, steps=k, batch=4, lr=0.2, clip=clip, seed=seed,
                           optimizer="sgd", input_scale=0.5, layer=_gain_rnn(1.3, H, 2, seed))[0]  # k steps
        expected = decay_ratio(gradient_norms(layer, x, np.ones((1, H))))
        assert res[name]["growth_step"][0, k] == pytest.approx(expected, rel=1e-12)
        radius = np.abs(np.linalg.eigvals(layer.params["weight_hh_l0"])).max()
        assert res[name]["radius_step"][0, k] == pytest.approx(radius, rel=1e-12)
        assert res[name]["growth_step"][0, 0] == pytest.approx(res["growth"][0], rel=1e-12)   # at init
        assert res[name]["radius_step"][0, 0] == pytest.approx(1.3, rel=1e-12)               # 1.3 Q


def test_recording_the_growth_does_not_change_the_training_run():
    kw = dict(T=10, hidden=6, steps=5, batch=4, lr=0.2, clip=None, seed=2, optimizer="sgd")
    seen = []
    plain = train_task("adding", "rnn", layer=_gain_rnn(1.3, 6, 2, 2), **kw)[2]
    hooked = train_task("adding", "rnn", layer=_gain_rnn(1.3, 6, 2, 2),
                        on_step=lambda step, layer, x, dout: seen.append((step, x.shape, dout.shape)), **kw)[2]
    np.testing.assert_array_equal(plain["grad_norm"], hooked["grad_norm"])
    assert seen == [(s, (10, 4, 2), (10, 4, 6)) for s in range(5)]


def test_first_spike_finds_the_first_norm_ten_times_its_running_median():
    from minirnn.analysis.exploding import first_spike

    norms = np.array([5.0, 1, 1, 1, 2, 1, 9.9, 1, 25, 1e5])     # 9.9 < 10 x median 1; 25 > 10 x 1
    assert first_spike(norms) == 8
    assert first_spike(norms, factor=5) == 6
    assert first_spike(np.array([1.0, 100, 1, 1])) == -1       # step 1 is inside the warm-up
    assert first_spike(np.array([1.0, 1, 1, 1, np.inf, np.nan])) == 4   # an overflow is a spike
    assert first_spike(np.array([1.0, 1, 1, 1, np.nan, 1e9])) == -1     # the run stopped before
    plateau = np.r_[np.ones(10), 8 * np.ones(10), [50.0]]      # median of all 20 before: 4.5; of last 5: 8
    assert first_spike(plateau) == 20 and first_spike(plateau, window=5) == -1
    with pytest.raises(ValueError, match="norms must be a 1-d array"):
        first_spike(np.ones((2, 3)))
