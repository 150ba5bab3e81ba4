"""RNN, LSTM and GRU layers with PyTorch's constructor, weight names, shapes and semantics.

A layer stacks ``num_layers`` cells, optionally in both directions, over a batch of sequences. The math of
one cell over one sequence lives in ``minirnn/cells`` (readable NumPy) and ``minirnn/kernels`` (the same loops
under Numba);
this file only wires cells together: layer after layer, forward and reverse, padding, dropout, and the
    gradients back.

    out, h_n        = rnn(x, h0=None, lengths=None)          # RNN and GRU
    out, (h_n, c_n) = lstm(x, (h0, c0) or None, lengths=None)
    dx, dh0         = rnn.backward(dout, dh_n=None)          # None means zeros
    dx, (dh0, dc0)  = lstm.backward(dout, (dh_n, dc_n) or None)

One backward per forward, as in torch without ``retain_graph``: the compiled backward writes the gate
gradients over the saved gate values (so the peak memory stays near what the forward stores), and a second
call raises.

Shapes: ``x`` (T, B, I), or (B, T, I) with ``batch_first=True``, or (T, I) unbatched; ``out`` (T, B, D*H)
with D = 2 when bidirectional (forward features first, then reverse); ``h0``/``h_n`` (num_layers*D, B, H), row
``layer*D + direction``. An LSTM with ``proj_size=P`` has h of size P (``out`` (T, B, D*P), ``h0``/``h_n``
(L*D, B, P)) and c of size H. ``lengths`` (B integers in 1..T) follows ``pack_padded_sequence``: sequence b
ends at step lengths[b]-1, its outputs after that are zero, the reverse direction starts at its last real
step, and padded inputs get zero gradient.
"""

from __future__ import annotations

import numpy as np

from ..cells import registry
from .recurrent_base import BACKENDS, _Recurrent, use_backend  # noqa: F401 (re-exported)


class _SingleState(_Recurrent):
    """A layer whose only state is h (RNN, GRU): ``out, h_n = layer(x, h0)``, ``dx, dh0 =
    layer.backward(dout, dh_n)``."""

    def __call__(self, x, h0=None, lengths=None):
        """x (T, B, I) | (B, T, I) if batch_first | (T, I); h0 (L*D, B, H) or None -> out (T, B, D*H), h_n
        (L*D, B, H)."""
        return self._call(x, h0, lengths, "h0")

    forward = __call__

    def backward(self, dout, dh_n=None):
        """dout like ``out``, dh_n like ``h_n`` (None: zeros) -> dx like ``x``, dh0 like ``h0``; fills
        ``self.grads``."""
        return self._call_backward(dout, dh_n, "dh_n")


class RNN(_SingleState):
    """Elman RNN, as ``torch.nn.RNN``:  h_t = phi(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh),  phi = tanh or
    relu.

    Args:
        input_size (I), hidden_size (H), num_layers, nonlinearity ("tanh" | "relu"), bias, batch_first,
        dropout (between layers, training only), bidirectional: as PyTorch.
        dtype: np.float64 (default) or np.float32.  seed: for the initial weights and dropout masks.
        backend: "auto" (default), "numpy" (the readable loop) or "numba" (the compiled loop).
        recurrent_dropout: in [0, 1), training only: one inverted-dropout mask (B, H) per sequence and
            direction on h_{t-1} where it enters the recurrent product, the same at every step (Gal &
            Ghahramani 2016; Keras).
        merge_mode: how a bidirectional layer joins its directions: "concat" (PyTorch; default), "sum", "mul"
            or "ave" (Keras' Bidirectional); every stacked layer merges its own (``minirnn/nn/merge.py``).

    Parameters (``layer.params``): ``weight_ih_l{k}`` (H, I or D*H), ``weight_hh_l{k}`` (H, H),
    ``bias_ih_l{k}``, ``bias_hh_l{k}`` (H,), with suffix ``_reverse`` for the reverse direction.

    Example:
        >>> rnn = RNN(10, 20, num_layers=2, seed=0)
        >>> out, h_n = rnn(np.zeros((5, 3, 10)))
        >>> out.shape, h_n.shape
        ((5, 3, 20), (2, 3, 20))
        >>> dx, dh0 = rnn.backward(np.ones_like(out))
        >>> dx.shape, rnn.grads["weight_hh_l1"].shape
        ((5, 3, 10), (20, 20))
    """

    cell = registry.RNN

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        nonlinearity="tanh",
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        dtype=np.float64,
        seed=None,
        backend="auto",
        recurrent_dropout=0.0,
        merge_mode="concat",
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
            seed=seed,
            backend=backend,
            nonlinearity=nonlinearity,
            recurrent_dropout=recurrent_dropout,
            merge_mode=merge_mode,
        )

    @property
    def nonlinearity(self) -> str:
        """``"tanh"`` or ``"relu"``."""
        return self.options["nonlinearity"]


