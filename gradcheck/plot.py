"""Figures of gradient checks. matplotlib is imported inside each function, so ``import gradcheck`` never
needs it."""

from __future__ import annotations


def plot_eps_sweep(sweep: dict, path=None, *, title: str = "Central-difference error against eps", ax=None):
    """Draw the max relative error of each tensor against eps on log-log axes (the V of truncation vs
    round-off).

    Args:
        sweep: what ``gradcheck.eps_sweep`` returns.
        path: if given, the figure is also saved there (PNG by extension, 120 dpi).
        title: the axes title.
        ax: an existing matplotlib Axes to draw into (default: a new figure).
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
        fig, ax = plt.subplots(figsize=(6.4, 4.2))
    else:
        fig = ax.figure
    eps = sweep["eps"]
    lowest = 1e-7
    for name, errors in sweep["max_rel_error"].items():
        floor = [max(e, 1e-17) for e in errors]  # an exact zero has no place on a log axis
        lowest = min([lowest] + floor)
        ax.loglog(eps, floor, marker="o", label=name)
    ax.axhspan(1e-20, 1e-7, color="tab:green", alpha=0.08, lw=0)  # CS231n: good
    ax.axhspan(1e-2, 1e3, color="tab:red", alpha=0.08, lw=0)  # CS231n: wrong
    ax.set_ylim(lowest / 10, 10)
    ax.set_xlabel("eps (half step of the central difference)")
    ax.set_ylabel("max relative error |a-n| / (|a|+|n|)")
    ax.set_title(title)
    ax.invert_xaxis()
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize="small", ncol=2)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=120)
    return fig
