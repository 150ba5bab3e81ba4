"""The vanishing-gradient figures: each ``plot_*`` takes an experiment's result, returns a matplotlib Figure
and saves a PNG when given ``path``. All of them draw in the house style of :mod:`minirnn.analysis.style` (150
dpi, text >= 10 pt, rendered math, nothing clipped) and give each cell its one colour (the registry's
``Cell.color``)."""

from __future__ import annotations

import numpy as np

from ..cells import registry
from . import style
from .gradients import first_step_drop, mid_range_factor, title
from .linear_rnn import LINEAR

#: One colour per cell, the same in every figure.
CELL_COLORS = {cell.name: cell.color for cell in (*registry.CELLS.values(), LINEAR)}
L = style.LABELS


def _protocol_line(p):
    """A one-line protocol for a figure caption."""
    keys = ("loss", "T", "hidden", "input_size", "inputs", "dtype", "init", "seeds", "training", "solved")
    return ", ".join(
        f"{k}={p[k]}" if k in ("T", "hidden", "input_size", "seeds") else str(p[k]) for k in keys if k in p
    )


def _finish(fig, path, protocol=None):
    if protocol is not None:
        style.footer(fig, "Protocol: " + _protocol_line(protocol))
    return style.save(fig, path)


def _band(ax, t, rows, color, label, ls="-"):
    """Median line and interquartile band of (S, T) rows."""
    q1, med, q3 = np.percentile(rows, [25, 50, 75], axis=0)
    ax.plot(t, med, color=color, ls=ls, lw=2, label=label)
    if rows.shape[0] > 1:
        ax.fill_between(t, q1, q3, color=color, alpha=0.2, lw=0)


def _new_fig(ncols, width=5.2, height=4.2):
    return style.figure(ncols, width, height)


def _shape(d, key="h"):
    """'first step x0.13, then x0.99/step': a profile's first-step drop and mid-range factor (medians over
    seeds)."""
    n = d[key]
    return (
        rf"first step $\times${np.median(first_step_drop(n)):.2g}, "
        rf"then $\times${np.median(mid_range_factor(n)):.2f}/step"
    )


def _housed(plot):
    """Run a figure function inside the house style (so every rcParam of :data:`style.RC` applies)."""
    import functools

    @functools.wraps(plot)
    def wrapper(*args, **kwargs):
        with style.house():
            return plot(*args, **kwargs)

    return wrapper


def _legend_below(ax, ncol=1):
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=ncol, frameon=False)


@_housed
def plot_profiles(res, path=None, title=None):
    """The main figure: ||dL/dh_t|| / ||dL/dh_{T-1}|| against t, log scale, median and interquartile band per
    row, and the input sensitivity ||dL/dx_t|| beside it. Each legend entry gives the first-step drop and the
    mid-range per-step factor separately (a profile is rarely one straight line). ``res`` from
    :func:`protocol_a` or :func:`defaults_profiles`.
    """
    p = res.get("protocol", {})
    fig, (ax, ax2) = _new_fig(2, 5.5, 4.4)
    for key, d in res.items():
        if key == "protocol":
            continue
        cell, label = d["cell"], d["label"]
        ls = "-" if label.endswith(("default init", "PyTorch init")) else "--"
        t = np.arange(d["h"].shape[1])
        _band(ax, t, d["h"] / d["h"][:, -1:], CELL_COLORS[cell], f"{label}: {_shape(d)}", ls)
        _band(ax2, t, d["x"] / d["h"][:, -1:], CELL_COLORS[cell], label, ls)
    for a in (ax, ax2):
        a.set_yscale("log")
        a.set_xlabel(L["t"])
    ax.set_ylabel(L["profile_h"])
    ax.set_title("Gradient reaching step $t$")
    ax2.set_ylabel(L["profile_x"])
    ax2.set_title("How much the loss feels input $x_t$")
    _legend_below(ax, 1)
    fig.suptitle(title or "Gradients at initialisation: median and interquartile band over seeds")
    return _finish(fig, path, p)


plot_defaults = plot_profiles


