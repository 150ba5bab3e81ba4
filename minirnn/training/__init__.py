"""Training: the fit loop with truncated BPTT (``loop.py``), atomic checksummed checkpoints
(``checkpoint.py``) and the
recipes behind ``minirnn train`` (``recipes.py``: one task, its model, data, loss and baseline)."""

from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from .loop import NonFiniteError, fit, plot_history

__all__ = ["fit", "NonFiniteError", "plot_history", "save_checkpoint", "load_checkpoint", "read_checkpoint"]
