"""The remedies for vanishing gradients, measured: which initialisation lets which cell learn the adding
problem at which length, over seeds; and PyTorch's default initialisation against Keras'.

- :data:`CONFIGS`: tanh RNN (default, orthogonal W_hh (Saxe et al. 2014), IRNN = ReLU with W_hh = I (Le et al.
  2015)), LSTM (default, forget bias 1 (Gers et al. 2000; Jozefowicz et al. 2015), chrono (Tallec & Ollivier
  2018)), GRU (default). Each is built by :func:`build_layer` with ``minirnn.init``.
- :func:`learnability`: success rate against T on the adding problem (solved: held-out MSE below
  ``threshold``), the runs in parallel through :func:`minirnn.analysis.sweep.sweep` (resumable when given
  ``path``).
- :func:`keras_defaults_` and :func:`defaults_profiles`: the gradient profile of every cell at PyTorch's
  default (every weight U(-1/sqrt(H), 1/sqrt(H))) and at Keras' (glorot-uniform W_ih, orthogonal W_hh, zero
  biases, forget bias 1 where there is a forget gate).
"""

from __future__ import annotations

import numpy as np

from ..cells import registry
from ..nn import init
from ..nn.recurrent import LAYERS
from .experiments import _measure, _protocol, _protocol_a
from .tasks import train_task

#: name -> (cell, setup, label). ``setup`` is applied by :func:`build_layer`.
CONFIGS = {
    "rnn": ("rnn", "default", "tanh RNN, default init"),
    "rnn_orthogonal": ("rnn", "orthogonal", "tanh RNN, orthogonal $W_{hh}$"),
    "irnn": ("rnn", "irnn", "IRNN: ReLU, $W_{hh} = I$"),
    "lstm": ("lstm", "default", "LSTM, default init"),
    "lstm_fb1": ("lstm", "forget_bias_1", "LSTM, forget bias 1"),
    "lstm_chrono": ("lstm", "chrono", "LSTM, chrono init"),
    "gru": ("gru", "default", "GRU, default init"),
}
#: The line style of each setup in the figures (the colour is the cell's).
SETUP_STYLE = {"default": "-", "orthogonal": "--", "irnn": ":", "forget_bias_1": "--", "chrono": ":"}


def build_layer(config, input_size, hidden, seed, T_max=100):
    """The layer of configuration ``config`` (a key of :data:`CONFIGS`), PyTorch's default init then the
    setup.

    Example:
        >>> irnn = build_layer("irnn", 2, 4, seed=0)
        >>> irnn.nonlinearity, irnn.params["weight_hh_l0"].tolist()[0]
        ('relu', [1.0, 0.0, 0.0, 0.0])
    """
    if config not in CONFIGS:
        raise ValueError(f"config must be one of {tuple(CONFIGS)}, got {config!r}")
    cell, setup, _ = CONFIGS[config]
    options = {"nonlinearity": "relu"} if setup == "irnn" else {}
    layer = LAYERS[cell](input_size, hidden, dtype=np.float64, seed=seed, **options)
    rng = np.random.default_rng(50_000 + seed)
    if setup in ("orthogonal", "irnn"):
        W = layer.params["weight_hh_l0"]
        init.orthogonal_(W, rng=rng) if setup == "orthogonal" else init.identity_(W)
        if setup == "irnn":
            layer.params["bias_ih_l0"][...] = layer.params["bias_hh_l0"][...] = 0.0
    elif setup == "forget_bias_1":
        init.forget_bias_(layer, 1.0)
    elif setup == "chrono":
        init.chrono_(layer, T_max, rng=rng)
    return layer


def learn_one(config, T, seed, steps, hidden, batch, lr, threshold):
    """One run of :func:`learnability`: train ``config`` on the adding problem of length T; dict ``test``,
    ``solved`` (test MSE < threshold) and ``final_loss`` (mean of the last 10 training losses)."""
    layer = build_layer(config, 2, hidden, seed, T_max=T)
    _, _, hist = train_task("adding", CONFIGS[config][0], T, hidden, steps, batch, lr, seed=seed, layer=layer)
    test = float(hist["test"])
    return {
        "test": test,
        "solved": bool(np.isfinite(test) and test < threshold),
        "final_loss": float(np.nanmean(hist["loss"][-10:])),
    }


