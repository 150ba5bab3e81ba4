"""The one figure style of minirnn, for the lecture hall: every figure function and every notebook uses it.

    from minirnn.analysis import style
    style.use()                                   # notebooks: once, after %matplotlib inline
    with style.house():                           # figure functions: around the drawing
        fig, ax = plt.subplots()
        ...
    style.save(fig, "out.png")                    # 150 dpi, tight box: nothing clipped

What it fixes, once: PNGs at :data:`DPI` = 150 dpi; no text below 10 pt at the figure's own size (figures are
drawn at most :data:`MAX_WIDTH` = 11 in wide, so on a 10 in slide text stays above 9 pt); math rendered by
mathtext (``r"$\\|\\partial L/\\partial h_t\\|$"``); one colour per cell (:func:`color`, from
``cells/registry.py``); the grid and legend frame; ``savefig`` with a tight bounding box so titles, footers
and legends outside the axes are kept.
"""

from __future__ import annotations

import textwrap

#: Resolution of every PNG minirnn writes (and of notebook figures).
DPI = 150
#: The widest figure (inches): wider figures shrink their text on a slide.
MAX_WIDTH = 11.0
#: The smallest font size used anywhere (points, at the figure's size).
MIN_FONT = 10

#: The rcParams of the house style.
RC = {
    "figure.dpi": DPI,
    "savefig.dpi": DPI,
    "savefig.bbox": "tight",
    "savefig.pad_inches": 0.1,
    "figure.facecolor": "white",
    "savefig.facecolor": "white",
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "legend.fontsize": MIN_FONT,
    "legend.title_fontsize": MIN_FONT,
    "figure.titlesize": 13,
    "axes.grid": True,
    "grid.alpha": 0.3,
    "legend.framealpha": 0.85,
    "lines.linewidth": 2.0,
    "mathtext.fontset": "dejavusans",
    "axes.formatter.use_mathtext": True,
}

#: Labels with rendered math, shared by the figures.
LABELS = {
    "profile_h": r"$\|\partial L/\partial h_t\| \;/\; \|\partial L/\partial h_{T-1}\|$",
    "profile_c": r"$\|\partial L/\partial c_t\| \;/\; \|\partial L/\partial c_{T-1}\|$",
    "profile_x": r"$\|\partial L/\partial x_t\| \;/\; \|\partial L/\partial h_{T-1}\|$",
    "t": r"time step $t$ (the loss sits on step $T-1$)",
    "distance": r"distance $T-1-t$ (steps back from the loss)",
}


def use():
    """Apply the house style to matplotlib globally (notebooks call this once, after ``%matplotlib inline``).

    In IPython it also shows every figure as a :func:`compact_png`: 150 dpi, but with a palette of 128
    colours, about a third of the bytes, so that a notebook with a dozen figures stays small enough to commit
    and diff.
    """
    import matplotlib

    matplotlib.rcParams.update(RC)
    try:
        from IPython import get_ipython
    except ImportError:
        return
    shell = get_ipython()
    if shell is not None:
        from matplotlib.figure import Figure

        shell.display_formatter.formatters["image/png"].for_type(Figure, compact_png)


def compact_png(fig, colors=128):
    """The PNG bytes of ``fig`` at :data:`DPI`, tight, reduced to a palette of ``colors`` colours (median
    cut).

    Example:
        >>> import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
        >>> fig, ax = plt.subplots(); _ = ax.plot([0, 1])
        >>> compact_png(fig)[:8] == b"\\x89PNG\\r\\n\\x1a\\n"
        True
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI, bbox_inches="tight", pad_inches=0.1, facecolor="white")
    image = (
        Image.open(io.BytesIO(buf.getvalue()))
        .convert("RGB")
        .quantize(colors=colors, method=Image.Quantize.MEDIANCUT)
    )
    out = io.BytesIO()
    image.save(out, format="PNG", optimize=True, dpi=(DPI, DPI))
    return out.getvalue()


def house():
    """A context manager in which matplotlib draws in the house style (``matplotlib.rc_context(RC)``)."""
    import matplotlib

    return matplotlib.rc_context(RC)


def color(cell: str) -> str:
    """The colour of ``cell`` ('rnn', 'lstm', 'gru', 'linear') in every figure, from the registry.

    Example:
        >>> color("lstm") == color("lstm") != color("gru")
        True
    """
    from ..cells import registry
    from .linear_rnn import LINEAR

    cells = {c.name: c for c in (*registry.CELLS.values(), LINEAR)}
    if cell not in cells:
        raise ValueError(f"cell must be one of {tuple(cells)}, got {cell!r}")
    return cells[cell].color


def figure(ncols=1, width=5.2, height=4.2, nrows=1, **kwargs):
    """``plt.subplots`` in the house style with the total width capped at :data:`MAX_WIDTH`; returns (fig,
    axes) with axes a flat array. Call inside :func:`house` (or after :func:`use`)."""
    import matplotlib.pyplot as plt

    w = min(MAX_WIDTH, width * ncols)
    h = height * nrows * (w / (width * ncols))
    fig, axes = plt.subplots(nrows, ncols, figsize=(w, h), squeeze=False, **kwargs)
    return fig, axes.ravel()


def footer(fig, text, width=None):
    """A caption under everything already drawn (axes, legends below them), wrapped to the figure's width at
    :data:`MIN_FONT` pt; the tight save keeps it."""
    chars = width or int(fig.get_figwidth() * 72 / (0.55 * MIN_FONT))  # characters per line at MIN_FONT
    # the lowest artist drawn so far, in figure units
    bottom = fig.get_tightbbox(fig.canvas.get_renderer()).y0 / fig.get_figheight()
    fig.text(
        0.0,
        min(0.0, bottom) - 0.01,
        textwrap.fill(text, chars),
        fontsize=MIN_FONT,
        color="0.3",
        va="top",
        ha="left",
        transform=fig.transFigure,
    )
    return fig


def save(fig, path):
    """Save ``fig`` as a PNG at :data:`DPI` with a tight bounding box (if ``path`` is not None); returns
    fig."""
    if path is not None:
        fig.savefig(path, dpi=DPI, bbox_inches="tight", pad_inches=0.1, facecolor="white")
    return fig
