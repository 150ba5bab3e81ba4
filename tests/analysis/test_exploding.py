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
