"""Looking inside a character model: every unit's activation over a text, and its correlation with a feature.

    acts = unit_activations(model, "def f(x):\\n    return x")  # {"h": (N, H), "c": (N, H)} for an LSTM
    r = unit_correlations(acts["c"], indentation)             # (H,) Pearson r of each unit with the feature
    k = int(np.argmax(np.abs(r)))                              # the unit that tracks it best

Karpathy, Johnson & Fei-Fei (2015), "Visualizing and Understanding Recurrent Networks", found single LSTM
cells that track quotes, line length and indentation this way. A correlation means little alone: the best of
H units of an *untrained* model (the same search, same text) shows how large |r| gets by chance.
"""

from __future__ import annotations

import numpy as np

__all__ = ["unit_activations", "unit_correlations", "plot_unit_text"]


def unit_activations(model, text):
    """The states of a :class:`CharLM`'s last recurrent layer after each character of ``text``, from zeros.

    The model reads ``text`` one character at a time (batch of one, in eval mode, restored afterwards) and
    the state after character t is recorded: ``h[t]`` (the layer's output) and, for an LSTM, the cell
    state ``c[t]``.

    Args:
        model: a CharLM with a character vocabulary.  text: a non-empty str in its vocabulary.

    Returns:
        dict ``{"h": (N, H)}``, plus ``"c": (N, H)`` for an LSTM; N = len(text), float64.

    Example:
        >>> from minirnn.models import CharLM
        >>> lm = CharLM("ab \\n", 8, seed=0)
        >>> acts = unit_activations(lm, "ab\\n ba")
        >>> acts["h"].shape, acts["c"].shape
        ((6, 8), (6, 8))
    """
    if getattr(model, "vocab", None) is None or not hasattr(model, "rnn"):
        raise TypeError(f"model must be a CharLM with a character vocabulary, got {type(model).__name__}")
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str, got {text!r:.40}")
    ids = model.vocab.encode(text)  # (N,)
    was_training = model.training
    model.eval()
    try:
        e = model.embed(ids[:, None])  # (N, 1, E)
        state, hs, cs = None, [], []
        for t in range(len(ids)):
            _, state = model.rnn(e[t : t + 1], state)  # h (L, 1, H), or (h, c) for an LSTM
            h, c = state if isinstance(state, tuple) else (state, None)
            hs.append(h[-1, 0].copy())
            if c is not None:
                cs.append(c[-1, 0].copy())
    finally:
        model.train(was_training)
    acts = {"h": np.array(hs, dtype=np.float64)}  # (N, H)
    if cs:
        acts["c"] = np.array(cs, dtype=np.float64)  # (N, H)
    return acts


def unit_correlations(activations, feature):
    """The Pearson correlation of every unit with a per-character feature.

        r_k = sum_t (a_tk - mean_k)(f_t - mean_f) / sqrt(sum_t (a_tk - mean_k)^2 * sum_t (f_t - mean_f)^2)

    A unit that never changes over the text gets r = 0 (it tells nothing about the feature).

    Args:
        activations: (N, H) array, e.g. ``unit_activations(model, text)["c"]``.
        feature: (N,) array, e.g. the ``in_string`` of :func:`minirnn.data.code_features`; it must vary.

    Returns:
        r (H,) float64 in [-1, 1].

    Example:
        >>> a = np.array([[1.0, 5.0], [2.0, 5.0], [3.0, 5.0]])
        >>> unit_correlations(a, [3.0, 2.0, 1.0]).round(6).tolist()
        [-1.0, 0.0]
    """
    a = np.asarray(activations, dtype=np.float64)
    f = np.asarray(feature, dtype=np.float64)
    if a.ndim != 2:
        raise ValueError(f"activations must have shape (N, H), got {a.shape}")
    if f.shape != (a.shape[0],):
        raise ValueError(f"feature must have shape (N,) = ({a.shape[0]},), one value per row, got {f.shape}")
    if a.shape[0] < 2 or not (np.all(np.isfinite(a)) and np.all(np.isfinite(f))):
        raise ValueError("activations and feature must be finite, with at least 2 rows")
    a = a - a.mean(axis=0)  # (N, H)
    f = f - f.mean()  # (N,)
    if not np.any(f):
        raise ValueError("feature must vary over the text: it is constant, so no correlation is defined")
    norm = np.sqrt((a**2).sum(axis=0) * (f**2).sum())  # (H,)
    dot = f @ a  # (H,)
    return np.divide(dot, norm, out=np.zeros_like(dot), where=norm > 0)


def plot_unit_text(text, activation, label="activation", title=None, path=None, max_cols=80):
    """Draw ``text`` as laid out, each character on a background coloured by the unit's activation there.

    Red is above zero, blue below, white at zero, on a scale symmetric about zero (the largest |activation|
    in the stretch). Lines longer than ``max_cols`` are cut in the drawing only (shown with a final "…").
    Karpathy et al. (2015) drew their LSTM cells this way.

    Args:
        text: str of N characters (newlines start new rows).  activation: (N,) array, the unit over ``text``.
        label: the colour bar's label (math allowed).  title: the figure's title.
        path: a PNG to save (150 dpi).

    Returns:
        the matplotlib Figure.

    Example:
        >>> fig = plot_unit_text("if x:\\n    y = 'a'", np.linspace(-1, 1, 17), label="$c_t[3]$")
        >>> len(fig.axes)        # the text and its colour bar
        2
    """
    import matplotlib.pyplot as plt
    from matplotlib.colors import Normalize

    from ..analysis import style

    act = np.asarray(activation, dtype=np.float64)
    if not isinstance(text, str) or not text:
        raise ValueError(f"text must be a non-empty str, got {text!r:.40}")
    if act.shape != (len(text),) or not np.all(np.isfinite(act)):
        raise ValueError(
            f"activation must be finite with shape (len(text),) = ({len(text)},), got {act.shape}"
        )
    lines = text.split("\n")
    cols = min(max_cols, max(len(line) for line in lines) + 1)
    scale = float(np.max(np.abs(act))) or 1.0
    norm, cmap = Normalize(-scale, scale), plt.get_cmap("RdBu_r")
    with style.house():
        fig, ax = plt.subplots(figsize=(min(style.MAX_WIDTH, 1.0 + 0.118 * cols), 0.6 + 0.205 * len(lines)))
        i = 0  # position in text
        for row, line in enumerate(lines):
            for col, ch in enumerate(line + "\n"):
                if i >= len(text):
                    break
                if col < cols:
                    ax.add_patch(plt.Rectangle((col, -row - 1), 1, 1, color=cmap(norm(act[i])), lw=0))
                    shown = "…" if col == cols - 1 and col < len(line) else ("" if ch == "\n" else ch)
                    ax.text(col + 0.5, -row - 0.5, shown, ha="center", va="center", family="monospace",
                            fontsize=10)
                i += 1
        ax.set(xlim=(0, cols), ylim=(-len(lines), 0), xticks=[], yticks=[])
        ax.grid(False)
        bar = fig.colorbar(plt.cm.ScalarMappable(norm=norm, cmap=cmap), ax=ax, fraction=0.025, pad=0.01)
        bar.set_label(label)
        if title:
            ax.set_title(title)
        if path is not None:
            style.save(fig, path)
    return fig
