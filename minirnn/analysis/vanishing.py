"""Why gradients vanish: exact per-step gradient norms from the hand-written BPTT, the experiments, and their figures.

For a tanh RNN one step back multiplies the gradient by the Jacobian ``dh_t/dh_{t-1} = diag(1 - h_t^2) W_hh``, so the
gradient that reaches step t from a loss at the last step passes through T-1-t such factors::

    dL/dh_t = dL/dh_{T-1} J_{T-1} J_{T-2} ... J_{t+1}            (row vectors; J_s = diag(1 - h_s^2) W_hh)

It shrinks geometrically when sigma_max(W_hh) * max|tanh'| < 1 (sufficient; Bengio et al. 1994, Pascanu et al. 2013)
and *may* grow when sigma_max(W_hh) > 1 (only necessary: the tanh slope can shrink it back). The LSTM's cell path
``dL/dc_{t-1} = f_t * dL/dc_t`` and the GRU's shortcut ``dh_{t-1} += z_t * dh_t`` can carry the gradient far, but only
where the gates are near 1: at PyTorch's default init they are near 0.5 and the gradient still vanishes.

What is here, in three layers:

1. **Measurements** (exact, one backward pass, no finite differences): :func:`gradient_profile` and
   :func:`gradient_norms` (||dL/dh_t|| per step, ||dL/dc_t|| for the LSTM, ||dL/dx_t||),
   :func:`jacobian_singular_values` (of dh_{T-1}/dh_t for every t), :func:`per_step_factor`, :func:`decay_ratio`.
   They reuse the cells' step-backward functions on the cache of ``cells.<cell>.forward``; nothing is re-derived.
2. **Experiments** returning plain dicts of arrays plus their ``protocol`` (loss, sizes, input scale, dtype, seeds):
   :func:`protocol_a`, :func:`cell_profiles`, :func:`gain_sweep`, :func:`gain_scale_heatmap`, :func:`gate_bias_sweep`,
   :func:`spectra`, :func:`learnability`, :func:`clipping_traces`.
3. **Figures** (``plot_*``), each returning a matplotlib Figure and saving a PNG when given ``path``. One colour per cell
   in every figure (:data:`CELL_COLORS`).

Work in float64: in float32 a ratio of 1e-20 underflows to 0 long before T = 100.

The *linear RNN* ``h_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` (identity activation) is not a minirnn layer; it
lives here as :class:`LinearRNN` because it is the one case with a closed form: with ``W_hh = g Q`` (Q orthogonal)
||dL/dh_t|| = g^(T-1-t) ||dL/dh_{T-1}|| exactly.
"""
from __future__ import annotations

import numpy as np

from .. import cells
from ..nn.module import Module
from ..nn.recurrent import GRU, LSTM, RNN
from ..nn.validation import NonFiniteInputError

__all__ = [
    "CELL_COLORS", "CELL_NAMES", "LinearRNN", "make_layer", "orthogonal", "set_gate_bias",
    "gradient_profile", "gradient_norms", "jacobian_singular_values", "per_step_factor", "decay_ratio",
    "protocol_a", "cell_profiles", "gain_sweep", "gain_scale_heatmap", "gate_bias_sweep", "spectra",
    "learnability", "clipping_traces", "train_task",
    "plot_profiles", "plot_gain_sweep", "plot_heatmap", "plot_gate_bias", "plot_spectra", "plot_learnability",
    "plot_clipping", "summary_table",
]

#: One colour per cell, the same in every figure.
CELL_COLORS = {"rnn": "#1f77b4", "lstm": "#d62728", "gru": "#2ca02c", "linear": "#555555"}
CELL_NAMES = {"rnn": "tanh RNN", "lstm": "LSTM", "gru": "GRU", "linear": "linear RNN"}
_LAYERS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}
_GATE_BLOCKS = {"lstm": ("i", "f", "g", "o"), "gru": ("r", "z", "n")}


# ======================================================================================================================
# 1. Measurements
# ======================================================================================================================
class LinearRNN(Module):
    """An RNN without activation, ``h_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh``: the textbook case of BPTT.

    Its step Jacobian is ``W_hh`` itself, so with ``W_hh = g Q`` (Q orthogonal) every step back multiplies the gradient
    norm by exactly g. Parameters have PyTorch's names (``weight_ih_l0`` ...) and default init, like :class:`minirnn.RNN`;
    only :func:`gradient_profile` and friends use it (it has no ``backward`` of its own).

    Example:
        >>> lin = LinearRNN(3, 4, seed=0)
        >>> out, h_n = lin(np.ones((5, 2, 3)))
        >>> out.shape, h_n.shape
        ((5, 2, 4), (1, 2, 4))
    """

    _cell = "linear"
    num_layers, bidirectional, nonlinearity = 1, False, "linear"

    def __init__(self, input_size, hidden_size, *, dtype=np.float64, seed=None):
        super().__init__()
        self.input_size, self.hidden_size, self.dtype = int(input_size), int(hidden_size), np.dtype(dtype)
        rng = np.random.default_rng(seed)
        bound = 1 / np.sqrt(hidden_size)
        shapes = {"weight_ih_l0": (hidden_size, input_size), "weight_hh_l0": (hidden_size, hidden_size),
                  "bias_ih_l0": (hidden_size,), "bias_hh_l0": (hidden_size,)}
        for name, shape in shapes.items():
            self._own_params[name] = rng.uniform(-bound, bound, size=shape).astype(self.dtype)
            self._own_grads[name] = np.zeros(shape, dtype=self.dtype)

    def __call__(self, x, h0=None):
        """x (T, B, I), h0 (1, B, H) or None -> out (T, B, H), h_n (1, B, H)."""
        h0 = np.zeros((1, x.shape[1], self.hidden_size), self.dtype) if h0 is None else h0
        out, h_n, _ = _linear_forward(x, h0[0], *_weights(self))
        return out, h_n[None]

    def __repr__(self):
        return f"LinearRNN({self.input_size}, {self.hidden_size})"


def _linear_forward(x, h0, W_ih, W_hh, b_ih, b_hh):
    """Forward of the linear RNN with the cache layout of ``cells.rnn.forward`` (hs (T+1, B, H))."""
    T, B, _ = x.shape
    x_proj = x @ W_ih.T + b_ih                                       # (T, B, H)
    hs = np.empty((T + 1, B, h0.shape[-1]), dtype=x.dtype)
    hs[0] = h0
    for t in range(T):
        hs[t + 1] = x_proj[t] + hs[t] @ W_hh.T + b_hh
    return hs[1:].copy(), hs[T], {"x": x, "W_ih": W_ih, "W_hh": W_hh, "hs": hs, "h_new": hs[1:]}


def _cell_of(layer):
    """'rnn' | 'lstm' | 'gru' | 'linear' for a single-layer, one-direction layer; ValueError otherwise."""
    cell = getattr(layer, "_cell", None)
    if cell not in ("rnn", "lstm", "gru", "linear"):
        raise TypeError(f"layer must be a minirnn RNN, LSTM, GRU or vanishing.LinearRNN, got {type(layer).__name__}")
    if layer.num_layers != 1 or layer.bidirectional:
        raise ValueError(f"layer must have num_layers=1 and bidirectional=False to have one h_t per step, got "
                         f"num_layers={layer.num_layers}, bidirectional={layer.bidirectional}")
    return cell


