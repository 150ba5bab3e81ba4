"""What the PyTorch and Keras importers share: arrays out of tensors, the layer class of a cell, and gate
blocks moved
from one framework's order to another's."""

from __future__ import annotations

import numpy as np

from ..cells import registry
from ..nn.recurrent import LAYERS, layer_class


def to_numpy(value, where):
    """A torch tensor or array-like -> a NumPy float array (a copy)."""
    if hasattr(value, "detach"):
        value = value.detach().cpu().numpy()
    value = np.array(value)
    if value.dtype not in (np.float32, np.float64):
        raise TypeError(f"{where} must be a float32 or float64 array, got dtype {value.dtype}")
    return value


def cell_of(layer, where="layer", framework=None):
    """The registry cell of a minirnn recurrent layer; TypeError for anything else. With ``framework``
    ("torch" or "keras"), a ValueError when that framework has no layer computing the same (layer norm;
    PyTorch: a
    merge_mode
    other than concat)."""
    if type(layer) not in LAYERS.values():
        raise TypeError(f"{where} must be a minirnn RNN, LSTM or GRU layer, got {type(layer).__name__}")
    cell = layer.cell
    if framework is not None:
        counterpart = cell.torch_class if framework == "torch" else cell.keras_class
        if not counterpart:
            choices = ", ".join(
                f"{k}={v!r}" for k, v in cell.switches.items() if v is not True or k != "reset_after"
            )
            name = "PyTorch" if framework == "torch" else "Keras"
            raise ValueError(
                f"{where} is a minirnn {type(layer).__name__} with {choices}; {framework} has no built-in "
                f"layer that computes it: it runs the cell {cell.title}, which {name} does not have, so "
                "it cannot be exported (to_torch_state_dict still gives its weights by name)"
            )
        if framework == "torch" and layer.merge_mode != "concat":
            raise ValueError(
                f"{where} has merge_mode={layer.merge_mode!r}; PyTorch's bidirectional layers only "
                "concatenate (merge_mode='concat')"
            )
    return cell


def parse_cell(cell):
    """A cell given as a name ('lstm', any case), a minirnn layer class or a registry cell -> its registry
    cell; None
    stays None."""
    if cell is None or isinstance(cell, registry.Cell):  # a base cell or a variant
        return cell
    return layer_class(cell).cell


def reorder_blocks(a, source, target, H, axis=0):
    """Rows of ``a`` in gate blocks of H, from the order ``source`` to ``target`` (two orders of the same
    gate names).

    Example:
        >>> reorder_blocks(np.arange(6), ("z", "r", "n"), ("r", "z", "n"), 2)
        array([2, 3, 0, 1, 4, 5])
    """
    a = np.moveaxis(a, axis, 0)
    blocks = {name: a[k * H : (k + 1) * H] for k, name in enumerate(source)}
    return np.moveaxis(np.concatenate([blocks[name] for name in target], axis=0), 0, axis)
