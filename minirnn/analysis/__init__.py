"""Measurements of how gradients flow through time: per-step gradient norms, Jacobian spectra, the
experiments and
their figures (``vanishing.py``), and the gradient-check suite over every cell (``gradient_suite.py``)."""