def _weights(layer):
    p = layer.params
    W_ih, W_hh = p["weight_ih_l0"], p["weight_hh_l0"]
    zeros = np.zeros(W_hh.shape[0], dtype=W_hh.dtype)
    return W_ih, W_hh, p.get("bias_ih_l0", zeros), p.get("bias_hh_l0", zeros)


def _forward(layer, x, h0=None, c0=None):
    """Run the readable cell forward of ``cells.<cell>`` on the layer's weights; returns (kind, cache)."""
    kind = _cell_of(layer)
    x = np.asarray(x)
    if x.ndim != 3 or x.shape[-1] != layer.input_size:
        raise ValueError(f"x must have shape (T, B, input_size) = (T, B, {layer.input_size}) (time-major), "
                         f"got {x.shape}")
    T, B, _ = x.shape
    H = layer.hidden_size
    h0 = np.zeros((B, H), dtype=x.dtype) if h0 is None else np.asarray(h0, dtype=x.dtype).reshape(B, H)
    weights = _weights(layer)
    if kind == "lstm":
        c0 = np.zeros((B, H), dtype=x.dtype) if c0 is None else np.asarray(c0, dtype=x.dtype).reshape(B, H)
        return kind, cells.lstm.forward(x, h0, c0, *weights)[3]
    if kind == "gru":
        return kind, cells.gru.forward(x, h0, *weights)[2]
    if kind == "linear":
        return kind, _linear_forward(x, h0, *weights)[2]
    return kind, cells.rnn.forward(x, h0, *weights, nonlinearity=layer.nonlinearity)[2]


def _backward_trace(kind, cache, dh_last):
    """BPTT from a loss on the last state only, recording the gradient at every step.

    Reuses the cells' own step backward (``rnn.activation_slope``, ``lstm.gate_gradients``,
    ``gru.recurrent_step_backward``). ``dh_last`` may have more rows than the batch when the batch is 1: each row is
    then one cotangent (this is how :func:`jacobian_singular_values` gets a whole Jacobian in one pass).

    Returns dict ``h`` (T, R, H): dL/dh_t;  ``c`` (T, R, H): total dL/dc_t (LSTM) or None;  ``x`` (T, R, I): dL/dx_t.
    """
    hs, W_hh, W_ih = cache["hs"], cache["W_hh"], cache["W_ih"]
    T = hs.shape[0] - 1
    R, H = dh_last.shape
    dh = np.empty((T, R, H), dtype=dh_last.dtype)
    dx = np.empty((T, R, W_ih.shape[1]), dtype=dh_last.dtype)
    dc = np.empty((T, R, H), dtype=dh_last.dtype) if kind == "lstm" else None
    dh_carry = dh_last.copy()
    dc_carry = np.zeros_like(dh_last)
    for t in reversed(range(T)):
        dh[t] = dh_carry                                             # dL/dh_t, h_t = hs[t + 1]
        if kind == "lstm":
            gates, tanh_c = cache["gates"][t], cache["tanh_c"][t]
            o = gates[:, 3 * H:]
            dc[t] = dc_carry + dh_carry * o * (1 - tanh_c * tanh_c)  # total dL/dc_t (as gate_gradients adds it)
            da, dc_carry = cells.lstm.gate_gradients(dh_carry, dc_carry, cache["cs"][t], gates, tanh_c)
            dx[t] = da @ W_ih
            dh_carry = da @ W_hh
        elif kind == "gru":
            dx_proj, _, dh_carry = cells.gru.recurrent_step_backward(dh_carry, hs[t], W_hh, cache["gates"][t],
                                                                     cache["hn"][t])
            dx[t] = dx_proj @ W_ih
        else:
            slope = 1.0 if kind == "linear" else cells.rnn.activation_slope(cache["h_new"][t], cache["nonlinearity"])
            da = dh_carry * slope                                    # (R, H)
            dx[t] = da @ W_ih
            dh_carry = da @ W_hh
    return {"h": dh, "c": dc, "x": dx}


def gradient_profile(layer, x, dh_last, h0=None, c0=None):
    """Exact gradient norms at every step for the loss ``L = sum(dh_last * h_{T-1})``, from the hand-written BPTT.

    Args:
        layer: a single-layer, one-direction ``minirnn.RNN``, ``LSTM``, ``GRU`` or :class:`LinearRNN`.
        x: (T, B, I) input, time-major (whatever the layer's ``batch_first``).
        dh_last: (B, H), the weights of the loss on the last hidden state (``np.ones`` = sum of the last state).
        h0, c0: optional (B, H) initial states (zeros by default).

    Returns:
        dict of arrays (T,), Frobenius norms over the batch: ``h`` ||dL/dh_t||, ``c`` ||dL/dc_t|| (LSTM only, else
        None; the total derivative, through h_t and through c_{t+1}), ``x`` ||dL/dx_t|| (the input sensitivity).

    Example:
        >>> rnn = RNN(8, 16, seed=0)
        >>> prof = gradient_profile(rnn, np.random.default_rng(0).normal(size=(30, 1, 8)), np.ones((1, 16)))
        >>> prof["h"].shape, bool(prof["h"][0] < prof["h"][-1])
        ((30,), True)
    """
    kind, cache = _forward(layer, x, h0, c0)
    dh_last = np.asarray(dh_last, dtype=cache["hs"].dtype)
    B, H = cache["hs"].shape[1:]
    if dh_last.shape != (B, H):
        raise ValueError(f"dh_last must have shape (batch, hidden_size) = ({B}, {H}), got {dh_last.shape}")
    trace = _backward_trace(kind, cache, dh_last)
    norm = lambda a: None if a is None else np.sqrt((a * a).sum(axis=(1, 2)))  # noqa: E731
    return {"h": norm(trace["h"]), "c": norm(trace["c"]), "x": norm(trace["x"])}


def gradient_norms(layer, x, dh_last, h0=None):
    """||dL/dh_t|| for t = 0..T-1 (array (T,)), L = sum(dh_last * h_{T-1}); see :func:`gradient_profile`.

    Example:
        >>> lstm = LSTM(8, 16, seed=0)
        >>> gradient_norms(lstm, np.zeros((10, 2, 8)), np.ones((2, 16))).shape
        (10,)
    """
    return gradient_profile(layer, x, dh_last, h0)["h"]