def learnability(
    configs=tuple(CONFIGS),
    Ts=(25, 50, 100),
    seeds=5,
    steps=500,
    hidden=32,
    batch=32,
    lr=1e-2,
    threshold=0.05,
    path=None,
    n_jobs=-1,
    progress=False,
):
    """Success rate against T on the adding problem, per configuration, over ``seeds`` seeds.

    Each run: :func:`build_layer` (chrono with T_max = T) + Linear head, ``steps`` Adam steps (lr, clip 1) of
    ``batch`` fresh sequences, then the MSE on 1000 fresh sequences; solved = MSE < ``threshold``. Predicting
    1 scores 1/6; a model that remembers only one of the two numbers scores 1/12.

    Returns:
        dict ``protocol``, ``Ts``, ``configs``, ``labels``, ``cells``, ``threshold``, ``test`` (C, S, len(Ts))
        and ``success`` (C, len(Ts)): the fraction of seeds solved.
    """
    from .sweep import sweep

    Ts, configs = [int(T) for T in Ts], list(configs)
    jobs = [
        {
            "config": c,
            "T": T,
            "seed": s,
            "steps": steps,
            "hidden": hidden,
            "batch": batch,
            "lr": lr,
            "threshold": threshold,
        }
        for s in range(seeds)
        for T in Ts
        for c in configs
    ]
    rows = sweep(learn_one, jobs, path, n_jobs=n_jobs, progress=progress, desc="learnability")
    test = np.full((len(configs), seeds, len(Ts)), np.nan)
    for row in rows:
        j = row["job"]
        test[configs.index(j["config"]), j["seed"], Ts.index(j["T"])] = row["test"]
    success = np.mean(np.nan_to_num(test, nan=np.inf) < threshold, axis=1)
    return {
        "protocol": _protocol(
            name="L",
            task="adding",
            T=Ts,
            hidden=hidden,
            dtype="float64",
            seeds=seeds,
            init="see configs",
            loss="MSE",
            solved=f"test MSE < {threshold:g}",
            training=f"Adam lr={lr}, clip 1, {steps} steps x {batch} fresh sequences",
        ),
        "Ts": np.array(Ts),
        "configs": configs,
        "labels": [CONFIGS[c][2] for c in configs],
        "cells": [CONFIGS[c][0] for c in configs],
        "setups": [CONFIGS[c][1] for c in configs],
        "threshold": threshold,
        "test": test,
        "success": success,
    }


def keras_defaults_(layer, rng=None):
    """Re-initialise a single-layer layer as Keras does by default, in place; returns it.

    W_ih: glorot uniform U(-a, a), a = sqrt(6 / (I + G H));  W_hh: orthogonal (Keras' (H, G H) kernel,
    i.e. our (G H, H) with orthonormal columns);  biases 0;  forget gate bias 1 (``unit_forget_bias``) if
    the cell has one.
    """
    rng = np.random.default_rng(rng)
    W_ih = layer.params["weight_ih_l0"]
    a = np.sqrt(6.0 / (W_ih.shape[0] + W_ih.shape[1]))
    W_ih[...] = rng.uniform(-a, a, size=W_ih.shape)
    init.orthogonal_(layer.params["weight_hh_l0"], rng=rng)
    layer.params["bias_ih_l0"][...] = layer.params["bias_hh_l0"][...] = 0.0
    if "f" in layer.cell.gates:
        init.forget_bias_(layer, 1.0)
    return layer


def defaults_profiles(cells_=registry.BASE_CELLS, T=100, hidden=64, input_size=8, seeds=16, progress=False):
    """Protocol A at PyTorch's default init and at Keras' (:func:`keras_defaults_`), for every cell.

    Returns:
        dict ``protocol`` and ``"<cell>"`` / ``"<cell>_keras"`` -> profile dicts as :func:`protocol_a`'s.
    """
    res = {
        "protocol": _protocol_a(T, hidden, input_size, seeds, init="PyTorch default vs Keras default")
    }
    for cell in cells_:
        title = registry.get(cell).title
        res[cell] = _measure(
            cell, seeds, T, hidden, input_size, progress=progress, label=f"{title}, PyTorch init"
        )
        res[f"{cell}_keras"] = _measure(
            cell,
            seeds,
            T,
            hidden,
            input_size,
            progress=progress,
            modify=lambda l, s: keras_defaults_(l, 60_000 + s),
            label=f"{title}, Keras init",
        )
    return res