@_housed
def plot_cell_profiles(res, path=None):
    """Profiles at init and after training (from :func:`cell_profiles`), side by side on the same axes."""
    fig, axes = _new_fig(2, 5.4, 4.4)
    for ax, when in zip(axes, ("init", "trained")):
        for cell, d in res[when].items():
            t = np.arange(d["h"].shape[1])
            extra = f"; test MSE {np.nanmedian(res['test_mse'][cell]):.3f}" if when == "trained" else ""
            _band(ax, t, d["h"] / d["h"][:, -1:], CELL_COLORS[cell], f"{title(cell)}: {_shape(d)}{extra}")
        ax.set_yscale("log")
        ax.set_xlabel(L["t"])
        ax.set_ylabel(L["profile_h"])
        ax.set_title("at initialisation" if when == "init" else "after training on the adding problem")
        _legend_below(ax)
    lo = min(a.get_ylim()[0] for a in axes)
    for a in axes:
        a.set_ylim(lo, None)
    fig.suptitle("Does training keep the gradient alive? (adding problem; predicting 1 scores 1/6)")
    return _finish(fig, path, res["protocol"])


@_housed
def plot_gain_sweep(res, path=None):
    """tanh RNN with W_hh = g Q: median profile and band per gain, over the exact linear-RNN lines
    g^(T-1-t)."""
    import matplotlib.pyplot as plt

    fig, (ax,) = _new_fig(1, 7.5, 5.0)
    cmap = plt.get_cmap("viridis")
    T = res["profiles"].shape[2]
    t = np.arange(T)
    for gi, g in enumerate(res["gains"]):
        color = cmap(0.9 * gi / max(1, len(res["gains"]) - 1))
        mid = np.median(mid_range_factor(res["profiles"][gi]))
        _band(ax, t, res["profiles"][gi], color, rf"tanh, $g$ = {g:g}: mid-range $\times${mid:.2f}/step")
        ax.plot(t, res["exact"][gi], color=color, ls=":", lw=1.5)
    ax.plot([], [], color="0.3", ls=":", label=r"linear RNN: exactly $g^{T-1-t}$")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-40, np.nanmin(res["profiles"]) / 10), None)
    ax.set_xlabel(L["t"])
    ax.set_ylabel(L["profile_h"])
    ax.set_title(r"$W_{hh} = g\,Q$ ($Q$ orthogonal): tanh only pulls the gradient below $g^{T-1-t}$")
    _legend_below(ax, 2)
    return _finish(fig, path, res["protocol"])


@_housed
def plot_heatmap(res, path=None):
    """log10 of ||dL/dh_0|| / ||dL/dh_{T-1}|| over gain x input scale (from :func:`gain_scale_heatmap`)."""
    from matplotlib.colors import TwoSlopeNorm

    fig, (ax,) = _new_fig(1, 8.0, 5.6)
    z = res["log10_ratio"]
    vmax = max(1.0, np.nanmax(np.abs(z)))
    im = ax.imshow(z, origin="lower", aspect="auto", cmap="RdBu_r", norm=TwoSlopeNorm(0, -vmax, vmax))
    ax.set_xticks(range(len(res["scales"])), [rf"$10^{{{np.log10(s):.0f}}}$" for s in res["scales"]])
    ax.set_yticks(range(len(res["gains"])), [f"{g:g}" for g in res["gains"]])
    ax.grid(False)
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            ax.text(
                k,
                i,
                f"{z[i, k]:.0f}",
                ha="center",
                va="center",
                fontsize=9,
                color="white" if abs(z[i, k]) > 0.6 * vmax else "black",
            )
    ax.set_xlabel(r"input scale $s$ ($x \sim N(0, s^2)$)")
    ax.set_ylabel(r"gain $g$ of $W_{hh} = g\,Q$")
    ax.set_title(
        r"$\log_{10} \|\partial L/\partial h_0\| / \|\partial L/\partial h_{T-1}\|$, tanh RNN"
        "\n"
        "red explodes, blue vanishes: large inputs saturate tanh"
    )
    fig.colorbar(im, ax=ax, label=r"$\log_{10}$ ratio (linear RNN: $(T-1)\log_{10} g$)")
    return _finish(fig, path, res["protocol"])