def jacobian_singular_values(layer, x, h0=None, c0=None, batch_index=0):
    """Singular values of the Jacobian product ``dh_{T-1}/dh_t`` for every t, for one sequence of the batch.

    For the LSTM this is the partial derivative with c_t held fixed (the h-to-h block of the state Jacobian).
    One backward pass with H cotangents (the rows of the identity) gives all T matrices.

    Returns:
        (T, H) array, row t = the singular values of dh_{T-1}/dh_t in decreasing order (row T-1 is all ones).

    Example:
        >>> s = jacobian_singular_values(RNN(4, 8, seed=0), np.zeros((6, 1, 4)))
        >>> s.shape, bool(np.allclose(s[-1], 1))
        ((6, 8), True)
    """
    x = np.asarray(x)[:, batch_index:batch_index + 1]
    H = layer.hidden_size
    pick = (lambda s: None if s is None else np.asarray(s).reshape(-1, H)[batch_index:batch_index + 1])
    kind, cache = _forward(layer, x, pick(h0), pick(c0))
    _broadcast_cache(cache, H)
    trace = _backward_trace(kind, cache, np.eye(H, dtype=x.dtype))  # row k: d h_{T-1}[k] / d h_t
    return np.linalg.svd(trace["h"], compute_uv=False)                 # (T, H)


def _broadcast_cache(cache, rows):
    """Repeat the single sequence of a B=1 cache over ``rows`` rows (read-only views), so a batch of cotangents fits."""
    for key in ("hs", "cs", "gates", "tanh_c", "hn", "h_new"):
        if key in cache and cache[key] is not None:
            a = cache[key]
            cache[key] = np.broadcast_to(a, a.shape[:-2] + (rows, a.shape[-1]))


def decay_ratio(norms):
    """``norms[0] / norms[-1]``: how much of the gradient at the last step reaches the first one."""
    norms = np.asarray(norms)
    return norms[..., 0] / norms[..., -1]


def per_step_factor(norms):
    """The geometric mean of the per-step factors, ``(norms[0] / norms[-1]) ** (1 / (T - 1))``."""
    norms = np.asarray(norms)
    return decay_ratio(norms) ** (1.0 / (norms.shape[-1] - 1))


# ======================================================================================================================
# 2. Experiments
# ======================================================================================================================
def make_layer(cell, input_size, hidden_size, seed, dtype=np.float64):
    """A single-layer layer of kind ``cell`` ('rnn' tanh, 'lstm', 'gru', 'linear') with PyTorch's default init."""
    if cell == "linear":
        return LinearRNN(input_size, hidden_size, dtype=dtype, seed=seed)
    if cell not in _LAYERS:
        raise ValueError(f"cell must be one of {('rnn', 'lstm', 'gru', 'linear')}, got {cell!r}")
    return _LAYERS[cell](input_size, hidden_size, dtype=dtype, seed=seed)


def orthogonal(n, seed, gain=1.0):
    """``gain * Q`` with Q a Haar-random orthogonal (n, n) matrix (QR of a Gaussian, signs fixed)."""
    a = np.random.default_rng(seed).normal(size=(n, n))
    q, r = np.linalg.qr(a)
    return gain * q * np.sign(np.diag(r))


def set_gate_bias(layer, gate, value):
    """Make the total bias of one gate block equal ``value``: ``bias_ih`` block = value, ``bias_hh`` block = 0.

    ``gate`` is one of 'i', 'f', 'g', 'o' (LSTM) or 'r', 'z', 'n' (GRU). With the total bias b and small
    ``x W^T + h W^T``, the gate sits near sigmoid(b): b = 3 gives a forget gate of 0.95.
    """
    blocks = _GATE_BLOCKS[_cell_of(layer)]
    k, H = blocks.index(gate), layer.hidden_size
    layer.params["bias_ih_l0"][k * H:(k + 1) * H] = value
    layer.params["bias_hh_l0"][k * H:(k + 1) * H] = 0.0
    return layer


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


def _measure(cell, seeds, T, hidden, input_size, input_scale=1.0, batch=1, modify=None, progress=False, desc=""):
    """Profiles over seeds: dict h, c (LSTM), x: (S, T) arrays of norms; ratio, factor: (S,)."""
    out = {"h": [], "c": [], "x": []}
    for s in _progress(range(seeds), desc or cell, progress):
        layer = make_layer(cell, input_size, hidden, seed=s)
        if modify is not None:
            modify(layer, s)
        prof = gradient_profile(layer, _inputs(s, T, batch, input_size, input_scale), np.ones((batch, hidden)))
        for k in out:
            if prof[k] is not None:
                out[k].append(prof[k])
    res = {k: np.array(v) for k, v in out.items() if v}
    res["ratio"] = decay_ratio(res["h"])
    res["factor"] = per_step_factor(res["h"])
    if "c" in res:
        res["ratio_c"] = decay_ratio(res["c"])
    return res


def protocol_a(cells_=("rnn", "lstm", "gru"), T=100, hidden=64, input_size=8, seeds=16, forget_bias=3.0,
               progress=False):
    """Protocol A: the gradient profile of each cell at PyTorch's default init, plus an LSTM with forget bias 3.

    float64, x ~ N(0, 1) of shape (T, 1, input_size), h0 = c0 = 0, loss L = sum(h_{T-1}) (dh_last = ones), layer seed s
    and input seed 10000 + s for s in range(seeds).

    Returns:
        dict ``protocol`` and one entry per cell (and ``"lstm_fb3"``): ``h``/``c``/``x`` (S, T) norms, ``ratio`` and
        ``factor`` (S,), ``ratio_c`` for LSTMs.
    """
    res = {"protocol": _protocol(name="A", loss="L = sum(h_{T-1}) (dh_last = ones)", T=T, hidden=hidden,
                                 input_size=input_size, batch=1, inputs="x ~ N(0, 1)", dtype="float64",
                                 init="PyTorch default U(-1/sqrt(H), 1/sqrt(H))", seeds=seeds)}
    for cell in cells_:
        res[cell] = _measure(cell, seeds, T, hidden, input_size, progress=progress)
    if forget_bias is not None:
        res["protocol"]["forget_bias"] = forget_bias
        res[f"lstm_fb{forget_bias:g}"] = _measure("lstm", seeds, T, hidden, input_size, progress=progress,
                                                  modify=lambda l, s: set_gate_bias(l, "f", forget_bias))
    return res


