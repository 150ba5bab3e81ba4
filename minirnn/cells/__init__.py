"""The math of the three cells, in readable NumPy: ``rnn`` (tanh/relu), ``lstm`` (i, f, g, o) and ``gru`` (r,
z, n), and the variants ``gru_reset_before`` (Cho et al.'s GRU), ``lstm_proj`` (projections) and
``lstm_peephole``.

Each module has ``step_forward``/``step_backward`` for one time step and ``forward``/``backward`` for a whole
sequence (backpropagation through time), with the equations in its docstring; ``backward_step`` is one step of
that backward. ``registry`` says what each cell is (gates, states, parameters) and calls any of them one way.

Variants: ``gru_reset_before`` (``reset_after=False``), ``lstm_proj`` (``proj_size``), ``lstm_peephole``
(``peepholes``), and the layer-normalised ``ln_lstm`` and ``ln_gru`` (``layer_norm.py`` is their LN); the
base cells take an optional ``recurrent_mask`` (B, H), recurrent dropout on h_{t-1} in the recurrent product.
"""

from . import (
    gru,
    gru_reset_before,
    layer_norm,
    ln_gru,
    ln_lstm,
    lstm,
    lstm_peephole,
    lstm_proj,
    registry,
    rnn,
)

__all__ = [
    "rnn",
    "lstm",
    "gru",
    "gru_reset_before",
    "lstm_proj",
    "lstm_peephole",
    "ln_lstm",
    "ln_gru",
    "layer_norm",
    "registry",
]