@_housed
def plot_gate_bias(res, path=None):
    """Three panels: LSTM dL/dc and dL/dh for forget bias b, GRU dL/dh for update bias b; sigmoid(b)^(T-1-t)
    dotted. Legends give each profile's first-step drop and mid-range factor."""
    import matplotlib.pyplot as plt

    fig, axes = style.figure(3, 5.0, 4.6, nrows=1)
    cmaps = {"lstm": plt.get_cmap("Reds"), "gru": plt.get_cmap("Greens")}
    panels = (
        ("lstm", "c", "LSTM, forget bias $b$", "profile_c"),
        ("lstm", "h", "LSTM, forget bias $b$", "profile_h"),
        ("gru", "h", "GRU, update-gate bias $b$", "profile_h"),
    )
    biases = list(res[panels[0][0]])
    for ax, (cell, key, name, ylabel) in zip(axes, panels):
        for bi, b in enumerate(biases):
            d = res[cell][b]
            T = d[key].shape[1]
            t = np.arange(T)
            color = cmaps[cell](0.35 + 0.65 * bi / max(1, len(biases) - 1))
            _band(ax, t, d[key] / d[key][:, -1:], color, f"$b$ = {b:g}: {_shape(d, key)}")
            sig = 0.5 * (1 + np.tanh(0.5 * b))
            ax.plot(t, sig ** (T - 1 - t), color=color, ls=":", lw=1.3)
        if res["cec"]["cell"] == cell:  # the carousel belongs on its own cell's panels
            d = res["cec"]
            _band(ax, t, d[key] / d[key][:, -1:], "black", f"$f$ = 1 (1997 CEC): {_shape(d, key)}", "--")
        ax.plot([], [], color="0.4", ls=":", label=r"$\sigma(b)^{T-1-t}$: the gate path alone")
        ax.set_yscale("log")
        ax.set_xlabel(r"time step $t$")
        ax.set_ylabel(L[ylabel])
        ax.set_title(name)
        _legend_below(ax)
    fig.suptitle("Gates keep the gradient only when their bias holds them near 1")
    return _finish(fig, path, res["protocol"])


@_housed
def plot_spectra(res, path=None):
    """Eigenvalues of W_hh with the unit circle; singular values of dh_{T-1}/dh_t against the distance
    T-1-t."""
    fig, (ax, ax2) = _new_fig(2, 5.5, 5.2)
    colors = dict(zip(res["names"], (CELL_COLORS["rnn"], "#9467bd", "#ff7f0e")))
    markers = dict(zip(res["names"], ("o", "s", "^")))
    th = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(th), np.sin(th), color="0.5", lw=1, label="unit circle")
    for name in res["names"]:
        e = res["eig"][name]
        ax.scatter(
            e.real,
            e.imag,
            s=14,
            color=colors[name],
            marker=markers[name],
            alpha=0.7,
            label=rf"{name}: $\rho$ = {res['radius'][name]:.2f}, $\sigma_{{\max}}$ = {res['norm'][name]:.2f}",
        )
    ax.set_aspect("equal")
    ax.set_xlabel("Re(eigenvalue)")
    ax.set_ylabel("Im(eigenvalue)")
    ax.set_title("Eigenvalues of $W_{hh}$")
    _legend_below(ax)
    for name in res["names"]:
        sv = res["sv"][name]  # (T, H), row t
        dist = (sv.shape[0] - 1) - np.arange(sv.shape[0])
        ax2.plot(dist, sv[:, 0], color=colors[name], lw=2, label=f"{name}: largest")
        ax2.plot(dist, sv[:, -1], color=colors[name], lw=1, ls="--")
        ax2.plot(dist, res["radius"][name] ** dist, color=colors[name], lw=1, ls=":")
    ax2.plot([], [], color="0.4", ls="--", label="smallest singular value")
    ax2.plot([], [], color="0.4", ls=":", label=r"$\rho^{\,T-1-t}$ (spectral radius)")
    ax2.set_yscale("log")
    ax2.set_xlabel(L["distance"])
    ax2.set_ylabel(r"singular values of $\partial h_{T-1}/\partial h_t$")
    ax2.set_title("Singular values of the Jacobian product")
    _legend_below(ax2)
    fig.suptitle(
        "The spectral radius is not the whole story: a non-normal $W_{hh}$ amplifies before it decays"
    )
    return _finish(fig, path, res["protocol"])


