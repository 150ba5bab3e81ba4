"""Pascanu's cliff: the loss surface of a one-unit RNN, and gradient descent on it with and without clipping.

Pascanu, Mikolov & Bengio (2013, "On the difficulty of training recurrent neural networks", section 3, fig. 6)
draw the error surface of a single-unit recurrent network and show that it has walls: where a small change of
the weights moves the state across a bifurcation, the loss jumps and the gradient on the wall is huge. A plain
gradient step taken there throws the parameters far away; rescaling the gradient to a fixed norm when it is
larger (norm clipping) keeps the step short. The model here (``tanh`` inside, as in their one-unit example,
where the nonlinearity sits on the previous state)::

    h_t = w tanh(h_{t-1}) + b          t = 1 .. T, h_0 given (default 0.5)
    L(w, b) = (h_T - y)^2              one target y (default 0.7) for the last state

For w > 1 the map h -> w tanh(h) + b has two stable fixed points when |b| is small, and one when |b| is large:
the cliff is the line in (w, b) where the fixed point h_0 runs to disappears (a saddle-node bifurcation).

The exact gradient by backpropagation through time, written out for the scalar case (``delta_t = dL/dh_t``)::

    delta_T     = 2 (h_T - y)
    dL/dw      += delta_t tanh(h_{t-1})                  for t = T .. 1
    dL/db      += delta_t
    delta_{t-1} = delta_t w (1 - tanh(h_{t-1})^2)

Gradient descent: p <- p - lr g; clipped: g <- g * max_norm / ||g|| when ||g|| > max_norm (Pascanu et al.'s
algorithm 1), so a clipped step is at most ``lr * max_norm`` long.

Example:
    >>> loss, dw, db = cliff_grad(1.5, 0.0, T=5)
    >>> round(float(loss), 4) == round(float(cliff_loss(1.5, 0.0, T=5)), 4)
    True
"""

from __future__ import annotations

import numpy as np


def _check(T, h0, target):
    if isinstance(T, bool) or not isinstance(T, (int, np.integer)) or T < 1:
        raise ValueError(f"T must be an integer >= 1, got {T!r}")
    for name, v in (("h0", h0), ("target", target)):
        if not np.isfinite(v):
            raise ValueError(f"{name} must be a finite number, got {v!r}")


def cliff_states(w, b, T=50, h0=0.5):
    """The states h_0 .. h_T of ``h_t = w tanh(h_{t-1}) + b``, for scalars or arrays ``w``, ``b`` (broadcast).

    Returns:
        array (T + 1, *shape) of float64, shape = the broadcast shape of w and b.

    Example:
        >>> cliff_states(1.0, 0.0, T=2, h0=0.5).round(3).tolist()
        [0.5, 0.462, 0.432]
    """
    _check(T, h0, 0.0)
    w, b = np.asarray(w, dtype=np.float64), np.asarray(b, dtype=np.float64)
    hs = np.empty((T + 1, *np.broadcast(w, b).shape))
    hs[0] = h0
    for t in range(1, T + 1):
        hs[t] = w * np.tanh(hs[t - 1]) + b
    return hs


def cliff_loss(w, b, T=50, h0=0.5, target=0.7):
    """L(w, b) = (h_T - target)^2, for scalars or arrays ``w``, ``b`` (a whole grid at once).

    Example:
        >>> float(cliff_loss(0.0, 0.7, T=3))
        0.0
    """
    _check(T, h0, target)
    return (cliff_states(w, b, T, h0)[-1] - target) ** 2


def cliff_grad(w, b, T=50, h0=0.5, target=0.7):
    """The loss and its exact gradient (dL/dw, dL/db) by backpropagation through time (module docstring).

    Returns:
        ``loss, dw, db``: floats for scalar ``w``, ``b`` (arrays of their broadcast shape otherwise).

    Example:
        >>> _, dw, db = cliff_grad(0.0, 0.2, T=3, target=0.7)
        >>> round(float(db), 12)           # h_T = b: dL/db = 2 (b - y)
        -1.0
    """
    _check(T, h0, target)
    hs = cliff_states(w, b, T, h0)  # (T + 1, *shape)
    delta = 2.0 * (hs[-1] - target)  # dL/dh_T
    dw, db = np.zeros_like(delta), np.zeros_like(delta)
    for t in range(T, 0, -1):
        a = np.tanh(hs[t - 1])
        dw += delta * a
        db += delta
        delta = delta * w * (1.0 - a * a)  # dL/dh_{t-1}
    loss = (hs[-1] - target) ** 2
    if loss.ndim == 0:
        return float(loss), float(dw), float(db)
    return loss, dw, db


