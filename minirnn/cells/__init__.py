"""The math of the three cells, in readable NumPy: ``rnn`` (tanh/relu), ``lstm`` (i, f, g, o) and ``gru`` (r, z, n).

Each module has ``step_forward``/``step_backward`` for one time step and ``forward``/``backward`` for a whole sequence
(backpropagation through time), with the equations in its docstring; ``backward_step`` is one step of that
backward. ``registry`` says what each cell is (gates, states, parameters) and calls any of them one way.

Variants: ``ln_lstm`` and ``ln_gru`` are the layer-normalised cells (``layer_norm.py`` is their LN); every cell takes
an optional ``recurrent_mask`` (B, H), recurrent dropout on h_{t-1} in the recurrent product.
"""
from . import gru, layer_norm, ln_gru, ln_lstm, lstm, registry, rnn

__all__ = ["rnn", "lstm", "gru", "ln_lstm", "ln_gru", "layer_norm", "registry"]
