"""Figures of the T-maze: held-out success against training steps, and the learned memory in the hidden state.

Each function returns the matplotlib Figure and, given ``path``, also saves it as a PNG at 150 dpi.
"""

from __future__ import annotations

import numpy as np

__all__ = ["plot_success", "hidden_pca", "plot_hidden_tracks"]


def _pyplot(path):
    import matplotlib

    inline = ("agg", "module://matplotlib_inline.backend_inline")
    if path is not None and matplotlib.get_backend().lower() not in inline:
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_success(histories: dict, path=None, title=None, chance=0.5):
    """Held-out success (greedy turns) against training step, one line per run.

    Args:
        histories: label -> the history of ``loop.fit`` (its ``eval_step`` and ``eval["success"]``).
        path: save a PNG there too, or None. title: the figure's title. chance: drawn as a dashed line.

    Example:
        >>> h = {"eval_step": [10, 20], "eval": {"success": [0.5, 1.0]}}
        >>> plot_success({"GRU": h}).axes[0].get_ylabel()
        'held-out success (correct turns)'
    """
    plt = _pyplot(path)
    fig, ax = plt.subplots(figsize=(6.4, 3.8))
    for label, h in histories.items():
        ax.plot(h["eval_step"], h["eval"]["success"], "o-", ms=3, label=label)
    ax.axhline(chance, color="gray", ls="--", lw=1, label=f"a coin at the junction ({chance:g})")
    ax.set_ylim(-0.03, 1.03)
    ax.set_xlabel("training step (one batch of episodes each)", fontsize=10)
    ax.set_ylabel("held-out success (correct turns)", fontsize=10)
    ax.legend(fontsize=9)
    ax.grid(alpha=0.3)
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig


def hidden_pca(h, lengths, k=2):
    """Project hidden states on their first ``k`` principal components.

        X = the real steps' h_t, rows (sum of lengths, H);  X - mean = U S V^T;  p_t = (h_t - mean) V[:k]^T

    Args:
        h (T, B, H) hidden states of a padded batch; lengths (B,).

    Returns:
        p (T, B, k) (NaN on padded steps), the explained variance ratio of each component (k,).

    Example:
        >>> h = np.zeros((3, 2, 4)); h[:, 0, 0] = 1.0; h[:, 1, 0] = -1.0
        >>> p, ratio = hidden_pca(h, np.array([3, 2]), k=1)
        >>> p.shape, ratio.round(3).tolist()
        ((3, 2, 1), [1.0])
    """
    T, B, H = h.shape
    real = np.arange(T)[:, None] < np.asarray(lengths)[None, :]  # (T, B)
    X = h[real]  # (n, H)
    mean = X.mean(axis=0)
    _, S, Vt = np.linalg.svd(X - mean, full_matrices=False)
    p = np.full((T, B, k), np.nan)
    p[real] = (X - mean) @ Vt[:k].T
    return p, (S[:k] ** 2) / max((S**2).sum(), 1e-300)


def plot_hidden_tracks(h, lengths, goals, path=None, title=None):
    """The learned memory: the first principal component of h_t against t, one line per episode, coloured by
    the signal seen at t = 0, and the trajectories in the plane of the first two components.

    Args:
        h (T, B, H) hidden states of greedy episodes; lengths (B,); goals (B,) the signal of each (1 up, 2
        down).

    Example:
        >>> rng = np.random.default_rng(0); h = rng.normal(size=(5, 4, 3))
        >>> len(plot_hidden_tracks(h, np.array([5, 5, 4, 5]), np.array([1, 2, 1, 2])).axes)
        2
    """
    plt = _pyplot(path)
    p, ratio = hidden_pca(h, lengths, k=2)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 3.8))
    colors = {1: "tab:blue", 2: "tab:red"}
    names = {1: "signal up", 2: "signal down"}
    seen = set()
    for b in range(h.shape[1]):
        g = int(goals[b])
        label = None if g in seen else names[g]
        seen.add(g)
        L = int(lengths[b])
        ax1.plot(np.arange(L), p[:L, b, 0], color=colors[g], alpha=0.5, lw=1, label=label)
        ax2.plot(p[:L, b, 0], p[:L, b, 1], color=colors[g], alpha=0.4, lw=1, label=label)
        ax2.plot(p[L - 1, b, 0], p[L - 1, b, 1], "o", color=colors[g], ms=4)
    ax1.set_xlabel("step $t$ (0: the start cell shows the signal)", fontsize=10)
    ax1.set_ylabel(f"PC 1 of $h_t$ ({100 * ratio[0]:.0f}% of variance)", fontsize=10)
    ax2.set_xlabel("PC 1", fontsize=10)
    ax2.set_ylabel(f"PC 2 ({100 * ratio[1]:.0f}%)", fontsize=10)
    ax2.set_title("dots: the state at the junction", fontsize=10)
    for ax in (ax1, ax2):
        ax.legend(fontsize=9)
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=11)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=150)
    return fig
