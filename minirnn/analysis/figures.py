"""The vanishing-gradient figures: each ``plot_*`` takes an experiment's result, returns a matplotlib Figure and saves a
PNG when given ``path``. One colour per cell in every figure (the registry's ``Cell.color``)."""
from __future__ import annotations

import numpy as np

from ..cells import registry
from .gradients import decay_ratio, title
from .linear_rnn import LINEAR

#: One colour per cell, the same in every figure.
CELL_COLORS = {cell.name: cell.color for cell in (*registry.CELLS.values(), LINEAR)}


def _protocol_line(p):
    """A one-line protocol for a figure caption."""
    keys = ("loss", "T", "hidden", "input_size", "inputs", "dtype", "init", "seeds", "training")
    return ", ".join(f"{k}={p[k]}" if k in ("T", "hidden", "input_size", "seeds") else str(p[k])
                     for k in keys if k in p)


def _finish(fig, path, protocol=None):
    if protocol is not None:
        import textwrap
        fig.text(0.01, 0.005, textwrap.fill("Protocol: " + _protocol_line(protocol), 170), fontsize=7, color="0.35",
                 va="bottom")
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _band(ax, t, rows, color, label, ls="-"):
    """Median line and interquartile band of (S, T) rows."""
    q1, med, q3 = np.percentile(rows, [25, 50, 75], axis=0)
    ax.plot(t, med, color=color, ls=ls, lw=2, label=label)
    if rows.shape[0] > 1:
        ax.fill_between(t, q1, q3, color=color, alpha=0.2, lw=0)


def _new_fig(ncols, width=5.2, height=4.2):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, axes[0]


def plot_profiles(res, path=None, title=None):
    """The main figure: ||dL/dh_t|| / ||dL/dh_{T-1}|| against t, log scale, median and interquartile band per cell,
    and the input sensitivity ||dL/dx_t|| beside it. ``res`` from :func:`protocol_a` (or any dict cell -> profiles).
    """
    p = res.get("protocol", {})
    fig, (ax, ax2) = _new_fig(2, 5.6, 4.4)
    for key, d in res.items():
        if key == "protocol":
            continue
        cell, label = d["cell"], d["label"]
        ls = "-" if label.endswith("default init") else "--"
        T = d["h"].shape[1]
        t = np.arange(T)
        _band(ax, t, d["h"] / d["h"][:, -1:], CELL_COLORS[cell], f"{label}  (per step {np.median(d['factor']):.2f})",
              ls)
        _band(ax2, t, d["x"] / d["h"][:, -1:], CELL_COLORS[cell], label, ls)
    for a in (ax, ax2):
        a.set_yscale("log")
        a.set_xlabel("time step t (the loss sits on the last step)")
        a.grid(True, which="major", alpha=0.3)
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_{T-1}||")
    ax.set_title("Gradient reaching step t")
    ax2.set_ylabel("||dL/dx_t|| / ||dL/dh_{T-1}||")
    ax2.set_title("How much the loss feels input x_t")
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title or "Vanishing gradients at initialisation: median and interquartile band over seeds")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _finish(fig, path, p)


