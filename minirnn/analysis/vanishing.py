"""Why gradients vanish: exact per-step gradient norms from the hand-written BPTT, the experiments, and their
figures.

For a tanh RNN one step back multiplies the gradient by the Jacobian ``dh_t/dh_{t-1} = diag(1 - h_t^2)
W_hh``, so the
gradient that reaches step t from a loss at the last step passes through T-1-t such factors::

    dL/dh_t = dL/dh_{T-1} J_{T-1} J_{T-2} ... J_{t+1}            (row vectors; J_s = diag(1 - h_s^2) W_hh)

It shrinks geometrically when sigma_max(W_hh) * max|tanh'| < 1 (sufficient; Bengio et al. 1994, Pascanu et
al. 2013) and *may* grow when sigma_max(W_hh) > 1 (only necessary: the tanh slope can shrink it back). The
LSTM's cell path ``dL/dc_{t-1} = f_t * dL/dc_t`` and the GRU's shortcut ``dh_{t-1} += z_t * dh_t`` can carry
the gradient far, but only
where the gates are near 1: at PyTorch's default init they are near 0.5 and the gradient still vanishes.

What is here, one module per concept (this module gathers their names):

1. **Measurements** (``gradients.py``) (exact, one backward pass, no finite differences):
:func:`gradient_profile` and
   :func:`gradient_norms` (||dL/dh_t|| per step, ||dL/dc_t|| for the LSTM, ||dL/dx_t||),
   :func:`jacobian_singular_values` (of dh_{T-1}/dh_t for every t), :func:`per_step_factor`,
   :func:`decay_ratio`. They reuse the cells' step-backward functions on the cache of
   ``cells.<cell>.forward``; nothing is
   re-derived.
2. **Experiments** (``experiments.py``) returning plain dicts of arrays plus their ``protocol`` (loss, sizes,
input scale, dtype, seeds):
   :func:`protocol_a`, :func:`cell_profiles`, :func:`gain_sweep`, :func:`gain_scale_heatmap`,
   :func:`gate_bias_sweep`, :func:`spectra`, :func:`learnability`, :func:`clipping_traces`,
   :func:`clipping_rescue` (``exploding.py``), :func:`cliff_demo` (``cliff.py``, Pascanu's cliff).
3. **Figures** (``figures.py``, ``plot_*``), each returning a matplotlib Figure and saving a PNG when given
``path``. One colour per cell
   in every figure (:data:`CELL_COLORS`). ``report.py``: tables, files and :func:`run` (``minirnn
       vanishing``).

Work in float64: in float32 a ratio of 1e-20 underflows to 0 long before T = 100.

The *linear RNN* ``h_t = x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh`` (identity activation) is not a minirnn
layer; it lives in ``linear_rnn.py`` as :class:`LinearRNN` because it is the one case with a closed form: with
``W_hh = g Q`` (Q orthogonal)
||dL/dh_t|| = g^(T-1-t) ||dL/dh_{T-1}|| exactly.
"""

from __future__ import annotations

from ..cells import registry
from .experiments import (
    CEC_BIAS,
    cell_profiles,
    gain_scale_heatmap,
    gain_sweep,
    gate_bias_sweep,
    protocol_a,
    spectra,
)
from .cliff import cliff_demo, cliff_summary, plot_cliff
from .exploding import clipping_rescue, clipping_traces
from .figures import (
    CELL_COLORS,
    plot_cell_profiles,
    plot_clipping,
    plot_clipping_rescue,
    plot_defaults,
    plot_gain_sweep,
    plot_gate_bias,
    plot_heatmap,
    plot_learnability,
    plot_profiles,
    plot_spectra,
)
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
)
from .linear_rnn import LINEAR, LinearRNN
from .remedies import (
    CONFIGS,
    build_layer,
    defaults_profiles,
    keras_defaults_,
    learnability,
)
from .report import EXPERIMENTS, run, summary_table
from .tasks import train_task

#: How figures and tables name each cell.
CELL_NAMES = {cell.name: cell.title for cell in (*registry.CELLS.values(), LINEAR)}

__all__ = [
    "CELL_COLORS",
    "CELL_NAMES",
    "LinearRNN",
    "make_layer",
    "orthogonal",
    "set_gate_bias",
    "gradient_profile",
    "gradient_norms",
    "jacobian_singular_values",
    "per_step_factor",
    "decay_ratio",
    "protocol_a",
    "cell_profiles",
    "gain_sweep",
    "gain_scale_heatmap",
    "gate_bias_sweep",
    "spectra",
    "learnability",
    "clipping_traces",
    "clipping_rescue",
    "cliff_demo",
    "cliff_summary",
    "train_task",
    "CEC_BIAS",
    "EXPERIMENTS",
    "run",
    "plot_profiles",
    "plot_cell_profiles",
    "plot_gain_sweep",
    "plot_heatmap",
    "plot_gate_bias",
    "plot_spectra",
    "plot_learnability",
    "plot_clipping",
    "plot_clipping_rescue",
    "plot_cliff",
    "summary_table",
    "first_step_drop",
    "mid_range_factor",
    "CONFIGS",
    "build_layer",
    "defaults_profiles",
    "keras_defaults_",
    "plot_defaults",
]
