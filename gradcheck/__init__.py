"""gradcheck: a stand-alone finite-difference gradient checker. It imports only NumPy and knows nothing of
minirnn.

    report = gradcheck.check_gradients(f, params, grads)   # f(params) -> loss; grads: analytic gradients by
    name print(report)                                          # one row per tensor; report.passed -> bool

Also ``numerical_gradient`` (the CS231n pattern), ``eps_sweep`` with ``gradcheck.plot.plot_eps_sweep``, and
the ``gradcheck`` command (``python -m gradcheck --help``).
"""

from .numerics import EPS_SWEEP_VALUES, METHODS, check_gradients, default_atol, eps_sweep, numerical_gradient
from .report import Report, Row, reading, summary_table

__all__ = [
    "check_gradients",
    "numerical_gradient",
    "eps_sweep",
    "default_atol",
    "Report",
    "Row",
    "reading",
    "summary_table",
    "METHODS",
    "EPS_SWEEP_VALUES",
]