def cliff_growth(w, b, T=50, h0=0.5):
    """|dh_T/dh_0| = prod_{t=1..T} |w (1 - tanh(h_{t-1})^2)|: how much the gradient grows through time from
    the loss back to h_0 (the ratio |delta_0| / |delta_T| of the module docstring).

    Example:
        >>> float(cliff_growth(2.0, 0.0, T=1, h0=0.0))      # one step at tanh's steepest point: w
        2.0
    """
    hs = cliff_states(w, b, T, h0)
    return np.prod(np.abs(w * (1.0 - np.tanh(hs[:-1]) ** 2)), axis=0)


def descend(start, lr=0.1, steps=60, max_norm=None, T=50, h0=0.5, target=0.7):
    """Gradient descent on L(w, b) from ``start`` = (w, b), clipped to ``max_norm`` (None: not clipped).

    Returns:
        dict ``path`` (steps + 1, 2) of (w, b), ``loss`` (steps + 1,), ``grad_norm`` (steps,) before
        clipping, ``step`` (steps,) the length of each step taken. Stops early (the rest NaN) if the loss
        is no longer finite.

    Example:
        >>> d = descend((1.5, -0.5), lr=0.1, steps=3, max_norm=1.0, T=10)
        >>> d["path"].shape, bool(np.all(d["step"] <= 0.1 + 1e-12))
        ((4, 2), True)
    """
    if max_norm is not None and not max_norm > 0:
        raise ValueError(f"max_norm must be a number > 0 or None, got {max_norm!r}")
    if not lr > 0:
        raise ValueError(f"lr must be a number > 0, got {lr!r}")
    path = np.full((steps + 1, 2), np.nan)
    loss, gnorm, step = np.full(steps + 1, np.nan), np.full(steps, np.nan), np.full(steps, np.nan)
    p = np.array(start, dtype=np.float64)
    for k in range(steps + 1):
        path[k] = p
        with np.errstate(over="ignore", invalid="ignore"):
            loss[k], dw, db = cliff_grad(p[0], p[1], T, h0, target)
        g = np.array([dw, db])
        if k == steps or not np.all(np.isfinite(g)):
            break
        gnorm[k] = np.hypot(dw, db)
        if max_norm is not None and gnorm[k] > max_norm:
            g = g * (max_norm / gnorm[k])
        p = p - lr * g
        step[k] = lr * np.hypot(*g)
    return {"path": path, "loss": loss, "grad_norm": gnorm, "step": step}


def cliff_demo(
    start=(3.25, -0.25),
    lr=0.05,
    steps=100,
    max_norm=1.0,
    T=50,
    h0=0.5,
    target=0.7,
    w_range=(0.0, 4.0),
    b_range=(-1.5, 1.5),
    n=201,
):
    """The loss surface on an ``n`` x ``n`` grid of (w, b) and two descents from ``start``, clipped and not.

    Returns:
        dict ``protocol``, ``w`` (n,), ``b`` (n,), ``loss`` (n, n) indexed [b, w], and ``clipped`` /
        ``unclipped`` -> :func:`descend`'s dict.

    Example:
        >>> res = cliff_demo(steps=3, n=5, T=10)
        >>> res["loss"].shape, res["clipped"]["path"].shape
        ((5, 5), (4, 2))
    """
    w = np.linspace(*w_range, n)
    b = np.linspace(*b_range, n)
    with np.errstate(over="ignore", invalid="ignore"):
        surface = cliff_loss(w[None, :], b[:, None], T, h0, target)  # (n_b, n_w)
    kw = dict(lr=lr, steps=steps, T=T, h0=h0, target=target)
    return {
        "protocol": {
            "name": "cliff",
            "model": f"h_t = w tanh(h_(t-1)) + b, h_0 = {h0:g}, T = {T}",
            "loss": f"(h_T - {target:g})^2",
            "training": f"gradient descent lr={lr:g}, {steps} steps from (w, b) = {tuple(start)}, "
            f"clipped to {max_norm:g} or not",
        },
        "start": np.array(start, dtype=np.float64),
        "max_norm": max_norm,
        "lr": lr,
        "T": T,
        "h0": h0,
        "w": w,
        "b": b,
        "loss": surface,
        "unclipped": descend(start, max_norm=None, **kw),
        "clipped": descend(start, max_norm=max_norm, **kw),
    }


