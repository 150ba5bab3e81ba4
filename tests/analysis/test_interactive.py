"""The slider callback draws the exact profile of its settings; the static fallback works without ipywidgets."""
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from minirnn.analysis import interactive  # noqa: E402
from minirnn.analysis import vanishing as v  # noqa: E402


def test_update_draws_the_profile_of_the_slider_settings():
    fig = interactive.update(cell="lstm", gain=1.0, bias=3.0, T=30)
    (line,) = fig.axes[0].get_lines()
    layer = v.set_gate_bias(v.make_layer("lstm", 8, 32, seed=0), "f", 3.0)
    n = v.gradient_norms(layer, np.random.default_rng(10_000).normal(size=(30, 1, 8)), np.ones((1, 32)))
    np.testing.assert_allclose(line.get_ydata(), n / n[-1], rtol=1e-12)
    plt.close(fig)


def test_gain_slider_scales_w_hh_and_moves_a_linear_range_rnn_profile_up():
    low, high = interactive.profile_for("rnn", gain=0.5, T=40), interactive.profile_for("rnn", gain=2.5, T=40)
    assert high[0] > low[0] * 1e6


def test_explorer_returns_sliders_with_ipywidgets_and_a_static_figure_without(monkeypatch):
    import ipywidgets  # noqa: F401  (the test extra has it: never skipped)
    box = interactive.explorer()
    assert {c.description for c in box.children[:4]} >= {"cell", "W_hh gain", "gate bias", "T"}
    monkeypatch.setitem(sys.modules, "ipywidgets", None)                # as if it were not installed
    fig = interactive.explorer()
    assert isinstance(fig, matplotlib.figure.Figure) and len(fig.axes) == 4
    plt.close("all")
