"""The math of the three cells, in readable NumPy: ``rnn`` (tanh/relu), ``lstm`` (i, f, g, o) and ``gru`` (r, z, n).

Each module has ``step_forward``/``step_backward`` for one time step and ``forward``/``backward`` for a whole sequence
(backpropagation through time), with the equations in its docstring; ``backward_step`` is one step of that
backward. ``registry`` says what each cell is (gates, states, parameters) and calls any of them one way.
"""
from . import gru, lstm, registry, rnn

__all__ = ["rnn", "lstm", "gru", "registry"]
