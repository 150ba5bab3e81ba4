"""Exploding gradients through time, and what clipping does about them in training.

- :func:`clipping_traces`: W_hh = 1.5 Q, inputs x 0.01, lr 0.05: the unclipped runs blow up, the clipped ones
  stay finite but do not beat the 1/6 baseline (clipping prevents the blow-up, nothing more).
- :func:`clipping_rescue`: W_hh = 1.3 Q, T = 20, inputs x 0.5, lr 0.2: the unclipped runs diverge, the
  clipped ones learn (held-out MSE below ``threshold``), counted over seeds, with the held-out loss, the
  growth through time and the spectral radius at every step. Measured (``minirnn vanishing --experiment
  clipping``): at init the growth through time is 5.3 to 17 and the gradient norm 13 to 34; one unclipped
  step along it saturates the tanh (growth after it 4e-11 to 0.17), and the later norm spikes, at growth
  below 0.35, are the optimizer diverging. Clipped, the growth stays near 1. A cliff to draw: ``cliff.py``.
- :func:`first_spike`: the first step whose gradient norm exceeds 10 x the running median.

Example:
    >>> res = clipping_traces(T=10, hidden=4, steps=3, seeds=1)
    >>> res["clipped"]["grad_norm"].shape
    (1, 3)
"""

from __future__ import annotations

import numpy as np

from .experiments import _gain_rnn, _progress, _protocol
from .gradients import decay_ratio, gradient_norms
from .tasks import train_task


def clipping_traces(
    gain=1.5,
    T=50,
    hidden=32,
    input_scale=0.01,
    steps=200,
    batch=32,
    lr=0.05,
    max_norm=1.0,
    seeds=5,
    progress=False,
    eval_every=0,
):
    """Exploding gradients through time, then in training: tanh RNN with W_hh = gain * Q, zero biases, small
    inputs (adding problem x ``input_scale``, so tanh stays near its linear range), plain SGD, with and
    without global norm clipping to ``max_norm``, over ``seeds`` seeds.

    Before any update, ``growth`` = ||dL/dh_0|| / ||dL/dh_{T-1}|| (L = sum(h_{T-1})) measures the explosion
    through time: a linear RNN would give gain^(T-1) exactly.

    With ``eval_every`` > 0 the held-out MSE (200 fixed sequences) is measured every ``eval_every`` steps.
    (Over 60 lines because the protocol record and the result arrays are spelled out where they are filled.)

    Returns:
        dict ``protocol``, ``growth`` (S,), and ``clipped`` / ``unclipped`` -> dict ``loss``, ``grad_norm``
        (S, steps), ``growth_step`` (S, steps) the growth through time at the weights of every step (NaN
        after a divergence), ``radius_step`` (S, steps) the spectral radius of W_hh there, ``test`` (S,)
        (NaN where training diverged), ``growth_end`` (S,) the growth through time at the last weights
        (just before the step that diverged, if one did); with ``eval_every`` also ``eval_step`` (E,) and
        ``eval_loss`` (S, E) per run.
    """
    from ..data import adding_problem

    res = {
        "protocol": _protocol(
            name="E",
            task="adding",
            T=T,
            hidden=hidden,
            dtype="float64",
            seeds=seeds,
            inputs=f"adding problem x {input_scale:g}",
            init=f"W_hh = {gain:g} Q (Q orthogonal), W_ih default, biases 0",
            training=f"SGD lr={lr}, {steps} steps x {batch}, clip to {max_norm:g} or none",
        ),
        "gain": gain,
        "growth": np.empty(seeds),
    }
    for name in ("unclipped", "clipped"):
        res[name] = {
            "growth_step": np.full((seeds, steps), np.nan),
            "radius_step": np.full((seeds, steps), np.nan),
            "loss": np.empty((seeds, steps)),
            "grad_norm": np.empty((seeds, steps)),
            "test": np.empty(seeds),
            "growth_end": np.empty(seeds),
        }
        if eval_every > 0:
            res[name]["eval_loss"] = np.empty((seeds, len(range(0, steps, eval_every)) + 1))
    for s in _progress(range(seeds), "clipping", progress):
        x = adding_problem(1, T, seed=40_000 + s)[0] * input_scale
        res["growth"][s] = decay_ratio(gradient_norms(_gain_rnn(gain, hidden, 2, s), x, np.ones((1, hidden))))
        for name, clip in (("unclipped", None), ("clipped", max_norm)):
            kw = dict(clip=clip, seed=s, optimizer="sgd", input_scale=input_scale, eval_every=eval_every)
            d = res[name]
            kw["on_step"] = _record_growth(d["growth_step"][s], d["radius_step"][s], x, hidden)
            with np.errstate(over="ignore", invalid="ignore"):  # an unclipped run may overflow: recorded
                layer, _, h = train_task("adding", "rnn", T, hidden, steps, batch, lr,
                                         layer=_gain_rnn(gain, hidden, 2, s), **kw)
            with np.errstate(all="ignore"):  # the weights of the last step taken (before a divergence)
                res[name]["growth_end"][s] = decay_ratio(gradient_norms(layer, x, np.ones((1, hidden))))
            for k in ("loss", "grad_norm", "test") + (("eval_loss",) if eval_every > 0 else ()):
                res[name][k][s] = h[k]
            if eval_every > 0:
                res[name]["eval_step"] = h["eval_step"]
    return res


