"""The gradient checks of minirnn's own cells and layers, run by the ``gradcheck`` command and ``minirnn
demo``.

This file uses ``gradcheck`` from the outside (the arrow points one way: gradcheck never imports minirnn; its
command loads ``minirnn.analysis.gradient_suite:run_suite`` by name). Every check builds a loss with fixed
random upstream gradients,

    L = sum(out * G) + sum(h_n * G_h) [+ sum(c_n * G_c)]        never a plain sum, which hides errors that
    cancel,

and compares the hand-written backward with central differences for every parameter, the input ``x`` and the
initial states, each as its own tensor. Sizes are small (T=5, B=3, I=4, H=6) so a full check of every entry
takes seconds.
ReLU RNNs report kinks: entries whose perturbation flips the sign of a pre-activation (none at the default
seed). """

from __future__ import annotations

import itertools

import numpy as np

from ..cells import registry


def _variants():
    """Every cell with every combination of its options: ``{"rnn_tanh": (RNN cell, {"nonlinearity": "tanh"}),
    ...}``."""
    out = {}
    for cell in registry.CELLS.values():
        keys = list(cell.options)
        for values in itertools.product(*(cell.options[k] for k in keys)):
            out["_".join([cell.name, *values])] = (cell, dict(zip(keys, values)))
    return out


#: The checked variants by name (a cell and its options); ReLU RNNs are the ones with kinks.
VARIANTS = _variants()
CELLS = tuple(VARIANTS)


def make_lengths(T: int, B: int) -> np.ndarray:
    """Decreasing lengths from T down to 1 for a batch of B (the first sequence is full, the last has length
    1 if B>1).

    Example:
        >>> make_lengths(5, 3).tolist()
        [5, 3, 1]
    """
    return np.rint(np.linspace(T, 1, B)).astype(np.int64) if B > 1 else np.array([T], dtype=np.int64)


def _mask(lengths, T):
    return None if lengths is None else np.arange(T)[:, None] < np.asarray(lengths)[None, :]  # (T, B)


