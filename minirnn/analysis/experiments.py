"""The vanishing-gradient experiments: each returns a plain dict of arrays plus its ``protocol`` (loss,
sizes, input scale, dtype, seeds), measured with :mod:`minirnn.analysis.gradients` and trained through
    ``minirnn.training.fit``."""

from __future__ import annotations

import numpy as np

from .gradients import (
    decay_ratio,
    first_step_drop,
    gradient_norms,
    gradient_profile,
    jacobian_singular_values,
    make_layer,
    mid_range_factor,
    orthogonal,
    per_step_factor,
    set_gate_bias,
    title,
)
from .tasks import train_task


def _inputs(seed, T, B, I, scale=1.0, dtype=np.float64):
    """x ~ N(0, scale^2), (T, B, I), from its own stream (seed 10_000 + seed, independent of the weights)."""
    return (scale * np.random.default_rng(10_000 + seed).normal(size=(T, B, I))).astype(dtype)


def _progress(iterable, desc, progress, total=None):
    if not progress:
        return iterable
    from tqdm.auto import tqdm

    return tqdm(iterable, desc=desc, total=total, leave=False)


def _protocol(**kw):
    return {k: (list(v) if isinstance(v, tuple) else v) for k, v in kw.items()}


def _protocol_a(T, hidden, input_size, seeds, init):
    """Protocol A's record: one sequence of x ~ N(0, 1), loss on the last state, float64; ``init`` says how
    the weights were set."""
    return _protocol(
        name="A",
        loss="L = sum(h_{T-1}) (dh_last = ones)",
        T=T,
        hidden=hidden,
        input_size=input_size,
        batch=1,
        inputs="x ~ N(0, 1)",
        dtype="float64",
        init=init,
        seeds=seeds,
    )


def _measure(
    cell,
    seeds,
    T,
    hidden,
    input_size,
    input_scale=1.0,
    batch=1,
    modify=None,
    progress=False,
    desc="",
    label=None,
):
    """Profiles over seeds: dict h, c (LSTM), x: (S, T) arrays of norms; ratio, factor: (S,); ``cell`` and the
    ``label`` figures and tables give the row (default: the cell's title at default init)."""
    out = {"h": [], "c": [], "x": []}
    for s in _progress(range(seeds), desc or cell, progress):
        layer = make_layer(cell, input_size, hidden, seed=s)
        if modify is not None:
            modify(layer, s)
        prof = gradient_profile(
            layer, _inputs(s, T, batch, input_size, input_scale), np.ones((batch, hidden))
        )
        for k in out:
            if prof[k] is not None:
                out[k].append(prof[k])
    res = {k: np.array(v) for k, v in out.items() if v}
    res["ratio"] = decay_ratio(res["h"])
    res["factor"] = per_step_factor(res["h"])
    res["drop"], res["mid"] = first_step_drop(res["h"]), mid_range_factor(res["h"])
    if "c" in res:
        res["ratio_c"] = decay_ratio(res["c"])
    res["cell"], res["label"] = cell, label or f"{title(cell)}, default init"
    return res


def protocol_a(
    cells_=("rnn", "lstm", "gru"), T=100, hidden=64, input_size=8, seeds=16, forget_bias=3.0, progress=False
):
    """Protocol A: the gradient profile of each cell at PyTorch's default init, plus an LSTM with forget bias
    3.

    float64, x ~ N(0, 1) of shape (T, 1, input_size), h0 = c0 = 0, loss L = sum(h_{T-1}) (dh_last = ones),
    layer seed s and input seed 10000 + s for s in range(seeds).

    Returns:
        dict ``protocol`` and one entry per cell (and ``"lstm_fb3"``): ``h``/``c``/``x`` (S, T) norms,
        ``ratio`` and ``factor`` (S,), ``ratio_c`` for LSTMs.
    """
    res = {
        "protocol": _protocol_a(T, hidden, input_size, seeds, init="PyTorch default U(-1/sqrt(H), 1/sqrt(H))")
    }
    for cell in cells_:
        res[cell] = _measure(cell, seeds, T, hidden, input_size, progress=progress)
    if forget_bias is not None:
        res["protocol"]["forget_bias"] = forget_bias
        res[f"lstm_fb{forget_bias:g}"] = _measure(
            "lstm",
            seeds,
            T,
            hidden,
            input_size,
            progress=progress,
            modify=lambda l, s: set_gate_bias(l, "f", forget_bias),
            label=f"LSTM forget bias {forget_bias:g}",
        )
    return res