def plot_cell_profiles(res, path=None):
    """Profiles at init and after training (from :func:`cell_profiles`), side by side on the same axes."""
    fig, axes = _new_fig(2, 5.4, 4.4)
    for ax, when in zip(axes, ("init", "trained")):
        for cell, d in res[when].items():
            t = np.arange(d["h"].shape[1])
            extra = f", test MSE {np.nanmedian(res['test_mse'][cell]):.3f}" if when == "trained" else ""
            _band(ax, t, d["h"] / d["h"][:, -1:], CELL_COLORS[cell],
                  f"{title(cell)} (per step {np.median(d['factor']):.2f}{extra})")
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_ylabel("||dL/dh_t|| / ||dL/dh_{T-1}||")
        ax.set_title("at initialisation" if when == "init" else "after training on the adding problem")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    lo = min(a.get_ylim()[0] for a in axes)
    for a in axes:
        a.set_ylim(lo, None)
    fig.suptitle("Does training keep the gradient alive? (adding-problem inputs, 1/6 = predicting the mean)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_gain_sweep(res, path=None):
    """tanh RNN with W_hh = g Q: median profile and band per gain, over the exact linear-RNN lines g^(T-1-t)."""
    import matplotlib.pyplot as plt
    fig, (ax,) = _new_fig(1, 7.0, 4.8)
    cmap = plt.get_cmap("viridis")
    T = res["profiles"].shape[2]
    t = np.arange(T)
    for gi, g in enumerate(res["gains"]):
        color = cmap(gi / max(1, len(res["gains"]) - 1))
        _band(ax, t, res["profiles"][gi], color, f"tanh, g = {g:g} (per step {np.median(res['factor'][gi]):.2f})")
        ax.plot(t, res["exact"][gi], color=color, ls=":", lw=1.5)
    ax.plot([], [], color="0.3", ls=":", label="linear RNN: exactly g^(T-1-t)")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-40, np.nanmin(res["profiles"]) / 10), None)
    ax.set_xlabel("time step t")
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_{T-1}||")
    ax.set_title("W_hh = g Q (Q orthogonal): tanh can only pull the gradient below g^(T-1-t)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_heatmap(res, path=None):
    """log10 of ||dL/dh_0|| / ||dL/dh_{T-1}|| over gain x input scale (from :func:`gain_scale_heatmap`)."""
    from matplotlib.colors import TwoSlopeNorm
    fig, (ax,) = _new_fig(1, 7.0, 5.0)
    z = res["log10_ratio"]
    vmax = max(1.0, np.nanmax(np.abs(z)))
    im = ax.imshow(z, origin="lower", aspect="auto", cmap="RdBu_r", norm=TwoSlopeNorm(0, -vmax, vmax))
    ax.set_xticks(range(len(res["scales"])), [f"{s:.0e}" for s in res["scales"]], rotation=45)
    ax.set_yticks(range(len(res["gains"])), [f"{g:g}" for g in res["gains"]])
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            ax.text(k, i, f"{z[i, k]:.0f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(z[i, k]) > 0.6 * vmax else "black")
    ax.set_xlabel("input scale (x ~ N(0, scale^2))")
    ax.set_ylabel("gain g of W_hh = g Q")
    ax.set_title("log10 ||dL/dh_0|| / ||dL/dh_{T-1}||, tanh RNN\nred explodes, blue vanishes: "
                 "large inputs saturate tanh and turn g > 1 into vanishing", fontsize=10)
    fig.colorbar(im, ax=ax, label="log10 ratio (linear RNN: (T-1) log10 g)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_gate_bias(res, path=None):
    """Three panels: LSTM dL/dc and dL/dh for forget bias b, GRU dL/dh for update bias b; sigmoid(b)^(T-1-t) dotted."""
    import matplotlib.pyplot as plt
    fig, axes = _new_fig(3, 5.0, 4.4)
    cmaps = {"lstm": plt.get_cmap("Reds"), "gru": plt.get_cmap("Greens")}
    panels = (("lstm", "c", "LSTM: ||dL/dc_t||, forget bias b"), ("lstm", "h", "LSTM: ||dL/dh_t||, forget bias b"),
              ("gru", "h", "GRU: ||dL/dh_t||, update-gate bias b"))
    biases = list(res[panels[0][0]])
    for ax, (cell, key, title) in zip(axes, panels):
        for bi, b in enumerate(biases):
            d = res[cell][b]
            T = d[key].shape[1]
            t = np.arange(T)
            color = cmaps[cell](0.35 + 0.65 * bi / max(1, len(biases) - 1))
            _band(ax, t, d[key] / d[key][:, -1:], color, f"b = {b:g} (ratio {np.median(decay_ratio(d[key])):.1e})")
            sig = 0.5 * (1 + np.tanh(0.5 * b))
            ax.plot(t, sig ** (T - 1 - t), color=color, ls=":", lw=1.3)
        if res["cec"]["cell"] == cell:                                  # the carousel belongs on its own cell's panels
            d = res["cec"]
            _band(ax, t, d[key] / d[key][:, -1:], "black",
                  f"f fixed at 1, 1997 CEC (ratio {np.median(decay_ratio(d[key])):.1e})", "--")
        ax.plot([], [], color="0.4", ls=":", label="sigmoid(b)^(T-1-t): the gate path alone")
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_ylabel(f"||dL/d{key}_t|| / ||dL/d{key}_{{T-1}}||")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Gates keep the gradient only when their bias holds them near 1")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_spectra(res, path=None):
    """Eigenvalues of W_hh with the unit circle; singular values of dh_{T-1}/dh_t against the distance T-1-t."""
    fig, (ax, ax2) = _new_fig(2, 5.8, 5.6)
    colors = dict(zip(res["names"], (CELL_COLORS["rnn"], "#9467bd", "#ff7f0e")))
    th = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(th), np.sin(th), color="0.5", lw=1, label="unit circle")
    for name in res["names"]:
        e = res["eig"][name]
        ax.scatter(e.real, e.imag, s=10, color=colors[name], alpha=0.7,
                   label=f"{name}: radius {res['radius'][name]:.2f}, ||W|| {res['norm'][name]:.2f}")
    ax.set_aspect("equal")
    ax.set_xlabel("Re(eigenvalue)")
    ax.set_ylabel("Im(eigenvalue)")
    ax.set_title("Eigenvalues of W_hh")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    for name in res["names"]:
        sv = res["sv"][name]                                         # (T, H), row t
        dist = (sv.shape[0] - 1) - np.arange(sv.shape[0])
        ax2.plot(dist, sv[:, 0], color=colors[name], lw=2, label=f"{name}: largest")
        ax2.plot(dist, sv[:, -1], color=colors[name], lw=1, ls="--")
        ax2.plot(dist, res["radius"][name] ** dist, color=colors[name], lw=1, ls=":")
    fig.suptitle("The spectral radius is not the whole story: a non-normal W_hh with radius 0.9 still amplifies")
    ax2.plot([], [], color="0.4", ls="--", label="smallest singular value")
    ax2.plot([], [], color="0.4", ls=":", label="spectral radius ^ distance")
    ax2.set_yscale("log")
    ax2.set_xlabel("distance T-1-t (steps back)")
    ax2.set_ylabel("singular values of dh_{T-1}/dh_t")
    ax2.set_title("Singular values of the Jacobian product")
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_learnability(res, path=None):
    """Final test loss against T per cell, with the memoryless baseline."""
    fig, (ax,) = _new_fig(1, 6.4, 4.6)
    Ts = res["Ts"]
    for cell in CELL_COLORS:
        if cell in res:
            test = res[cell]["test"]
            ax.plot(Ts, np.nanmedian(test, axis=0), "o-", color=CELL_COLORS[cell], lw=2, label=title(cell))
            if test.shape[0] > 1:
                ax.fill_between(Ts, np.nanmin(test, 0), np.nanmax(test, 0), color=CELL_COLORS[cell], alpha=0.2, lw=0)
    adding = res["task"] == "adding"
    ax.plot(Ts, res["baseline"], "k--", label="baseline: always predict 1 (MSE 1/6)" if adding
            else "baseline: blanks, then guess (10 ln 8 / (T + 20))")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(Ts, [str(T) for T in Ts])
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("test MSE" if adding else "test cross-entropy per step")
    ax.set_title(f"{'Adding' if adding else 'Copy'} problem at a fixed training budget: longer is harder")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_clipping(res, path=None):
    """Global gradient norm per training step, with and without clipping, and the loss."""
    fig, (ax, ax2) = _new_fig(2, 5.4, 4.2)
    for name, color in (("unclipped", "#ff7f0e"), ("clipped", CELL_COLORS["rnn"])):
        h = res[name]
        ax.plot(h["grad_norm"], color=color, lw=1.5, label=f"{name} (max {np.nanmax(h['grad_norm']):.1e})")
        ax2.plot(h["loss"], color=color, lw=1.5, label=f"{name} (test MSE {h['test']:.3g})")
    ax.axhline(1.0, color="0.4", ls=":", lw=1, label="clipping threshold")
    ax2.axhline(1 / 6, color="k", ls="--", lw=1, label="baseline 1/6")
    for a in (ax, ax2):
        a.set_yscale("log")
        a.set_xlabel("training step")
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    ax.set_ylabel("global gradient norm (before clipping)")
    ax.set_title("Exploding gradients: tanh RNN, W_hh = 1.5 Q")
    ax2.set_ylabel("training loss (MSE)")
    ax2.set_title("Clipping keeps training finite")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _finish(fig, path, res["protocol"])