class GRU(_SingleState):
    """Gated recurrent unit, as ``torch.nn.GRU`` (gates r, z, n; the reset gate multiplies h W_hn^T + b_hn)::

        r = sigmoid(x W_ir^T + b_ir + h W_hr^T + b_hr)      z = sigmoid(x W_iz^T + b_iz + h W_hz^T + b_hz)
        n = tanh(x W_in^T + b_in + r * (h W_hn^T + b_hn))   h' = (1 - z) * n + z * h

    Same arguments as :class:`RNN` without ``nonlinearity``; weights are (3H, ...) in the order r, z, n.
    ``reset_after=False`` selects the original GRU of Cho et al. (2014), Keras' ``reset_after=False``: the
    reset gate multiplies h before the recurrent product, ``n = tanh(x W_in^T + b_in + (r * h) W_hn^T +
    b_hn)`` (``minirnn/cells/gru_reset_before.py``); same parameters.
    ``layer_norm=True`` normalises the input and recurrent products separately (``cells/ln_gru.py``), with
    gains ``ln_ih_weight_l{k}``, ``ln_hh_weight_l{k}`` (3H,) starting at 1.

    Example:
        >>> gru = GRU(10, 20, batch_first=True, seed=0)
        >>> out, h_n = gru(np.zeros((3, 5, 10)))
        >>> out.shape, h_n.shape
        ((3, 5, 20), (1, 3, 20))
        >>> GRU(10, 20, reset_after=False).cell.name
        'gru_reset_before'
    """

    cell = registry.GRU

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        *,
        dtype=np.float64,
        seed=None,
        backend="auto",
        reset_after=True,
        recurrent_dropout=0.0,
        merge_mode="concat",
        layer_norm=False,
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
            seed=seed,
            backend=backend,
            recurrent_dropout=recurrent_dropout,
            merge_mode=merge_mode,
            switches={"reset_after": reset_after, "layer_norm": layer_norm},
        )
        self.reset_after, self.layer_norm = bool(reset_after), bool(layer_norm)