def train_task(task="adding", cell="lstm", T=50, hidden=32, steps=300, batch=32, lr=1e-2, clip=1.0, seed=0,
               optimizer="adam", input_scale=1.0, layer=None, progress=False):
    """Train ``cell`` + a Linear head on a long-memory task, with fresh data every step: the explicit loop.

    - ``task="adding"``: the head Linear(H, 1) reads the last hidden state; loss MSE against the sum of the two marked
      numbers (``tasks.adding_problem``; predicting 1 always scores 1/6).
    - ``task="copy"``: one-hot inputs (10 classes), the head Linear(H, 9) at every step; loss the mean cross-entropy
      over all T + 20 steps (``tasks.copy_memory``; the memoryless baseline scores 10 ln 8 / (T + 20)).

    Each step: forward, backward, global norm clipping to ``clip`` (``None``: no clipping, the norm is still
    recorded), then one Adam (``optimizer="adam"``) or plain SGD step. Training stops if the gradient is not finite.

    Returns:
        ``layer, head, history``: history has per-step arrays ``loss`` and ``grad_norm`` (global, before clipping),
        and ``test`` (a float: MSE or cross-entropy on 1000 fresh sequences, NaN if training diverged).
    """
    from ..data import adding_problem, copy_memory
    from ..nn import optim
    from ..nn.linear import Linear
    from ..nn.losses import mse, softmax_cross_entropy

    if task not in ("adding", "copy"):
        raise ValueError(f"task must be 'adding' or 'copy', got {task!r}")
    n_in, n_out = (2, 1) if task == "adding" else (10, 9)
    if layer is None:
        layer = make_layer(cell, n_in, hidden, seed=seed)
    head = Linear(layer.hidden_size, n_out, seed=10_000 + seed)
    model = Module()
    model._modules.update({"rnn": layer, "head": head})
    opt = optim.Adam(model, lr=lr) if optimizer == "adam" else optim.SGD(model, lr=lr)

    def data(n, rng):
        if task == "adding":
            x, y = adding_problem(n, T, rng=rng)
            return x * input_scale, y
        x, y = copy_memory(n, T, rng=rng, one_hot=True)
        return x * input_scale, y

    def loss_and_dout(x, y):
        out = layer(x)[0]                                            # (T', B, H)
        if task == "adding":
            loss, dpred = mse(head(out[-1]), y)
            dout = np.zeros_like(out)
            dout[-1] = head.backward(dpred)
        else:
            loss, dlogits = softmax_cross_entropy(head(out), y)
            dout = head.backward(dlogits)
        return loss, dout

    rng = np.random.default_rng(20_000 + seed)
    losses, norms = np.full(steps, np.nan), np.full(steps, np.nan)
    for k in _progress(range(steps), f"{CELL_NAMES.get(cell, cell)} {task} T={T}", progress):
        try:
            losses[k], dout = loss_and_dout(*data(batch, rng))
            layer.backward(dout)
        except NonFiniteInputError:                                  # the layer refuses Inf/NaN: training diverged
            break
        norms[k] = optim.clip_grad_norm(model, clip) if clip else optim.grad_norm(model)
        if not (np.isfinite(norms[k]) and np.isfinite(losses[k])):
            break
        opt.step()
    test = np.nan
    if np.all(np.isfinite(norms)):
        try:
            test = loss_and_dout(*data(1000, np.random.default_rng(30_000 + seed)))[0]
        except NonFiniteInputError:                                  # the trained model outputs NaN/Inf
            pass
    return layer, head, {"loss": losses, "grad_norm": norms, "test": test}


def cell_profiles(cells_=("rnn", "lstm", "gru"), T=50, hidden=32, seeds=4, steps=300, batch=32, lr=1e-2,
                  progress=False):
    """Protocol B: each cell's gradient profile at init and after training on the adding problem, on the same inputs.

    float64, input size 2 (adding-problem sequences of length T, one per seed), loss for the profile
    L = sum(h_{T-1}) (dh_last = ones), PyTorch default init; training as :func:`train_task` (Adam, lr, clip 1,
    ``steps`` steps of ``batch`` fresh sequences).

    Returns:
        dict ``protocol``, ``init`` and ``trained`` (each cell -> dict ``h``/``c`` (S, T) norms, ``ratio``, ``factor``),
        ``test_mse`` (cell -> (S,)).
    """
    from ..data import adding_problem
    res = {"protocol": _protocol(name="B", loss="L = sum(h_{T-1}) (dh_last = ones)", T=T, hidden=hidden, input_size=2,
                                 batch=1, inputs="adding-problem sequences", dtype="float64",
                                 init="PyTorch default U(-1/sqrt(H), 1/sqrt(H))", seeds=seeds,
                                 training=f"adding problem T={T}, Adam lr={lr}, clip 1, {steps} steps x {batch}"),
           "init": {}, "trained": {}, "test_mse": {}}
    for cell in cells_:
        stats = {"init": {"h": [], "c": []}, "trained": {"h": [], "c": []}}
        tests = []
        for s in _progress(range(seeds), CELL_NAMES[cell], progress):
            x = adding_problem(1, T, seed=40_000 + s)[0]
            layer = make_layer(cell, 2, hidden, seed=s)
            for when in ("init", "trained"):
                if when == "trained":
                    layer, _, hist = train_task("adding", cell, T, hidden, steps, batch, lr, seed=s, layer=layer)
                    tests.append(hist["test"])
                prof = gradient_profile(layer, x, np.ones((1, hidden)))
                stats[when]["h"].append(prof["h"])
                if prof["c"] is not None:
                    stats[when]["c"].append(prof["c"])
        for when in ("init", "trained"):
            d = {k: np.array(v) for k, v in stats[when].items() if v}
            d["ratio"], d["factor"] = decay_ratio(d["h"]), per_step_factor(d["h"])
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