@_housed
def plot_learnability(res, path=None):
    """Success rate (left) and held-out MSE (right, median and range over seeds) against T, per configuration
    of :func:`learnability`; the 1/6 (predict 1) and 1/12 (remember one number) lines and the success
    threshold."""
    from .remedies import SETUP_STYLE

    fig, (ax, ax2) = _new_fig(2, 5.5, 4.6)
    Ts = res["Ts"]
    S = res["test"].shape[1]
    for ci, label in enumerate(res["labels"]):
        color, ls = CELL_COLORS[res["cells"][ci]], SETUP_STYLE[res["setups"][ci]]
        jitter = 1 + 0.012 * (ci - len(res["labels"]) / 2)  # keep equal rates apart
        ax.plot(Ts * jitter, 100 * res["success"][ci], marker="o", color=color, ls=ls, label=label)
        test = res["test"][ci]
        ax2.plot(Ts, np.nanmedian(test, axis=0), marker="o", color=color, ls=ls)
        if S > 1:
            ax2.fill_between(Ts, np.nanmin(test, 0), np.nanmax(test, 0), color=color, alpha=0.12, lw=0)
    ax2.axhline(1 / 6, color="0.2", ls="--", lw=1.2, label="predict 1: 1/6")
    ax2.axhline(1 / 12, color="0.2", ls=":", lw=1.2, label="remember one number: 1/12")
    ax2.axhline(res["threshold"], color="0.5", ls="-.", lw=1, label=f"solved: MSE < {res['threshold']:g}")
    for a in (ax, ax2):
        a.set_xscale("log")
        a.set_xticks(Ts, [str(T) for T in Ts])
        a.minorticks_off()
        a.set_xlabel("sequence length $T$")
    ax.set_ylim(-5, 105)
    ax.set_ylabel(f"runs solved, % of {S} seeds")
    ax.set_title("Success rate on the adding problem")
    ax2.set_yscale("log")
    ax2.set_ylabel("held-out MSE (median, range)")
    ax2.set_title("Held-out MSE")
    _legend_below(ax, 2)
    ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), frameon=False)
    return _finish(fig, path, res["protocol"])


@_housed
def plot_clipping(res, path=None):
    """Gradient norm per SGD step (median over seeds and range), with and without clipping, and the training
    loss."""
    fig, (ax, ax2) = _new_fig(2, 5.4, 4.4)
    for name, color in (("unclipped", "#ff7f0e"), ("clipped", CELL_COLORS["rnn"])):
        h = res[name]
        steps = np.arange(h["grad_norm"].shape[1])
        for a, key in ((ax, "grad_norm"), (ax2, "loss")):
            with np.errstate(all="ignore"):
                med = np.nanmedian(h[key], axis=0)
            a.plot(
                steps,
                med,
                color=color,
                lw=2,
                label=f"{name}: test MSE median {np.nanmedian(h['test']):.3g}"
                f" ({int(np.sum(np.isfinite(h['test'])))}/{len(h['test'])} finite)"
                if key == "loss"
                else name,
            )
            a.fill_between(steps, np.nanmin(h[key], 0), np.nanmax(h[key], 0), color=color, alpha=0.15, lw=0)
    ax.axhline(1.0, color="0.4", ls=":", lw=1, label="clipping threshold")
    ax2.axhline(1 / 6, color="k", ls="--", lw=1, label="predict 1: 1/6")
    for a in (ax, ax2):
        a.set_yscale("log")
        a.set_xlabel("SGD step")
    ax.set_ylabel("global gradient norm (before clipping)")
    ax.set_title(
        rf"tanh RNN, $W_{{hh}}$ = {res.get('gain', 1.5):g} $Q$: growth through time at init "
        rf"$\times${np.median(res['growth']):.0e}",
        fontsize=11,
    )
    ax2.set_ylabel("training loss (MSE)")
    ax2.set_title("Training loss")
    _legend_below(ax)
    _legend_below(ax2)
    return _finish(fig, path, res["protocol"])