class LSTM(_Recurrent):
    """Long short-term memory, as ``torch.nn.LSTM`` (gates i, f, g, o)::

        i, f, o = sigmoid(...),  g = tanh(...)   each of  x W_i*^T + b_i* + h W_h*^T + b_h*
        c' = f * c + i * g       h' = o * tanh(c')

    Same arguments as :class:`RNN` without ``nonlinearity``; weights are (4H, ...) in the order i, f, g, o.
    Three variants, each its own cell (two together are not implemented: a ValueError):

    * ``proj_size=P`` (0 < P < H), as PyTorch (Sak et al. 2014): ``h' = (o * tanh(c')) W_hr^T`` has size P,
      with one more parameter ``weight_hr_l{k}`` (P, H); ``weight_hh`` is (4H, P), ``out`` (T, B, D*P),
      ``h0``/``h_n`` (L*D, B, P), c keeps size H (``minirnn/cells/lstm_proj.py``).
    * ``peepholes=True`` (Gers and Schmidhuber 2000; TF's ``use_peepholes``): i and f also see ``w_ci * c``,
      ``w_cf * c`` of the previous c, o sees ``w_co * c'`` of the new one; the diagonal weights are named in
      PyTorch's style ``weight_ci_l{k}``, ``weight_cf_l{k}``, ``weight_co_l{k}``, each (H,)
      (``minirnn/cells/lstm_peephole.py``).
    * ``layer_norm=True`` normalises the input and recurrent products separately and c before its tanh
      (``cells/ln_lstm.py``), with gains ``ln_ih_weight_l{k}``, ``ln_hh_weight_l{k}`` (4H,),
      ``ln_c_weight_l{k}`` (H,) starting at 1 and ``ln_c_bias_l{k}`` (H,) at 0.

    Example:
        >>> lstm = LSTM(10, 20, seed=0)
        >>> out, (h_n, c_n) = lstm(np.zeros((5, 3, 10)))
        >>> dx, (dh0, dc0) = lstm.backward(np.ones_like(out))
        >>> dx.shape, dc0.shape
        ((5, 3, 10), (1, 3, 20))
        >>> lstmp = LSTM(10, 20, proj_size=5)
        >>> out, (h_n, c_n) = lstmp(np.zeros((5, 3, 10)))
        >>> out.shape, h_n.shape, c_n.shape, lstmp.params["weight_hr_l0"].shape
        ((5, 3, 5), (1, 3, 5), (1, 3, 20), (5, 20))
    """

    cell = registry.LSTM

    def __init__(
        self,
        input_size,
        hidden_size,
        num_layers=1,
        bias=True,
        batch_first=False,
        dropout=0.0,
        bidirectional=False,
        proj_size=0,
        *,
        dtype=np.float64,
        seed=None,
        backend="auto",
        peepholes=False,
        recurrent_dropout=0.0,
        merge_mode="concat",
        layer_norm=False,
    ):
        super().__init__(
            input_size,
            hidden_size,
            num_layers,
            bias,
            batch_first,
            dropout,
            bidirectional,
            dtype=dtype,
            seed=seed,
            backend=backend,
            proj_size=proj_size,
            recurrent_dropout=recurrent_dropout,
            merge_mode=merge_mode,
            switches={"peepholes": peepholes, "layer_norm": layer_norm},
        )
        self.peepholes, self.layer_norm = bool(peepholes), bool(layer_norm)

    def __call__(self, x, hx=None, lengths=None):
        """x as in :class:`RNN`; hx = (h0, c0) each (L*D, B, H), or None -> out, (h_n, c_n)."""
        return self._call(x, hx, lengths, "hx")

    forward = __call__

    def backward(self, dout, dhx=None):
        """dout like ``out``; dhx = (dh_n, dc_n) or None (zeros) -> dx, (dh0, dc0); fills ``self.grads``."""
        return self._call_backward(dout, dhx, "dhx")


#: The layer class of each cell, by the cell's registry name.
LAYERS = {cls.cell.name: cls for cls in (RNN, LSTM, GRU)}


def layer_for(cell, *args, **kwargs):
    """A layer that runs the registry cell ``cell`` (a variant too): its family's class, given the switches
    that select it; ``args``, ``kwargs`` as the class takes them (a projected cell needs ``proj_size=``).

    Example:
        >>> layer_for(registry.get("gru_reset_before"), 3, 4)
        GRU(3, 4, reset_after=False)
    """
    switches = {
        key: value for key, value in cell.switches.items() if key != "proj_size"
    }  # proj_size is a size
    layer = LAYERS[cell.family or cell.name](*args, **switches, **kwargs)
    if layer.cell is not cell:
        raise ValueError(
            f"layer_for: the arguments select the cell {layer.cell.name!r}, not {cell.name!r}"
            + (" (pass proj_size > 0)" if "proj_size" in cell.switches else "")
        )
    return layer


def layer_class(cell, where="cell"):
    """The layer class for a cell name (``"lstm"`` -> :class:`LSTM`, any case) or a layer class itself.

    Example:
        >>> layer_class("GRU")
        <class 'minirnn.nn.recurrent.GRU'>
    """
    if isinstance(cell, type) and cell in LAYERS.values():
        return cell
    if isinstance(cell, str) and cell.lower() in LAYERS:
        return LAYERS[cell.lower()]
    names = ", ".join(repr(name) for name in LAYERS)
    raise ValueError(f"{where} must be one of {names} (or minirnn.RNN/LSTM/GRU), got {cell!r}")