def cliff_summary(res):
    """The numbers the figure and the command report, per descent: the largest gradient norm (and its step),
    the through-time growth |dh_T/dh_0| there (:func:`cliff_growth`), the longest step taken, the final loss
    and the final (w, b).

    Example:
        >>> s = cliff_summary(cliff_demo(steps=3, n=5, T=10))
        >>> sorted(s["clipped"])
        ['final_loss', 'final_point', 'growth_at_max', 'longest_step', 'max_grad_norm', 'max_grad_step']
    """
    out = {}
    for name in ("unclipped", "clipped"):
        d = res[name]
        k = int(np.nanargmax(d["grad_norm"]))
        finite = np.flatnonzero(np.isfinite(d["loss"]))
        out[name] = {
            "max_grad_norm": float(d["grad_norm"][k]),
            "max_grad_step": k,
            "growth_at_max": float(cliff_growth(*d["path"][k], res["T"], res["h0"])),
            "longest_step": float(np.nanmax(d["step"])),
            "final_loss": float(d["loss"][finite[-1]]),
            "final_point": d["path"][finite[-1]].tolist(),
        }
    return out


def plot_cliff(res, path=None):
    """Left: log10 of the loss surface over (w, b) (the cliff is the thin bright wall) with both descents from
    the same start; a step that leaves the frame is drawn as an arrow to the edge, labelled with where it
    lands. Right: the gradient norm at each step (before clipping), both descents, log scale.

    ``res`` from :func:`cliff_demo`; returns the Figure and saves a PNG at 150 dpi if ``path`` is given.
    """
    from . import style

    with style.house():
        fig, (ax, ax2) = style.figure(2, 5.4, 4.6)
        fig.subplots_adjust(wspace=0.45)
        w, b, s = res["w"], res["b"], cliff_summary(res)
        im = ax.pcolormesh(w, b, np.log10(res["loss"] + 1e-12), cmap="viridis", shading="auto", vmin=-6)
        fig.colorbar(im, ax=ax, label=r"$\log_{10} L(w, b)$")
        box = (w[0], w[-1], b[0], b[-1])
        for name, color, ls in (("unclipped", "#ff7f0e", "-"), ("clipped", "#d62728", "-")):
            p = res[name]["path"]
            p = p[np.all(np.isfinite(p), axis=1)]
            inside = (p[:, 0] >= box[0]) & (p[:, 0] <= box[1]) & (p[:, 1] >= box[2]) & (p[:, 1] <= box[3])
            first_out = np.flatnonzero(~inside)
            shown = p[: first_out[0]] if first_out.size else p
            ax.plot(shown[:, 0], shown[:, 1], color=color, ls=ls, marker="o", ms=3, lw=1.5,
                    label=f"{name}: max $\\|g\\|$ {s[name]['max_grad_norm']:.2g}, final L "
                    f"{s[name]['final_loss']:.1e}")
            if first_out.size:
                a, z = shown[-1], p[first_out[0]]
                t = min((lim - a[i]) / (z[i] - a[i]) for i, lim in ((0, box[1] if z[0] > a[0] else box[0]),
                                                                    (1, box[3] if z[1] > a[1] else box[2]))
                        if z[i] != a[i])
                edge = a + 0.97 * t * (z - a)
                ax.annotate("", xy=edge, xytext=a, arrowprops=dict(arrowstyle="->", color=color, lw=2))
                ax.annotate(f"thrown to\n({z[0]:.1f}, {z[1]:.1f})", xy=edge, xytext=(-12, -4),
                            textcoords="offset points", color=color, fontsize=10, ha="right", va="top")
        ax.plot(*res["start"], marker="*", color="black", ms=12, ls="none", label="start")
        ax.set_xlim(box[0], box[1])
        ax.set_ylim(box[2], box[3])
        ax.set_xlabel("$w$")
        ax.set_ylabel("$b$")
        ax.set_title(r"$h_t = w\,\tanh(h_{t-1}) + b$, $L = (h_T - y)^2$")
        ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
        for name, color in (("unclipped", "#ff7f0e"), ("clipped", "#d62728")):
            g = res[name]["grad_norm"]
            ax2.plot(np.arange(len(g)), g, color=color, marker="o", ms=3, lw=1.5, label=name)
        ax2.axhline(res["max_norm"], color="0.4", ls=":", lw=1, label=f"threshold {res['max_norm']:g}")
        ax2.set_yscale("log")
        ax2.set_xlabel("gradient-descent step")
        ax2.set_ylabel(r"$\|\nabla L\|$ (before clipping)")
        ax2.set_title("Gradient norm per step")
        ax2.legend(loc="upper center", bbox_to_anchor=(0.5, -0.15), frameon=False)
        p = res["protocol"]
        style.footer(fig, f"Protocol: {p['model']}, L = {p['loss']}, {p['training']}.")
        return style.save(fig, path)