def _record_growth(growth, radius, x, hidden):
    """An ``on_step`` for ``train_task`` that writes, at each step's weights, the growth through time
    ``decay_ratio(gradient_norms(layer, x, ones))`` (the same probe as the ``growth`` at init) into
    ``growth[step]`` and the spectral radius max |eig(W_hh)| into ``radius[step]``."""

    def on_step(step, layer, _x, _dout):
        with np.errstate(all="ignore"):  # a diverging run: inf / NaN recorded as they are
            growth[step] = decay_ratio(gradient_norms(layer, x, np.ones((1, hidden))))
        W = layer.params["weight_hh_l0"]
        radius[step] = np.abs(np.linalg.eigvals(W)).max() if np.isfinite(W).all() else np.nan

    return on_step


def first_spike(norms, factor=10.0, window=50, warmup=3):
    """The first step whose gradient norm exceeds ``factor`` times the median of the (up to) ``window``
    norms before it, or is not finite (an overflow); -1 if there is none. The first ``warmup`` steps have
    too short a history to compare with and are never spikes (unless not finite).

    ``norms``: (steps,) array (NaN after a divergence is ignored: the overflow before it is the spike).

    Example:
        >>> first_spike(np.array([1.0, 2, 1, 1.5, 1, 30, 1]))
        5
        >>> first_spike(np.array([1.0, 2, 1, 1.5]))
        -1
    """
    norms = np.asarray(norms, dtype=float)
    if norms.ndim != 1:
        raise ValueError(f"norms must be a 1-d array (steps,), got shape {norms.shape}")
    for k, n in enumerate(norms):
        if np.isnan(n):
            return -1
        if np.isinf(n):
            return k
        if k >= warmup and n > factor * np.median(norms[max(0, k - window) : k]):
            return k
    return -1


def clipping_rescue(
    gain=1.3,
    T=20,
    hidden=16,
    input_scale=0.5,
    steps=2000,
    batch=32,
    lr=0.2,
    max_norm=1.0,
    seeds=5,
    threshold=0.15,
    eval_every=25,
    progress=False,
):
    """Clipping that turns a failing run into a learning one: :func:`clipping_traces` at a setting where plain
    SGD diverges without clipping and learns with it (tanh RNN, W_hh = ``gain`` Q, zero biases, adding problem
    x ``input_scale``, SGD lr ``lr``, global norm clipping to ``max_norm``, Pascanu et al. 2013).

    A run *learns* when its held-out MSE (1000 fresh sequences) is below ``threshold`` (predicting 1 scores
    1/6, remembering one of the two numbers 1/12); a run that diverged (NaN) fails.

    Returns:
        :func:`clipping_traces`'s dict (with ``eval_step`` / ``eval_loss``), plus ``threshold`` and per
        variant ``learned`` (S,) bool, ``max_grad_norm`` (S,) (inf where the norm overflowed), ``spike``
        (S,) the first step whose norm spikes (:func:`first_spike`; -1: none) and ``growth_spike`` (S,) the
        growth through time at that step's weights (NaN where there is no spike).

    Example:
        >>> res = clipping_rescue(T=5, hidden=4, steps=4, batch=4, seeds=1, eval_every=2)
        >>> res["clipped"]["eval_loss"].shape, res["clipped"]["learned"].dtype
        ((1, 3), dtype('bool'))
    """
    args = (gain, T, hidden, input_scale, steps, batch, lr, max_norm, seeds, progress, eval_every)
    res = clipping_traces(*args)
    res["protocol"]["solved"] = f"learned = held-out MSE < {threshold:g}"
    res["threshold"], res["max_norm"] = threshold, max_norm
    for name in ("unclipped", "clipped"):
        d = res[name]
        d["learned"] = np.nan_to_num(d["test"], nan=np.inf) < threshold
        d["max_grad_norm"] = np.nanmax(d["grad_norm"], axis=1)  # inf where the norm overflowed
        d["spike"] = np.array([first_spike(g) for g in d["grad_norm"]])
        d["growth_spike"] = np.array(
            [gr[k] if k >= 0 else np.nan for gr, k in zip(d["growth_step"], d["spike"])]
        )
    return res