def cell_profiles(
    cells_=("rnn", "lstm", "gru"), T=50, hidden=32, seeds=4, steps=300, batch=32, lr=1e-2, progress=False
):
    """Protocol B: each cell's gradient profile at init and after training on the adding problem, on the same
    inputs.

    float64, input size 2 (adding-problem sequences of length T, one per seed), loss for the profile
    L = sum(h_{T-1}) (dh_last = ones), PyTorch default init; training as :func:`train_task` (Adam, lr, clip 1,
    ``steps`` steps of ``batch`` fresh sequences).

    Returns:
        dict ``protocol``, ``init`` and ``trained`` (each cell -> dict ``h``/``c`` (S, T) norms, ``ratio``,
        ``factor``), ``test_mse`` (cell -> (S,)).
    """
    from ..data import adding_problem

    res = {
        "protocol": _protocol(
            name="B",
            loss="L = sum(h_{T-1}) (dh_last = ones)",
            T=T,
            hidden=hidden,
            input_size=2,
            batch=1,
            inputs="adding-problem sequences",
            dtype="float64",
            init="PyTorch default U(-1/sqrt(H), 1/sqrt(H))",
            seeds=seeds,
            training=f"adding problem T={T}, Adam lr={lr}, clip 1, {steps} steps x {batch}",
        ),
        "init": {},
        "trained": {},
        "test_mse": {},
    }
    for cell in cells_:
        stats = {"init": {"h": [], "c": []}, "trained": {"h": [], "c": []}}
        tests = []
        for s in _progress(range(seeds), title(cell), progress):
            x = adding_problem(1, T, seed=40_000 + s)[0]
            layer = make_layer(cell, 2, hidden, seed=s)
            for when in ("init", "trained"):
                if when == "trained":
                    layer, _, hist = train_task(
                        "adding", cell, T, hidden, steps, batch, lr, seed=s, layer=layer
                    )
                    tests.append(hist["test"])
                prof = gradient_profile(layer, x, np.ones((1, hidden)))
                stats[when]["h"].append(prof["h"])
                if prof["c"] is not None:
                    stats[when]["c"].append(prof["c"])
        for when in ("init", "trained"):
            d = {k: np.array(v) for k, v in stats[when].items() if v}
            d["ratio"], d["factor"] = decay_ratio(d["h"]), per_step_factor(d["h"])
            d["drop"], d["mid"] = first_step_drop(d["h"]), mid_range_factor(d["h"])
            res[when][cell] = d
        res["test_mse"][cell] = np.array(tests)
    return res


def _gain_rnn(gain, hidden, input_size, seed, cell="rnn"):
    """A tanh (or linear) RNN with W_hh = gain * Q (Q orthogonal), default-init W_ih, and zero biases."""
    layer = make_layer(cell, input_size, hidden, seed=seed)
    layer.params["weight_hh_l0"][...] = orthogonal(hidden, seed, gain)
    layer.params["bias_ih_l0"][...] = 0
    layer.params["bias_hh_l0"][...] = 0
    return layer