def gain_sweep(gains=(0.5, 0.9, 1.0, 1.1, 1.5), T=100, hidden=64, input_size=8, seeds=16, input_scale=1.0,
               progress=False):
    """Protocol G: tanh RNN with W_hh = g Q (Q orthogonal, seeded), zero biases, against the exact linear-RNN lines.

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
    return {"protocol": _protocol(name="G", loss="L = sum(h_{T-1})", T=T, hidden=hidden, input_size=input_size,
                                  batch=1, inputs=f"x ~ N(0, {input_scale:g}^2)", dtype="float64",
                                  init="W_hh = g Q (Q orthogonal), W_ih default, biases 0", seeds=seeds),
            "gains": np.array(gains, dtype=float), "profiles": profiles,
            "exact": np.array([g ** (T - 1 - t) for g in gains]),
            "factor": per_step_factor(profiles)}


def gain_scale_heatmap(gains=None, scales=None, T=100, hidden=64, input_size=8, seeds=4, progress=False):
    """Protocol G over a grid: the median log10 ratio ||dL/dh_0|| / ||dL/dh_{T-1}|| of the tanh RNN with W_hh = g Q.

    Small inputs keep tanh in its linear range, where g > 1 explodes as g^(T-1); large inputs saturate it and the
    slope 1 - h^2 turns the same g into vanishing.

    Returns:
        dict ``protocol``, ``gains`` (G,), ``scales`` (K,), ``log10_ratio`` (G, K) (median over seeds),
        ``linear`` (G,): (T-1) log10 g, the linear RNN's exact value.
    """
    gains = np.round(np.arange(0.5, 2.01, 0.1), 2) if gains is None else np.asarray(gains, dtype=float)
    scales = np.logspace(-6, 1, 8) if scales is None else np.asarray(scales, dtype=float)
    out = np.empty((len(gains), len(scales)))
    for gi, g in enumerate(_progress(gains, "gain x scale", progress)):
        for k, sc in enumerate(scales):
            r = [decay_ratio(gradient_norms(_gain_rnn(g, hidden, input_size, s), _inputs(s, T, 1, input_size, sc),
                                            np.ones((1, hidden)))) for s in range(seeds)]
            out[gi, k] = np.median(np.log10(r))
    return {"protocol": _protocol(name="G", loss="L = sum(h_{T-1})", T=T, hidden=hidden, input_size=input_size,
                                  batch=1, inputs="x ~ N(0, scale^2)", dtype="float64",
                                  init="W_hh = g Q (Q orthogonal), W_ih default, biases 0", seeds=seeds),
            "gains": gains, "scales": scales, "log10_ratio": out, "linear": (T - 1) * np.log10(gains)}


#: A forget-gate bias this large gives sigmoid(b) == 1.0 exactly in float64 (and f(1 - f) == 0): the 1997 LSTM,
#: c_t = c_{t-1} + i * g, whose cell path carries the gradient unchanged (the constant error carousel).
CEC_BIAS = 50.0


def gate_bias_sweep(biases=(0.0, 1.0, 3.0, 5.0), T=100, hidden=64, input_size=8, seeds=16, progress=False):
    """Protocol A with the gate biases changed: LSTM forget bias b, GRU update-gate bias b, and the LSTM with f == 1.

    The total bias of the gate block is set to b (``set_gate_bias``: bias_ih block = b, bias_hh block = 0), so the gate
    sits near sigmoid(b), and the cell path alone would carry sigmoid(b)^(T-1-t).

    Returns:
        dict ``protocol``, ``biases``, ``lstm`` (b -> profile dict with ``h``, ``c``), ``gru`` (b -> profile dict),
        ``cec`` (profile dict of the LSTM with the forget gate fixed at 1).
    """
    res = {"protocol": _protocol(name="A", loss="L = sum(h_{T-1}) (dh_last = ones)", T=T, hidden=hidden,
                                 input_size=input_size, batch=1, inputs="x ~ N(0, 1)", dtype="float64",
                                 init="PyTorch default, then the gate's total bias set to b", seeds=seeds),
           "biases": np.array(biases, dtype=float), "lstm": {}, "gru": {}}
    for b in _progress(biases, "gate biases", progress):
        res["lstm"][float(b)] = _measure("lstm", seeds, T, hidden, input_size,
                                         modify=lambda l, s, b=b: set_gate_bias(l, "f", b))
        res["gru"][float(b)] = _measure("gru", seeds, T, hidden, input_size,
                                        modify=lambda l, s, b=b: set_gate_bias(l, "z", b))
    res["cec"] = _measure("lstm", seeds, T, hidden, input_size, modify=lambda l, s: set_gate_bias(l, "f", CEC_BIAS))
    return res


def _non_normal(hidden, seed, rho=0.9, scale=1.0):
    """rho * I + strictly upper-triangular N(0, scale^2 / H): every eigenvalue is rho, yet ||W|| is well above 1."""
    n = np.random.default_rng(seed).normal(scale=scale / np.sqrt(hidden), size=(hidden, hidden))
    return rho * np.eye(hidden) + np.triu(n, 1)


def spectra(T=100, hidden=64, input_size=8, seed=0):
    """Eigenvalues of W_hh and the singular values of the Jacobian product dh_{T-1}/dh_t against the distance T-1-t.

    Three matrices: the tanh RNN at PyTorch's default init (its eigenvalues fill a disc of radius about
    sqrt(H / (3H)) = 0.58, the circular law for U(-1/sqrt(H), 1/sqrt(H))), a linear RNN with W_hh = Q (orthogonal, on
    the unit circle), and a linear RNN with a non-normal W_hh = 0.9 I + upper-triangular noise (spectral radius 0.9,
    yet its Jacobian products grow for many steps before they decay).

    Returns:
        dict ``protocol``, ``names``, ``eig`` (name -> complex (H,)), ``sv`` (name -> (T, H) singular values of
        dh_{T-1}/dh_t, row t), ``radius`` and ``norm`` (name -> spectral radius and largest singular value of W_hh).
    """
    x = _inputs(seed, T, 1, input_size)
    rnn = make_layer("rnn", input_size, hidden, seed)
    ortho = _gain_rnn(1.0, hidden, input_size, seed, cell="linear")
    nonnormal = _gain_rnn(1.0, hidden, input_size, seed, cell="linear")
    nonnormal.params["weight_hh_l0"][...] = _non_normal(hidden, seed)
    layers_ = {"tanh RNN, default init": rnn, "linear, W_hh = Q": ortho, "linear, W_hh = 0.9 I + N (non-normal)": nonnormal}
    res = {"protocol": _protocol(name="S", loss="Jacobian dh_{T-1}/dh_t", T=T, hidden=hidden, input_size=input_size,
                                 batch=1, inputs="x ~ N(0, 1)", dtype="float64", seeds=1),
           "names": list(layers_), "eig": {}, "sv": {}, "radius": {}, "norm": {}}
    for name, layer in layers_.items():
        W = layer.params["weight_hh_l0"]
        res["eig"][name] = np.linalg.eigvals(W)
        res["radius"][name] = float(np.abs(res["eig"][name]).max())
        res["norm"][name] = float(np.linalg.norm(W, 2))
        res["sv"][name] = jacobian_singular_values(layer, x)
    return res


def learnability(cells_=("rnn", "lstm", "gru"), Ts=(10, 25, 50, 100, 200), task="adding", steps=300, hidden=32,
                 batch=32, lr=1e-2, seeds=1, progress=False):
    """Final test loss against T at a fixed budget per cell (``steps`` Adam steps of ``batch`` fresh sequences).

    Returns:
        dict ``protocol``, ``Ts``, ``baseline`` (T,): 1/6 for adding, 10 ln 8 / (T + 20) for copy, and per cell
        ``test`` (S, len(Ts)).
    """
    from ..data import ADDING_BASELINE_MSE, copy_memory_baseline
    Ts = [int(T) for T in Ts]
    baseline = [ADDING_BASELINE_MSE if task == "adding" else copy_memory_baseline(T) for T in Ts]
    res = {"protocol": _protocol(name="L", task=task, T=Ts, hidden=hidden, dtype="float64", seeds=seeds,
                                 init="PyTorch default", loss="MSE" if task == "adding" else "cross-entropy per step",
                                 training=f"Adam lr={lr}, clip 1, {steps} steps x {batch} fresh sequences"),
           "Ts": np.array(Ts), "baseline": np.array(baseline), "task": task}
    jobs = [(cell, T, s) for cell in cells_ for T in Ts for s in range(seeds)]
    tests = {cell: np.full((seeds, len(Ts)), np.nan) for cell in cells_}
    for cell, T, s in _progress(jobs, f"learnability ({task})", progress):
        tests[cell][s, Ts.index(T)] = train_task(task, cell, T, hidden, steps, batch, lr, seed=s)[2]["test"]
    for cell in cells_:
        res[cell] = {"test": tests[cell]}
    return res


def clipping_traces(gain=1.5, T=50, hidden=32, input_scale=0.01, steps=200, batch=32, lr=0.05, max_norm=1.0, seed=0,
                    progress=False):
    """Exploding gradients in training: tanh RNN with W_hh = gain * Q, zero biases, small inputs (adding problem x
    ``input_scale``), plain SGD, with and without global norm clipping to ``max_norm``.

    Returns:
        dict ``protocol``, and ``clipped`` / ``unclipped`` -> history dicts (``loss``, ``grad_norm`` per step, ``test``).
    """
    res = {"protocol": _protocol(name="E", task="adding", T=T, hidden=hidden, dtype="float64", seeds=1,
                                 inputs=f"adding problem x {input_scale:g}",
                                 init=f"W_hh = {gain:g} Q (Q orthogonal), W_ih default, biases 0",
                                 training=f"SGD lr={lr}, {steps} steps x {batch}, clip to {max_norm:g} or none")}
    for name, clip in (("unclipped", None), ("clipped", max_norm)):
        layer = _gain_rnn(gain, hidden, 2, seed)
        res[name] = train_task("adding", "rnn", T, hidden, steps, batch, lr, clip=clip, seed=seed, optimizer="sgd",
                               input_scale=input_scale, layer=layer, progress=progress)[2]
    return res


# ======================================================================================================================
# 3. Figures
# ======================================================================================================================
def _protocol_line(p):
    """A one-line protocol for a figure caption."""
    keys = ("loss", "T", "hidden", "input_size", "inputs", "dtype", "init", "seeds", "training")
    return ", ".join(f"{k}={p[k]}" if k in ("T", "hidden", "input_size", "seeds") else str(p[k])
                     for k in keys if k in p)


def _finish(fig, path, protocol=None):
    if protocol is not None:
        import textwrap
        fig.text(0.01, 0.005, textwrap.fill("Protocol: " + _protocol_line(protocol), 170), fontsize=7, color="0.35",
                 va="bottom")
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig


def _band(ax, t, rows, color, label, ls="-"):
    """Median line and interquartile band of (S, T) rows."""
    q1, med, q3 = np.percentile(rows, [25, 50, 75], axis=0)
    ax.plot(t, med, color=color, ls=ls, lw=2, label=label)
    if rows.shape[0] > 1:
        ax.fill_between(t, q1, q3, color=color, alpha=0.2, lw=0)


def _new_fig(ncols, width=5.2, height=4.2):
    import matplotlib.pyplot as plt
    fig, axes = plt.subplots(1, ncols, figsize=(width * ncols, height), squeeze=False)
    return fig, axes[0]


def plot_profiles(res, path=None, title=None):
    """The main figure: ||dL/dh_t|| / ||dL/dh_{T-1}|| against t, log scale, median and interquartile band per cell,
    and the input sensitivity ||dL/dx_t|| beside it. ``res`` from :func:`protocol_a` (or any dict cell -> profiles).
    """
    p = res.get("protocol", {})
    fig, (ax, ax2) = _new_fig(2, 5.6, 4.4)
    for key, d in res.items():
        if key == "protocol":
            continue
        cell = key.split("_")[0]
        fb = key[len("lstm_fb"):] if key.startswith("lstm_fb") else None
        label = CELL_NAMES[cell] + (f", forget bias {fb}" if fb else ", default init")
        ls = "--" if fb else "-"
        T = d["h"].shape[1]
        t = np.arange(T)
        _band(ax, t, d["h"] / d["h"][:, -1:], CELL_COLORS[cell], f"{label}  (per step {np.median(d['factor']):.2f})",
              ls)
        _band(ax2, t, d["x"] / d["h"][:, -1:], CELL_COLORS[cell], label, ls)
    for a in (ax, ax2):
        a.set_yscale("log")
        a.set_xlabel("time step t (the loss sits on the last step)")
        a.grid(True, which="major", alpha=0.3)
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_{T-1}||")
    ax.set_title("Gradient reaching step t")
    ax2.set_ylabel("||dL/dx_t|| / ||dL/dh_{T-1}||")
    ax2.set_title("How much the loss feels input x_t")
    ax.legend(fontsize=8, loc="lower right")
    fig.suptitle(title or "Vanishing gradients at initialisation: median and interquartile band over seeds")
    fig.tight_layout(rect=(0, 0.05, 1, 1))
    return _finish(fig, path, p)


def plot_cell_profiles(res, path=None):
    """Profiles at init and after training (from :func:`cell_profiles`), side by side on the same axes."""
    fig, axes = _new_fig(2, 5.4, 4.4)
    for ax, when in zip(axes, ("init", "trained")):
        for cell, d in res[when].items():
            t = np.arange(d["h"].shape[1])
            extra = f", test MSE {np.nanmedian(res['test_mse'][cell]):.3f}" if when == "trained" else ""
            _band(ax, t, d["h"] / d["h"][:, -1:], CELL_COLORS[cell],
                  f"{CELL_NAMES[cell]} (per step {np.median(d['factor']):.2f}{extra})")
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_ylabel("||dL/dh_t|| / ||dL/dh_{T-1}||")
        ax.set_title("at initialisation" if when == "init" else "after training on the adding problem")
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=8, loc="lower right")
    lo = min(a.get_ylim()[0] for a in axes)
    for a in axes:
        a.set_ylim(lo, None)
    fig.suptitle("Does training keep the gradient alive? (adding-problem inputs, 1/6 = predicting the mean)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_gain_sweep(res, path=None):
    """tanh RNN with W_hh = g Q: median profile and band per gain, over the exact linear-RNN lines g^(T-1-t)."""
    import matplotlib.pyplot as plt
    fig, (ax,) = _new_fig(1, 7.0, 4.8)
    cmap = plt.get_cmap("viridis")
    T = res["profiles"].shape[2]
    t = np.arange(T)
    for gi, g in enumerate(res["gains"]):
        color = cmap(gi / max(1, len(res["gains"]) - 1))
        _band(ax, t, res["profiles"][gi], color, f"tanh, g = {g:g} (per step {np.median(res['factor'][gi]):.2f})")
        ax.plot(t, res["exact"][gi], color=color, ls=":", lw=1.5)
    ax.plot([], [], color="0.3", ls=":", label="linear RNN: exactly g^(T-1-t)")
    ax.set_yscale("log")
    ax.set_ylim(max(1e-40, np.nanmin(res["profiles"]) / 10), None)
    ax.set_xlabel("time step t")
    ax.set_ylabel("||dL/dh_t|| / ||dL/dh_{T-1}||")
    ax.set_title("W_hh = g Q (Q orthogonal): tanh can only pull the gradient below g^(T-1-t)")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8, loc="lower right")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_heatmap(res, path=None):
    """log10 of ||dL/dh_0|| / ||dL/dh_{T-1}|| over gain x input scale (from :func:`gain_scale_heatmap`)."""
    from matplotlib.colors import TwoSlopeNorm
    fig, (ax,) = _new_fig(1, 7.0, 5.0)
    z = res["log10_ratio"]
    vmax = max(1.0, np.nanmax(np.abs(z)))
    im = ax.imshow(z, origin="lower", aspect="auto", cmap="RdBu_r", norm=TwoSlopeNorm(0, -vmax, vmax))
    ax.set_xticks(range(len(res["scales"])), [f"{s:.0e}" for s in res["scales"]], rotation=45)
    ax.set_yticks(range(len(res["gains"])), [f"{g:g}" for g in res["gains"]])
    for i in range(z.shape[0]):
        for k in range(z.shape[1]):
            ax.text(k, i, f"{z[i, k]:.0f}", ha="center", va="center", fontsize=6,
                    color="white" if abs(z[i, k]) > 0.6 * vmax else "black")
    ax.set_xlabel("input scale (x ~ N(0, scale^2))")
    ax.set_ylabel("gain g of W_hh = g Q")
    ax.set_title("log10 ||dL/dh_0|| / ||dL/dh_{T-1}||, tanh RNN\nred explodes, blue vanishes: "
                 "large inputs saturate tanh and turn g > 1 into vanishing", fontsize=10)
    fig.colorbar(im, ax=ax, label="log10 ratio (linear RNN: (T-1) log10 g)")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_gate_bias(res, path=None):
    """Three panels: LSTM dL/dc and dL/dh for forget bias b, GRU dL/dh for update bias b; sigmoid(b)^(T-1-t) dotted."""
    import matplotlib.pyplot as plt
    fig, axes = _new_fig(3, 5.0, 4.4)
    cmaps = {"lstm": plt.get_cmap("Reds"), "gru": plt.get_cmap("Greens")}
    panels = (("lstm", "c", "LSTM: ||dL/dc_t||, forget bias b"), ("lstm", "h", "LSTM: ||dL/dh_t||, forget bias b"),
              ("gru", "h", "GRU: ||dL/dh_t||, update-gate bias b"))
    biases = list(res[panels[0][0]])
    for ax, (cell, key, title) in zip(axes, panels):
        for bi, b in enumerate(biases):
            d = res[cell][b]
            T = d[key].shape[1]
            t = np.arange(T)
            color = cmaps[cell](0.35 + 0.65 * bi / max(1, len(biases) - 1))
            _band(ax, t, d[key] / d[key][:, -1:], color, f"b = {b:g} (ratio {np.median(decay_ratio(d[key])):.1e})")
            sig = 0.5 * (1 + np.tanh(0.5 * b))
            ax.plot(t, sig ** (T - 1 - t), color=color, ls=":", lw=1.3)
        if cell == "lstm":
            d = res["cec"]
            _band(ax, t, d[key] / d[key][:, -1:], "black",
                  f"f fixed at 1, 1997 CEC (ratio {np.median(decay_ratio(d[key])):.1e})", "--")
        ax.plot([], [], color="0.4", ls=":", label="sigmoid(b)^(T-1-t): the gate path alone")
        ax.set_yscale("log")
        ax.set_xlabel("time step t")
        ax.set_ylabel(f"||dL/d{key}_t|| / ||dL/d{key}_{{T-1}}||")
        ax.set_title(title, fontsize=10)
        ax.grid(True, alpha=0.3)
        ax.legend(fontsize=7, loc="lower right")
    fig.suptitle("Gates keep the gradient only when their bias holds them near 1")
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_spectra(res, path=None):
    """Eigenvalues of W_hh with the unit circle; singular values of dh_{T-1}/dh_t against the distance T-1-t."""
    fig, (ax, ax2) = _new_fig(2, 5.8, 5.6)
    colors = dict(zip(res["names"], (CELL_COLORS["rnn"], "#9467bd", "#ff7f0e")))
    th = np.linspace(0, 2 * np.pi, 400)
    ax.plot(np.cos(th), np.sin(th), color="0.5", lw=1, label="unit circle")
    for name in res["names"]:
        e = res["eig"][name]
        ax.scatter(e.real, e.imag, s=10, color=colors[name], alpha=0.7,
                   label=f"{name}: radius {res['radius'][name]:.2f}, ||W|| {res['norm'][name]:.2f}")
    ax.set_aspect("equal")
    ax.set_xlabel("Re(eigenvalue)")
    ax.set_ylabel("Im(eigenvalue)")
    ax.set_title("Eigenvalues of W_hh")
    ax.legend(fontsize=7, loc="upper center", bbox_to_anchor=(0.5, -0.14))
    for name in res["names"]:
        sv = res["sv"][name]                                         # (T, H), row t
        dist = (sv.shape[0] - 1) - np.arange(sv.shape[0])
        ax2.plot(dist, sv[:, 0], color=colors[name], lw=2, label=f"{name}: largest")
        ax2.plot(dist, sv[:, -1], color=colors[name], lw=1, ls="--")
        ax2.plot(dist, res["radius"][name] ** dist, color=colors[name], lw=1, ls=":")
    fig.suptitle("The spectral radius is not the whole story: a non-normal W_hh with radius 0.9 still amplifies")
    ax2.plot([], [], color="0.4", ls="--", label="smallest singular value")
    ax2.plot([], [], color="0.4", ls=":", label="spectral radius ^ distance")
    ax2.set_yscale("log")
    ax2.set_xlabel("distance T-1-t (steps back)")
    ax2.set_ylabel("singular values of dh_{T-1}/dh_t")
    ax2.set_title("Singular values of the Jacobian product")
    ax2.grid(True, alpha=0.3)
    ax2.legend(fontsize=7)
    fig.tight_layout(rect=(0, 0.06, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_learnability(res, path=None):
    """Final test loss against T per cell, with the memoryless baseline."""
    fig, (ax,) = _new_fig(1, 6.4, 4.6)
    Ts = res["Ts"]
    for cell in CELL_NAMES:
        if cell in res:
            test = res[cell]["test"]
            ax.plot(Ts, np.nanmedian(test, axis=0), "o-", color=CELL_COLORS[cell], lw=2, label=CELL_NAMES[cell])
            if test.shape[0] > 1:
                ax.fill_between(Ts, np.nanmin(test, 0), np.nanmax(test, 0), color=CELL_COLORS[cell], alpha=0.2, lw=0)
    adding = res["task"] == "adding"
    ax.plot(Ts, res["baseline"], "k--", label="baseline: always predict 1 (MSE 1/6)" if adding
            else "baseline: blanks, then guess (10 ln 8 / (T + 20))")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xticks(Ts, [str(T) for T in Ts])
    ax.set_xlabel("sequence length T")
    ax.set_ylabel("test MSE" if adding else "test cross-entropy per step")
    ax.set_title(f"{'Adding' if adding else 'Copy'} problem at a fixed training budget: longer is harder")
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _finish(fig, path, res["protocol"])


def plot_clipping(res, path=None):
    """Global gradient norm per training step, with and without clipping, and the loss."""
    fig, (ax, ax2) = _new_fig(2, 5.4, 4.2)
    for name, color in (("unclipped", "#ff7f0e"), ("clipped", CELL_COLORS["rnn"])):
        h = res[name]
        ax.plot(h["grad_norm"], color=color, lw=1.5, label=f"{name} (max {np.nanmax(h['grad_norm']):.1e})")
        ax2.plot(h["loss"], color=color, lw=1.5, label=f"{name} (test MSE {h['test']:.3g})")
    ax.axhline(1.0, color="0.4", ls=":", lw=1, label="clipping threshold")
    ax2.axhline(1 / 6, color="k", ls="--", lw=1, label="baseline 1/6")
    for a in (ax, ax2):
        a.set_yscale("log")
        a.set_xlabel("training step")
        a.grid(True, alpha=0.3)
        a.legend(fontsize=8)
    ax.set_ylabel("global gradient norm (before clipping)")
    ax.set_title("Exploding gradients: tanh RNN, W_hh = 1.5 Q")
    ax2.set_ylabel("training loss (MSE)")
    ax2.set_title("Clipping keeps training finite")
    fig.tight_layout(rect=(0, 0.07, 1, 1))
    return _finish(fig, path, res["protocol"])


# ======================================================================================================================
# 4. Tables and the command line
# ======================================================================================================================
def summary_table(res):
    """A text table of :func:`protocol_a`'s numbers: per row the median and range over seeds."""
    p = res["protocol"]
    lines = [f"Protocol A: {_protocol_line(p)}",
             "",
             f"{'cell':<26}{'ratio ||dL/dh_0||/||dL/dh_T-1||':>34}{'per-step factor':>22}{'dL/dc ratio':>14}",
             f"{'':<26}{'median [min, max]':>34}{'median [min, max]':>22}{'median':>14}"]
    for key, d in res.items():
        if key == "protocol":
            continue
        name = CELL_NAMES[key.split("_")[0]] + (f" forget bias {key[7:]}" if key.startswith("lstm_fb") else "")
        r, f = d["ratio"], d["factor"]
        rc = f"{np.median(d['ratio_c']):.2g}" if "ratio_c" in d else "-"
        lines.append(f"{name:<26}{f'{np.median(r):.1e} [{r.min():.0e}, {r.max():.0e}]':>34}"
                     f"{f'{np.median(f):.3f} [{f.min():.2f}, {f.max():.2f}]':>22}{rc:>14}")
    return "\n".join(lines)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if np.iscomplexobj(obj):
            return {"real": obj.real.tolist(), "imag": obj.imag.tolist()}
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _write_json(res, path):
    import json
    with open(path, "w") as fh:
        json.dump(_jsonable(res), fh, allow_nan=True)


