"""The math of the three cells, in readable NumPy: ``rnn`` (tanh/relu), ``lstm`` (i, f, g, o) and ``gru`` (r, z, n), and
the variants ``gru_reset_before`` (Cho et al.'s GRU), ``lstm_proj`` (projections) and ``lstm_peephole``.

Each module has ``step_forward``/``step_backward`` for one time step and ``forward``/``backward`` for a whole sequence
(backpropagation through time), with the equations in its docstring; ``backward_step`` is one step of that
backward. ``registry`` says what each cell is (gates, states, parameters) and calls any of them one way.
"""
from . import gru, gru_reset_before, lstm, lstm_peephole, lstm_proj, registry, rnn

__all__ = ["rnn", "lstm", "gru", "gru_reset_before", "lstm_proj", "lstm_peephole", "registry"]