def gain_sweep(
    gains=(0.5, 0.9, 1.0, 1.1, 1.5), T=100, hidden=64, input_size=8, seeds=16, input_scale=1.0, progress=False
):
    """Protocol G: tanh RNN with W_hh = g Q (Q orthogonal, seeded), zero biases, against the exact linear-RNN
    lines.

    For the linear RNN the profile is exactly g^(T-1-t); the tanh slope 1 - h^2 <= 1 can only pull it down.

    Returns:
        dict ``protocol``, ``gains``, ``profiles`` (G, S, T): ||dL/dh_t|| / ||dL/dh_{T-1}|| of the tanh RNN,
        ``exact`` (G, T): g^(T-1-t), ``factor`` (G, S).
    """
    profiles = np.empty((len(gains), seeds, T))
    for gi, g in enumerate(_progress(gains, "gain sweep", progress)):
        for s in range(seeds):
            layer = _gain_rnn(g, hidden, input_size, s)
            n = gradient_norms(layer, _inputs(s, T, 1, input_size, input_scale), np.ones((1, hidden)))
            profiles[gi, s] = n / n[-1]
    t = np.arange(T)
    return {
        "protocol": _protocol(
            name="G",
            loss="L = sum(h_{T-1})",
            T=T,
            hidden=hidden,
            input_size=input_size,
            batch=1,
            inputs=f"x ~ N(0, {input_scale:g}^2)",
            dtype="float64",
            init="W_hh = g Q (Q orthogonal), W_ih default, biases 0",
            seeds=seeds,
        ),
        "gains": np.array(gains, dtype=float),
        "profiles": profiles,
        "exact": np.array([g ** (T - 1 - t) for g in gains]),
        "factor": per_step_factor(profiles),
    }


def gain_scale_heatmap(gains=None, scales=None, T=100, hidden=64, input_size=8, seeds=4, progress=False):
    """Protocol G over a grid: the median log10 ratio ||dL/dh_0|| / ||dL/dh_{T-1}|| of the tanh RNN with W_hh
    = g Q.

    Small inputs keep tanh in its linear range, where g > 1 explodes as g^(T-1); large inputs saturate it and
    the slope 1 - h^2 turns the same g into vanishing.

    Returns:
        dict ``protocol``, ``gains`` (G,), ``scales`` (K,), ``log10_ratio`` (G, K) (median over seeds),
        ``linear`` (G,): (T-1) log10 g, the linear RNN's exact value.
    """
    gains = np.round(np.arange(0.5, 2.01, 0.1), 2) if gains is None else np.asarray(gains, dtype=float)
    scales = np.logspace(-6, 1, 8) if scales is None else np.asarray(scales, dtype=float)
    out = np.empty((len(gains), len(scales)))
    for gi, g in enumerate(_progress(gains, "gain x scale", progress)):
        for k, sc in enumerate(scales):
            r = [
                decay_ratio(
                    gradient_norms(
                        _gain_rnn(g, hidden, input_size, s),
                        _inputs(s, T, 1, input_size, sc),
                        np.ones((1, hidden)),
                    )
                )
                for s in range(seeds)
            ]
            out[gi, k] = np.median(np.log10(r))
    return {
        "protocol": _protocol(
            name="G",
            loss="L = sum(h_{T-1})",
            T=T,
            hidden=hidden,
            input_size=input_size,
            batch=1,
            inputs="x ~ N(0, scale^2)",
            dtype="float64",
            init="W_hh = g Q (Q orthogonal), W_ih default, biases 0",
            seeds=seeds,
        ),
        "gains": gains,
        "scales": scales,
        "log10_ratio": out,
        "linear": (T - 1) * np.log10(gains),
    }


#: A forget-gate bias this large gives sigmoid(b) == 1.0 exactly in float64 (and f(1 - f) == 0): the 1997
#: LSTM,
#: c_t = c_{t-1} + i * g, whose cell path carries the gradient unchanged (the constant error carousel).
CEC_BIAS = 50.0