@_housed
def plot_clipping_rescue(res, path=None):
    """Left: the global gradient norm at every SGD step (before clipping), one thin line per seed, unclipped
    and clipped; a run that diverged ends where its norm overflowed (drawn as a cross at the top). Right: the
    held-out MSE along training, one thin line per seed (values above 3 drawn at 3, a diverged run as a cross
    there), with the 1/6 and 1/12 baselines and the threshold for "learned". Third: the growth through time
    ||dL/dh_0|| / ||dL/dh_{T-1}|| at every step's weights (log-log: step + 1, values below 1e-30 drawn
    there), one thin line per seed, each run's first gradient-norm spike (:func:`first_spike`) marked with a
    dot. ``res`` from :func:`clipping_rescue`."""
    fig, (ax, ax2, ax3) = _new_fig(3, 5.8, 4.6)
    fig.subplots_adjust(wspace=0.6)  # three y labels between the panels
    floor = 1e-30
    finite = np.concatenate([res[n]["grad_norm"].ravel() for n in ("unclipped", "clipped")])
    finite = finite[np.isfinite(finite) & (finite > 0)]
    top, ceiling = 10 * finite.max(), 3.0
    for name, color in (("unclipped", "#ff7f0e"), ("clipped", CELL_COLORS["rnn"])):
        d = res[name]
        steps = np.arange(d["grad_norm"].shape[1])
        n_learned, S = int(d["learned"].sum()), len(d["learned"])
        for s in range(S):
            g = d["grad_norm"][s]
            ax.plot(steps, g, color=color, lw=0.8, alpha=0.8, label=name if s == 0 else None)
            bad = np.flatnonzero(~np.isfinite(g))
            if bad.size:  # where it overflowed
                ax.plot(bad[0], top, marker="x", color=color, ms=8, mew=2, ls="none")
            e = d["eval_loss"][s]
            ax2.plot(d["eval_step"], np.minimum(e, ceiling), color=color, lw=1, alpha=0.9,
                     label=f"{name}: {n_learned}/{S} learned" if s == 0 else None)
            if not np.isfinite(e[-1]):  # diverged: a cross at the last evaluation before it
                k = np.flatnonzero(np.isfinite(e))
                ax2.plot(d["eval_step"][k[-1] if k.size else 0], ceiling, marker="x", color=color, ms=8,
                         mew=2, ls="none")
            gr = np.where(np.isfinite(d["growth_step"][s]), d["growth_step"][s], np.nan)
            ax3.plot(steps + 1, np.maximum(gr, floor), color=color, lw=0.8, alpha=0.8,
                     label=f"{name}: first norm spike (dot)" if s == 0 else None)
            k = d["spike"][s]
            if k >= 0 and np.isfinite(d["growth_spike"][s]):
                ax3.plot(k + 1, max(d["growth_spike"][s], floor), marker="o", color=color, ms=6, ls="none")
    ax.axhline(res["max_norm"], color="0.4", ls=":", lw=1, label="clipping threshold")
    ax.set_yscale("log")
    ax.set_ylim(finite.min() / 3, top * 3)
    ax2.axhline(1 / 6, color="0.2", ls="--", lw=1.2, label="predict 1: 1/6")
    ax2.axhline(1 / 12, color="0.2", ls=":", lw=1.2, label="remember one number: 1/12")
    ax2.axhline(res["threshold"], color="0.5", ls="-.", lw=1, label=f"learned: MSE < {res['threshold']:g}")
    ax2.set_yscale("log")
    ax2.set_ylim(0.02, ceiling * 1.5)
    ax3.axhline(1, color="0.4", ls=":", lw=1, label="growth 1")
    ax3.set_xscale("log")
    ax3.set_yscale("log")
    ax3.set_ylim(floor / 10, None)
    ax3.set_xlabel("SGD step + 1")
    ax3.set_ylabel(r"growth $\|\partial L/\partial h_0\| / \|\partial L/\partial h_{T-1}\|$")
    ax3.set_title("Growth through time\nat each step's weights", fontsize=11)
    _legend_below(ax3)
    for a in (ax, ax2):
        a.set_xlabel("SGD step")
    ax.set_ylabel("global gradient norm (before clipping)")
    ax.set_title(
        rf"$W_{{hh}}$ = {res['gain']:g} $Q$; at init $\|\partial L/\partial h_0\|"
        rf" / \|\partial L/\partial h_{{T-1}}\|$" + f"\n= {np.median(res['growth']):.1f} (median)",
        fontsize=11,
    )
    ax2.set_ylabel("held-out MSE (200 sequences)")
    ax2.set_title("Held-out loss\nduring training", fontsize=11)
    _legend_below(ax)
    _legend_below(ax2)
    return _finish(fig, path, res["protocol"])
