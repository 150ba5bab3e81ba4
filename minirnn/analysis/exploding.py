"""Exploding gradients through time, and what clipping does about them in training.

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
):
    """Exploding gradients through time, then in training: tanh RNN with W_hh = gain * Q, zero biases, small
    inputs (adding problem x ``input_scale``, so tanh stays near its linear range), plain SGD, with and
    without global norm clipping to ``max_norm``, over ``seeds`` seeds.

    Before any update, ``growth`` = ||dL/dh_0|| / ||dL/dh_{T-1}|| (L = sum(h_{T-1})) measures the explosion
    through
    time: a linear RNN would give gain^(T-1) exactly.

    Returns:
        dict ``protocol``, ``growth`` (S,), and ``clipped`` / ``unclipped`` -> dict ``loss``, ``grad_norm``
        (S, steps), ``test`` (S,) (NaN where training diverged).
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
            "loss": np.empty((seeds, steps)),
            "grad_norm": np.empty((seeds, steps)),
            "test": np.empty(seeds),
        }
    for s in _progress(range(seeds), "clipping", progress):
        x = adding_problem(1, T, seed=40_000 + s)[0] * input_scale
        res["growth"][s] = decay_ratio(gradient_norms(_gain_rnn(gain, hidden, 2, s), x, np.ones((1, hidden))))
        for name, clip in (("unclipped", None), ("clipped", max_norm)):
            h = train_task(
                "adding",
                "rnn",
                T,
                hidden,
                steps,
                batch,
                lr,
                clip=clip,
                seed=s,
                optimizer="sgd",
                input_scale=input_scale,
                layer=_gain_rnn(gain, hidden, 2, s),
            )[2]
            for k in ("loss", "grad_norm", "test"):
                res[name][k][s] = h[k]
    return res