def gate_bias_sweep(biases=(0.0, 1.0, 3.0, 5.0), T=100, hidden=64, input_size=8, seeds=16, progress=False):
    """Protocol A with the gate biases changed: LSTM forget bias b, GRU update-gate bias b, and the LSTM with
    f == 1.

    The total bias of the gate block is set to b (``set_gate_bias``: bias_ih block = b, bias_hh block = 0),
    so the gate sits near sigmoid(b), and the cell path alone would carry sigmoid(b)^(T-1-t).

    Returns:
        dict ``protocol``, ``biases``, ``lstm`` (b -> profile dict with ``h``, ``c``), ``gru`` (b -> profile
        dict), ``cec`` (profile dict of the LSTM with the forget gate fixed at 1).
    """
    res = {
        "protocol": _protocol_a(
            T, hidden, input_size, seeds, init="PyTorch default, then the gate's total bias set to b"
        ),
        "biases": np.array(biases, dtype=float),
        "lstm": {},
        "gru": {},
    }
    for b in _progress(biases, "gate biases", progress):
        res["lstm"][float(b)] = _measure(
            "lstm", seeds, T, hidden, input_size, modify=lambda l, s, b=b: set_gate_bias(l, "f", b)
        )
        res["gru"][float(b)] = _measure(
            "gru", seeds, T, hidden, input_size, modify=lambda l, s, b=b: set_gate_bias(l, "z", b)
        )
    res["cec"] = _measure(
        "lstm", seeds, T, hidden, input_size, modify=lambda l, s: set_gate_bias(l, "f", CEC_BIAS)
    )
    return res


def _non_normal(hidden, seed, low=0.3, high=0.7, scale=1.5):
    """diag(U(low, high)) + strictly upper-triangular N(0, scale^2 / H): triangular, so its eigenvalues are
    the diagonal (spectral radius < high < 1), yet ||W|| is well above 1: products of it grow before they
    decay."""
    rng = np.random.default_rng(seed)
    d = rng.uniform(low, high, size=hidden)
    n = rng.normal(scale=scale / np.sqrt(hidden), size=(hidden, hidden))
    return np.diag(d) + np.triu(n, 1)


def spectra(T=100, hidden=64, input_size=8, seed=0):
    """Eigenvalues of W_hh and the singular values of the Jacobian product dh_{T-1}/dh_t against the distance
    T-1-t.

    Three matrices: the tanh RNN at PyTorch's default init (its eigenvalues fill a disc of radius about
    sqrt(H / (3H)) = 0.58, the circular law for U(-1/sqrt(H), 1/sqrt(H))), a linear RNN with W_hh = Q
    (orthogonal, on the unit circle), and a linear RNN with a non-normal W_hh = diag(U(0.3, 0.7)) +
    upper-triangular noise (spectral radius below 0.7, yet its Jacobian products grow for a dozen steps before
    they decay).

    Returns:
        dict ``protocol``, ``names``, ``eig`` (name -> complex (H,)), ``sv`` (name -> (T, H) singular values
        of dh_{T-1}/dh_t, row t), ``radius`` and ``norm`` (name -> spectral radius and largest singular value
        of W_hh).
    """
    x = _inputs(seed, T, 1, input_size)
    rnn = make_layer("rnn", input_size, hidden, seed)
    ortho = _gain_rnn(1.0, hidden, input_size, seed, cell="linear")
    nonnormal = _gain_rnn(1.0, hidden, input_size, seed, cell="linear")
    nonnormal.params["weight_hh_l0"][...] = _non_normal(hidden, seed)
    layers_ = {"tanh RNN, default init": rnn, "linear, W_hh = Q": ortho, "linear, non-normal W_hh": nonnormal}
    res = {
        "protocol": _protocol(
            name="S",
            loss="Jacobian dh_{T-1}/dh_t",
            T=T,
            hidden=hidden,
            input_size=input_size,
            batch=1,
            inputs="x ~ N(0, 1)",
            dtype="float64",
            seeds=1,
        ),
        "names": list(layers_),
        "eig": {},
        "sv": {},
        "radius": {},
        "norm": {},
    }
    for name, layer in layers_.items():
        W = layer.params["weight_hh_l0"]
        res["eig"][name] = np.linalg.eigvals(W)
        res["radius"][name] = float(np.abs(res["eig"][name]).max())
        res["norm"][name] = float(np.linalg.norm(W, 2))
        res["sv"][name] = jacobian_singular_values(layer, x)
    return res
