"""Pascanu's cliff on a one-unit RNN: the scalar BPTT gradient is exact (finite differences, torch autograd),
a clipped step is exactly lr * max_norm long, and on the demo's start the unclipped step is thrown off the
wall."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from gradcheck import check_gradients  # noqa: E402
from minirnn.analysis import cliff  # noqa: E402


@pytest.mark.parametrize(
    "w, b, T", [(0.5, 0.2, 1), (1.5, -0.3, 5), (2.5, -0.3, 50), (1.29, -0.1, 50), (-2.0, 1.0, 20)]
)
def test_scalar_bptt_gradient_matches_finite_differences(w, b, T):
    p = {"wb": np.array([w, b])}
    _, dw, db = cliff.cliff_grad(w, b, T=T)
    report = check_gradients(lambda q: float(cliff.cliff_loss(q["wb"][0], q["wb"][1], T=T)), p,
                             {"wb": np.array([dw, db])}, eps=1e-7)
    assert report.passed, str(report)


def test_scalar_bptt_gradient_matches_torch_autograd():
    w = torch.tensor(2.5, dtype=torch.float64, requires_grad=True)
    b = torch.tensor(-0.3, dtype=torch.float64, requires_grad=True)
    h = torch.tensor(0.5, dtype=torch.float64)
    for _ in range(50):
        h = w * torch.tanh(h) + b
    loss = (h - 0.7) ** 2
    loss.backward()
    ours = cliff.cliff_grad(2.5, -0.3, T=50)
    np.testing.assert_allclose(ours, [loss.item(), w.grad.item(), b.grad.item()], rtol=1e-12)


def test_one_step_is_the_closed_form():
    hs = cliff.cliff_states(np.array([0.0, 2.0]), 0.3, T=1, h0=0.5)
    np.testing.assert_allclose(hs[1], [0.3, 2.0 * np.tanh(0.5) + 0.3])


def test_growth_through_time_is_the_derivative_of_h_T_with_respect_to_h_0():
    eps = 1e-6
    for w, b in ((1.29, -0.1), (1.0, 0.0), (1.3, -0.12)):             # |dh_T/dh_0| = 15, 0.066, 2.7e-4
        up = cliff.cliff_states(w, b, T=30, h0=0.5 + eps)[-1]
        down = cliff.cliff_states(w, b, T=30, h0=0.5 - eps)[-1]
        assert cliff.cliff_growth(w, b, T=30) == pytest.approx(abs(up - down) / (2 * eps), rel=1e-5)


def test_a_clipped_step_is_exactly_lr_times_the_threshold_when_the_gradient_is_larger():
    d = cliff.descend((2.5, -0.3), lr=0.05, steps=40, max_norm=1.0)
    big = d["grad_norm"] > 1.0
    assert big.sum() > 10 and (~big).sum() > 0                          # both cases occur on this path
    np.testing.assert_allclose(d["step"][big], 0.05, rtol=1e-12)
    np.testing.assert_allclose(d["step"][~big], 0.05 * d["grad_norm"][~big], rtol=1e-12)
    moved = np.hypot(*np.diff(d["path"], axis=0).T)
    np.testing.assert_allclose(moved, d["step"], rtol=1e-9)


def test_on_the_demo_start_the_unclipped_step_is_thrown_off_the_wall_and_the_clipped_one_stays():
    s = cliff.cliff_summary(cliff.cliff_demo(n=3))
    u, c = s["unclipped"], s["clipped"]
    assert u["max_grad_norm"] > 1e3 and c["max_grad_norm"] < 20          # the wall: gradient norm 1.2e3 vs 12
    assert u["longest_step"] > 50                                      # thrown 60 units in one step
    assert c["longest_step"] == pytest.approx(0.05)                    # lr * max_norm, never more
    assert np.hypot(*np.subtract(u["final_point"], c["final_point"])) > 10
    assert c["final_loss"] < 0.01
    assert u["growth_at_max"] > 10 > 1 > c["growth_at_max"]            # |dh_T/dh_0|: 43 at the wall


def test_bad_arguments_name_themselves():
    with pytest.raises(ValueError, match="T must be an integer >= 1"):
        cliff.cliff_loss(1.0, 0.0, T=0)
    with pytest.raises(ValueError, match="max_norm must be a number > 0"):
        cliff.descend((1.0, 0.0), max_norm=-1.0)
    with pytest.raises(ValueError, match="lr must be a number > 0"):
        cliff.descend((1.0, 0.0), lr=0.0)


def test_plot_cliff_saves_a_150_dpi_png(tmp_path):
    from PIL import Image

    fig = cliff.plot_cliff(cliff.cliff_demo(n=21), tmp_path / "cliff.png")
    plt.close(fig)
    with Image.open(tmp_path / "cliff.png") as im:
        assert round(im.info["dpi"][0]) == 150 and im.size[0] > 1200
