"""Sliders for the lecture: cell, W_hh gain, forget (update) gate bias and T redraw the gradient profile live.

    from minirnn.analysis import interactive
    interactive.explorer()          # ipywidgets sliders in a notebook; without ipywidgets, a static grid
    instead

:func:`update` is the callback the sliders call: it measures the exact profile (one backward pass of the
cell's hand-written BPTT, :func:`minirnn.analysis.gradients.gradient_norms`) and draws it, so a test can drive
it too.
"""

from __future__ import annotations

import numpy as np

from ..cells import registry
from . import style
from .gradients import first_step_drop, gradient_norms, make_layer, mid_range_factor, set_gate_bias

#: The slider ranges: cells, gain of W_hh, gate bias, sequence length.
CONTROLS = {
    "cell": registry.BASE_CELLS,
    "gain": (0.25, 3.0, 0.05),
    "bias": (-2.0, 8.0, 0.5),
    "T": (10, 200, 10),
}


def keep_gate(cell):
    """The gate whose bias keeps the memory: the LSTM's forget gate 'f', the GRU's update gate 'z'; None for
    the tanh RNN (its bias slider does nothing)."""
    gates = registry.get(cell).gates
    return "f" if "f" in gates else ("z" if "z" in gates else None)


def profile_for(cell="lstm", gain=1.0, bias=0.0, T=100, hidden=32, input_size=8, seed=0):
    """||dL/dh_t|| / ||dL/dh_{T-1}|| (T,) for ``cell`` at PyTorch's default init with W_hh scaled by ``gain``
    and the keep gate's total bias set to ``bias``; x ~ N(0, 1), L = sum(h_{T-1}), float64.

    Example:
        >>> p = profile_for("rnn", gain=1.0, T=20, hidden=8)
        >>> p.shape, float(p[-1])
        ((20,), 1.0)
    """
    layer = make_layer(cell, input_size, hidden, seed=seed)
    layer.params["weight_hh_l0"] *= gain
    gate = keep_gate(cell)
    if gate is not None:
        set_gate_bias(layer, gate, bias)
    x = np.random.default_rng(10_000 + seed).normal(size=(int(T), 1, input_size))
    n = gradient_norms(layer, x, np.ones((1, hidden)))
    return n / n[-1]


def update(cell="lstm", gain=1.0, bias=0.0, T=100, ax=None):
    """The sliders' callback: draw the profile of these settings on ``ax`` (a new figure if None); returns the
    Figure. The title gives the first-step drop and the mid-range factor."""
    with style.house():
        if ax is None:
            fig, (ax,) = style.figure(1, 7.5, 4.2)
        fig = ax.figure
        ax.clear()
        p = profile_for(cell, gain, bias, T)
        c = registry.get(cell)
        ax.semilogy(np.arange(len(p)), p, color=c.color, lw=2.5, label=c.title)
        ax.set_ylim(max(1e-40, min(1e-3, p.min() / 10)), max(10.0, p.max() * 10))
        ax.set_xlabel(style.LABELS["t"])
        ax.set_ylabel(style.LABELS["profile_h"])
        gate = keep_gate(cell)
        ax.set_title(
            rf"{c.title}, $W_{{hh}} \times$ {gain:g}"
            + (f", bias of {gate} = {bias:g}" if gate else "")
            + rf": first step $\times${first_step_drop(p):.2g}, then $\times${mid_range_factor(p):.2f}/step",
            fontsize=11,
        )
        ax.legend(loc="lower right")
    return fig


def explorer(use_widgets=None):
    """ipywidgets sliders (cell, gain, bias, T) that redraw the profile live; when ipywidgets is not installed
    (or ``use_widgets=False``), a static 2 x 2 grid of settings instead. Returns the widget or the Figure."""
    if use_widgets is not False:
        try:
            import ipywidgets as w
        except ImportError:
            w = None
        if w is not None:
            lo, hi, step = CONTROLS["gain"]
            blo, bhi, bstep = CONTROLS["bias"]
            tlo, thi, tstep = CONTROLS["T"]
            return w.interactive(
                lambda cell, gain, bias, T: update(cell, gain, bias, T),
                cell=w.Dropdown(options=CONTROLS["cell"], value="lstm"),
                gain=w.FloatSlider(value=1.0, min=lo, max=hi, step=step, description="W_hh gain"),
                bias=w.FloatSlider(value=0.0, min=blo, max=bhi, step=bstep, description="gate bias"),
                T=w.IntSlider(value=100, min=tlo, max=thi, step=tstep),
            )
    with style.house():
        fig, axes = style.figure(2, 5.5, 4.2, nrows=2)
        for ax, kw in zip(
            axes,
            (
                {"cell": "rnn", "gain": 1.0},
                {"cell": "rnn", "gain": 2.0},
                {"cell": "lstm", "bias": 0.0},
                {"cell": "lstm", "bias": 3.0},
            ),
        ):
            update(ax=ax, **kw)
        fig.suptitle("Static fallback (pip install ipywidgets for the sliders)")
    return fig
