"""Figures of gradient checks. matplotlib is imported inside each function, so ``import gradcheck`` never
needs it."""

from __future__ import annotations

import numpy as np

#: The CS231n reading drawn as bands: a max relative error below GOOD is good, above WRONG is wrong.
GOOD, WRONG = 1e-7, 1e-2
#: The font sizes of the figure (points): no text below 10, so a slide stays readable.
_FONT = {"legend": 10, "ticks": 10, "label": 11, "title": 12}


def _power_of_ten(value: float) -> str:
    """``1e-06`` as the mathtext ``10^{-6}``; other numbers as ``%g``."""
    k = np.log10(value)
    return f"10^{{{int(round(k))}}}" if np.isclose(k, round(k)) else f"{value:g}"


def plot_eps_sweep(sweep: dict, path=None, *, title: str = "Central-difference error against eps", ax=None,
                   chosen_eps: float | None = 1e-6):
    """Draw the max relative error of each tensor against eps on log-log axes (the V of truncation vs
    round-off), with a legend that says what every line and band is.

    Besides one line per tensor, the axes show two guides, anchored at the median error over the tensors at
    the largest and at the smallest eps: the truncation error of a central difference, ``~ eps^2 |f'''| / 6``
    (slope 2), and its round-off, ``~ u |f| / eps`` (slope -1, ``u = 2.2e-16``); where they cross is the best
    eps. A vertical line marks ``chosen_eps`` (``check_gradients``' default 1e-6; None draws none). The bands
    are CS231n's reading: green below 1e-7 (good), red above 1e-2 (wrong). The legend sits below the axes;
    text is at least 10 pt, math is rendered.

    Args:
        sweep: what ``gradcheck.eps_sweep`` returns.
        path: if given, the figure is also saved there (PNG by extension, 150 dpi, legend included).
        title: the axes title.
        ax: an existing matplotlib Axes to draw into (default: a new figure).
        chosen_eps: the eps to mark, or None.
    Returns:
        the matplotlib ``Figure``.

    Example:
        >>> import numpy as np, gradcheck
        >>> x = np.array([0.7])
        >>> sweep = gradcheck.eps_sweep(lambda p: float(np.sin(p["x"][0])), {"x": x}, {"x": np.cos(x)})
        >>> fig = plot_eps_sweep(sweep)          # doctest: +SKIP
    """
    import matplotlib.pyplot as plt  # lazily: the checker itself needs only NumPy

    if ax is None:
        fig, ax = plt.subplots(figsize=(6.4, 5.4))
    else:
        fig = ax.figure
    eps = np.asarray(sweep["eps"], dtype=float)
    errors = {name: np.maximum(np.asarray(e, dtype=float), 1e-17)  # an exact zero has no place on a log axis
              for name, e in sweep["max_rel_error"].items()}
    lowest = min([GOOD] + [float(e.min()) for e in errors.values()])
    for name, e in errors.items():
        ax.loglog(eps, e, marker="o", label=name)
    if len(eps) > 1 and errors:
        big, small = int(np.argmax(eps)), int(np.argmin(eps))
        at_big = float(np.median([e[big] for e in errors.values()]))
        at_small = float(np.median([e[small] for e in errors.values()]))
        grid = np.geomspace(eps.min(), eps.max(), 50)
        ax.loglog(grid, at_big * (grid / eps[big]) ** 2, "k--", lw=1.2,
                  label=r"truncation $\propto \varepsilon^2$")
        ax.loglog(grid, at_small * eps[small] / grid, "k:", lw=1.6,
                  label=r"round-off $\propto u/\varepsilon$")
    if chosen_eps is not None:
        ax.axvline(chosen_eps, color="0.45", lw=1.2,
                   label=rf"chosen $\varepsilon = {_power_of_ten(chosen_eps)}$")
    ax.axhspan(1e-20, GOOD, color="tab:green", alpha=0.08, lw=0,
               label=rf"good: error $< {_power_of_ten(GOOD)}$")
    ax.axhspan(WRONG, 1e3, color="tab:red", alpha=0.08, lw=0,
               label=rf"wrong: error $> {_power_of_ten(WRONG)}$")
    ax.set_ylim(lowest / 10, 10)
    ax.set_xlabel(r"$\varepsilon$ (half step of the central difference)", fontsize=_FONT["label"])
    ax.set_ylabel(r"max relative error $|a-n|\,/\,(|a|+|n|)$", fontsize=_FONT["label"])
    ax.set_title(title, fontsize=_FONT["title"])
    ax.tick_params(labelsize=_FONT["ticks"])
    ax.invert_xaxis()
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=_FONT["legend"], ncol=3, loc="upper center", bbox_to_anchor=(0.5, -0.16),
              frameon=False, columnspacing=1.0, handlelength=1.6)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150, bbox_inches="tight")
    return fig