def _relu_preactivations(x, h0, weights, num_layers, num_directions, mask):
    """Every pre-activation ``a_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` of a (stacked, bidirectional)
    ReLU RNN.

    Written here independently of minirnn's cells: a plain loop that only serves to flag kinks. ``weights[(k,
    d)]`` is ``(W_ih, W_hh, b_ih, b_hh)`` of layer k, direction d; ``h0`` is (num_layers * num_directions, B,
    H); ``mask`` (T, B) or None. Padded steps carry the state and are left out of the returned list.
    """
    T = x.shape[0]
    valid = np.ones(x.shape[:2], dtype=bool) if mask is None else mask
    pre, inputs = [], x
    for k in range(num_layers):
        outs = []
        for d in range(num_directions):
            W_ih, W_hh, b_ih, b_hh = weights[(k, d)]
            h = h0[k * num_directions + d].copy()
            out = np.zeros(inputs.shape[:2] + (h.shape[-1],))
            for t in range(T) if d == 0 else reversed(range(T)):
                a = inputs[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh
                pre.append(a[valid[t]])
                h = np.where(valid[t][:, None], np.maximum(a, 0), h)
                out[t] = np.where(valid[t][:, None], h, 0)
            outs.append(out)
        inputs = np.concatenate(outs, axis=-1)
    return pre


# -- the cells (functional)
# ------------------------------------------------------------------------------------------------
def _variant(cell):
    if cell not in VARIANTS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")
    return VARIANTS[cell]


def _proj_size(spec, H):
    """The proj_size the checks give a cell with projections (``weight_hr``): about H / 2; 0 for any other
    cell."""
    return max(1, H // 2) if any(base == "weight_hr" for base, _ in spec.parameters) else 0


def _loss(outputs, upstream):
    """``L = sum(out * G) + sum(h_n * G_h) [+ sum(c_n * G_c)]`` for matching tuples of arrays."""
    return float(sum(np.sum(a * g) for a, g in zip(outputs, upstream)))


def cell_problem(
    cell: str, *, lengths: bool = False, T: int = 5, B: int = 3, I: int = 4, H: int = 6, seed: int = 0
):
    """The loss, parameters, analytic gradients and (for ReLU) pre-activations of one minirnn cell's whole
    sequence.

    Returns:
        ``(f, params, grads, preactivations)`` ready for ``gradcheck.check_gradients(f, params, grads,
        preactivations=preactivations)``; params are ``x, h0, [c0,] W_ih, W_hh, b_ih, b_hh`` (float64).

    Example:
        >>> import gradcheck
        >>> f, params, grads, pre = cell_problem("gru", T=3, B=2, I=2, H=3)
        >>> gradcheck.check_gradients(f, params, grads).passed
        True
    """
    spec, options = _variant(cell)
    rng = np.random.default_rng(seed)
    s = 1 / np.sqrt(H)
    P = _proj_size(spec, H)
    sizes = spec.state_sizes(H, P)  # {"h": H or P, "c": H}
    params = {"x": rng.normal(size=(T, B, I))}
    params.update({f"{state}0": rng.normal(scale=0.5, size=(B, sizes[state])) for state in spec.states})
    for (base, arg), shape in zip(spec.parameters, spec.parameter_shapes(I, H, P).values()):
        params[arg] = rng.uniform(-s, s, size=shape) * (2.0 if base.startswith("weight") else 1.0)
    mask = _mask(make_lengths(T, B), T) if lengths else None
    upstream = (
        rng.normal(size=(T, B, sizes["h"])),
        *(rng.normal(size=(B, sizes[state])) for state in spec.states),
    )
    weights = tuple(params[arg] for _, arg in spec.parameters)

    def run(p):
        states = tuple(p[f"{state}0"] for state in spec.states)
        out, final, cache = spec.forward(p["x"], states, weights, mask, backend="numpy", **options)
        return _loss((out, *final), upstream), cache

    dx, d0, dweights = spec.backward(upstream[0], upstream[1:], run(params)[1])
    grads = {"x": dx, **{f"{state}0": g for state, g in zip(spec.states, d0)}, **dweights}
    grads = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}
    preactivations = None
    if options.get("nonlinearity") == "relu":

        def preactivations(p):
            return _relu_preactivations(p["x"], p["h0"][None], {(0, 0): weights}, 1, 1, mask)

    return (lambda p: run(p)[0]), params, grads, preactivations


# -- the layers (modules with PyTorch's interface)
# -----------------------------------------------------------------------
def layer_problem(
    cell: str,
    *,
    num_layers: int = 1,
    bidirectional: bool = False,
    lengths: bool = False,
    T: int = 5,
    B: int = 3,
    I: int = 4,
    H: int = 6,
    seed: int = 0,
    backend: str = "auto",
):
    """Like ``cell_problem`` for a ``minirnn.RNN``/``LSTM``/``GRU`` layer: params are the layer's own arrays
    (PyTorch names, perturbed in place so the layer sees them) plus ``x``, ``h0`` and, for LSTM, ``c0``.
    ``backend`` is the layer's (``"auto"``, ``"numpy"`` or ``"numba"``).

    Returns:
        ``(f, params, grads, preactivations, layer)``.

    Example:
        >>> import gradcheck
        >>> f, params, grads, pre, layer = layer_problem("lstm", T=3, B=2, I=2, H=3)
        >>> gradcheck.check_gradients(f, params, grads).passed
        True

    It is long because it builds the layer, its inputs, the loss and the ReLU kink detector for one
    problem; each piece is a few lines and they share the same arrays.
    """
    from ..nn.recurrent import layer_for

    spec, options = _variant(cell)
    D = 2 if bidirectional else 1
    projection = {"proj_size": _proj_size(spec, H)} if _proj_size(spec, H) else {}
    layer = layer_for(
        spec,
        I,
        H,
        num_layers=num_layers,
        bidirectional=bidirectional,
        dtype=np.float64,
        seed=seed,
        backend=backend,
        **projection,
        **options,
    )
    sizes = layer.state_sizes  # {"h": H or P, "c": H}
    rng = np.random.default_rng(seed + 1)
    inputs = {"x": rng.normal(size=(T, B, I))}
    inputs.update(
        {f"{state}0": rng.normal(scale=0.5, size=(num_layers * D, B, sizes[state])) for state in spec.states}
    )
    lens = make_lengths(T, B) if lengths else None
    dout = rng.normal(size=(T, B, D * sizes["h"]))
    dfinal = tuple(rng.normal(size=(num_layers * D, B, sizes[state])) for state in spec.states)
    params = {**inputs, **layer.params}

    def run(p):
        out, final = layer(p["x"], layer.pack_states([p[f"{state}0"] for state in spec.states]), lengths=lens)
        return _loss((out, *layer.unpack_states(final)), (dout, *dfinal))

    run(params)
    layer.zero_grad()
    dx, d0 = layer.backward(dout, layer.pack_states(dfinal))
    grads = {
        "x": dx,
        **{f"{state}0": g for state, g in zip(spec.states, layer.unpack_states(d0))},
        **layer.grads,
    }
    grads = {k: np.array(v, dtype=np.float64) for k, v in grads.items()}

    preactivations = None
    if options.get("nonlinearity") == "relu":

        def preactivations(p):
            weights = {}
            for k in range(num_layers):
                for d in range(D):
                    sfx = f"_l{k}" + ("_reverse" if d else "")
                    zeros = np.zeros(H)
                    weights[(k, d)] = (
                        p["weight_ih" + sfx],
                        p["weight_hh" + sfx],
                        p.get("bias_ih" + sfx, zeros),
                        p.get("bias_hh" + sfx, zeros),
                    )
            return _relu_preactivations(p["x"], p["h0"], weights, num_layers, D, _mask(lens, T))

    return run, params, grads, preactivations, layer


# -- the suite
# ----------------------------------------------------------------------------------------------------------
def _as_tuple(value):
    return tuple(value) if isinstance(value, (list, tuple)) else (value,)


def run_suite(
    cells=CELLS,
    num_layers=(1, 2),
    bidirectional=(False, True),
    lengths=(False, True),
    *,
    levels=("cell", "layer"),
    T: int = 5,
    B: int = 3,
    I: int = 4,
    H: int = 6,
    seed: int = 0,
    method: str = "full",
    num_samples: int = 20,
    eps: float = 1e-6,
    rtol: float = 1e-5,
    atol=None,
    backends=("auto",),
) -> list:
    """Check every configuration of minirnn's cells and layers; one ``gradcheck.Report`` per configuration.

    Cells (``levels`` has ``"cell"``) are checked for each cell with and without ``lengths`` (a padding
    mask); layers for every combination of cell, ``num_layers``, ``bidirectional`` and ``lengths``. A
    configuration that cannot be built or run (for example a feature not implemented yet) gives a report with
    no rows and ``report.error`` set, which counts as a failure.

    Args:
        cells: any of ``"rnn_tanh", "rnn_relu", "lstm", "gru"`` and the variants ``"gru_reset_before",
            "lstm_proj", "lstm_peephole"`` (:data:`CELLS`).
        num_layers, bidirectional, lengths: a value or a tuple of values to try.
        levels: ``"cell"`` and/or ``"layer"``.
        backends: the layers' backends to check, a value or a tuple of ``"auto"``, ``"numpy"``, ``"numba"``.
        T, B, I, H: sequence length, batch, input and hidden sizes.
        seed, method, num_samples, eps, rtol, atol: passed to ``gradcheck.check_gradients``.
    Returns:
        list of ``gradcheck.Report`` (``report.title`` names the configuration).

    Example:
        >>> reports = run_suite(cells=("rnn_tanh",), levels=("cell",), lengths=False, T=3, B=2, I=2, H=3)
        >>> [(r.title, r.passed) for r in reports]
        [('cell rnn_tanh', True)]

    It is long because it walks the whole grid of cells, levels, stacks, directions and paddings and
    names each check; the grid is easier to audit in one loop.
    """
    import gradcheck

    for cell in _as_tuple(cells):
        if cell not in CELLS:
            raise ValueError(f"cells must be among {CELLS}, got {cell!r}")
    options = dict(eps=eps, method=method, seed=seed, num_samples=num_samples, rtol=rtol, atol=atol)
    sizes = dict(T=T, B=B, I=I, H=H, seed=seed)
    jobs = []
    for cell in _as_tuple(cells):
        if "cell" in levels:
            for with_lengths in _as_tuple(lengths):
                title = f"cell {cell}" + (" lengths" if with_lengths else "")
                jobs.append((title, lambda c=cell, w=with_lengths: cell_problem(c, lengths=w, **sizes)))
        if "layer" in levels:
            for backend in _as_tuple(backends):
                for k in _as_tuple(num_layers):
                    for bi in _as_tuple(bidirectional):
                        for with_lengths in _as_tuple(lengths):
                            title = (
                                f"layer {cell} num_layers={k}"
                                + (" bidirectional" if bi else "")
                                + (" lengths" if with_lengths else "")
                                + (f" backend={backend}" if backend != "auto" else "")
                            )
                            jobs.append(
                                (
                                    title,
                                    lambda c=cell, k=k, bi=bi, w=with_lengths, be=backend: layer_problem(
                                        c, num_layers=k, bidirectional=bi, lengths=w, backend=be, **sizes
                                    )[:4],
                                )
                            )
    reports = []
    for title, build in jobs:
        try:
            f, params, grads, pre = build()
            reports.append(
                gradcheck.check_gradients(f, params, grads, preactivations=pre, title=title, **options)
            )
        except Exception as exc:  # a configuration that does not run is reported, not hidden
            reports.append(
                gradcheck.Report(
                    rows=[],
                    title=title,
                    method=method,
                    eps=eps,
                    rtol=rtol,
                    seed=seed,
                    error=f"{type(exc).__name__}: {exc}",
                )
            )
    return reports