def _write_csv(res, path):
    """One row per (cell, seed) of protocol A: ratio, per-step factor, dL/dc ratio."""
    import csv
    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["cell", "seed", "ratio", "per_step_factor", "ratio_c", "T", "hidden", "input_size", "dtype"])
        p = res["protocol"]
        for key, d in res.items():
            if key == "protocol":
                continue
            for s in range(len(d["ratio"])):
                w.writerow([key, s, f"{d['ratio'][s]:.6e}", f"{d['factor'][s]:.6f}",
                            f"{d['ratio_c'][s]:.6e}" if "ratio_c" in d else "", p["T"], p["hidden"],
                            p["input_size"], p["dtype"]])


EXPERIMENTS = ("profiles", "trained", "gain", "heatmap", "bias", "spectra", "learnability", "clipping")


def run(out, cells_=("rnn", "lstm", "gru"), T=100, hidden=64, input_size=8, seeds=16, experiments=("profiles",),
        steps=300, task="adding", progress=True, echo=print):
    """What ``minirnn vanishing`` does: run the experiments, write ``<name>.png`` and ``<name>.json`` into ``out``
    (plus ``profiles.csv`` and ``summary.txt``), echo a summary of each; returns a dict name -> result.
    """
    import os

    import matplotlib
    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    path = lambda name, ext: os.path.join(out, f"{name}.{ext}")  # noqa: E731
    results = {}

    def save(name, res, plot):
        results[name] = res
        _write_json(res, path(name, "json"))
        plt.close(plot(res, path(name, "png")))
        echo(f"  wrote {path(name, 'png')} and {path(name, 'json')}")

    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"experiments must be among {EXPERIMENTS}, got {unknown}")
    if "profiles" in experiments:
        res = protocol_a(cells_, T, hidden, input_size, seeds,
                         forget_bias=3.0 if "lstm" in cells_ else None, progress=progress)
        save("profiles", res, plot_profiles)
        _write_csv(res, path("profiles", "csv"))
        table = summary_table(res)
        with open(path("summary", "txt"), "w") as fh:
            fh.write(table + "\n")
        echo("\n" + table + "\n")
    if "trained" in experiments:
        res = cell_profiles(cells_, T=min(T, 50), hidden=min(hidden, 32), seeds=min(seeds, 4), steps=steps,
                            progress=progress)
        save("trained", res, plot_cell_profiles)
        for cell in cells_:
            echo(f"  {CELL_NAMES[cell]:<10} per-step factor at init {np.median(res['init'][cell]['factor']):.3f}, "
                 f"after training {np.median(res['trained'][cell]['factor']):.3f} "
                 f"(test MSE {np.nanmedian(res['test_mse'][cell]):.4f}; 1/6 = 0.1667)")
    if "gain" in experiments:
        res = gain_sweep(T=T, hidden=hidden, input_size=input_size, seeds=seeds, progress=progress)
        save("gain", res, plot_gain_sweep)
        echo("  tanh RNN, W_hh = g Q: per-step factor " + ", ".join(
            f"g={g:g}: {np.median(f):.3f}" for g, f in zip(res["gains"], res["factor"])))
    if "heatmap" in experiments:
        res = gain_scale_heatmap(T=T, hidden=hidden, input_size=input_size, seeds=min(seeds, 4), progress=progress)
        save("heatmap", res, plot_heatmap)
        i = int(np.argmin(np.abs(res["gains"] - 1.5)))
        echo(f"  g={res['gains'][i]:g}: log10 ratio {res['log10_ratio'][i, 0]:.1f} at input scale "
             f"{res['scales'][0]:.0e}, {res['log10_ratio'][i, -1]:.1f} at {res['scales'][-1]:.0e} "
             f"(linear RNN {res['linear'][i]:.1f})")
    if "bias" in experiments:
        res = gate_bias_sweep(T=T, hidden=hidden, input_size=input_size, seeds=seeds, progress=progress)
        save("bias", res, plot_gate_bias)
        for b in res["biases"]:
            dl, dg = res["lstm"][float(b)], res["gru"][float(b)]
            echo(f"  bias {b:g}: LSTM dL/dh ratio {np.median(dl['ratio']):.1e}, dL/dc ratio "
                 f"{np.median(dl['ratio_c']):.1e}; GRU dL/dh ratio {np.median(dg['ratio']):.1e}")
        echo(f"  LSTM with f = 1 (CEC): dL/dh ratio {np.median(res['cec']['ratio']):.1e}, dL/dc ratio "
             f"{np.median(res['cec']['ratio_c']):.1e}")
    if "spectra" in experiments:
        res = spectra(T=T, hidden=hidden, input_size=input_size)
        save("spectra", res, plot_spectra)
        for name in res["names"]:
            echo(f"  {name}: spectral radius {res['radius'][name]:.2f}, ||W_hh|| {res['norm'][name]:.2f}, "
                 f"largest singular value of dh_{{T-1}}/dh_0 {res['sv'][name][0, 0]:.1e}")
    if "learnability" in experiments:
        res = learnability(cells_, task=task, steps=steps, progress=progress)
        save(f"learnability_{task}", res, plot_learnability)
        for cell in cells_:
            echo(f"  {CELL_NAMES[cell]:<10} test loss by T {dict(zip(res['Ts'].tolist(), np.round(np.nanmedian(res[cell]['test'], 0), 4).tolist()))}")
    if "clipping" in experiments:
        res = clipping_traces(progress=progress)
        save("clipping", res, plot_clipping)
        for name in ("unclipped", "clipped"):
            echo(f"  {name}: max gradient norm {np.nanmax(res[name]['grad_norm']):.1e}, test MSE {res[name]['test']:.3g}")
    return results
