"""A forecaster: a recurrent stack reads a window of a series, a Linear map on its last step predicts what
comes next.

The same model is the regressor of the adding problem (one number after a whole sequence). Training is in
``minirnn/train.py``; this file holds the model and ``recursive_forecast``, which looks further ahead by
feeding a one-step model its own predictions. The baselines to compare against are in ``baselines.py``.
"""

from __future__ import annotations

import numpy as np

from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.validation import check_output_grad
from .char_lm import CELLS, _seeds

__all__ = ["Forecaster", "recursive_forecast"]


class Forecaster(Module):
    """Window in, the next ``horizon`` values out (direct multi-step forecasting), time-major.

        out, _  = rnn(x)                           x (T, B, I) -> out (T, B, H)
        y_flat  = out[T-1] W^T + b                 (B, horizon * O)
        y       = y_flat reshaped                  (horizon, B, O)

    ``backward(dy)`` sends dy back through fc to the last step's output only (every other output gets zero
    gradient) and through the stack; it returns dx (T, B, I) and fills ``grads``: ``rnn.weight_ih_l0`` ...,
    ``fc.weight``, ``fc.bias``.

    Args:
        cell ("rnn" | "lstm" | "gru"), input_size (I), hidden_size (H), output_size (O, default I), horizon,
        num_layers, dropout; dtype, seed, backend as for the layers.

    Example:
        >>> f = Forecaster("lstm", 1, 16, horizon=3, seed=0)
        >>> f
        Forecaster('lstm', 1, 16, output_size=1, horizon=3)
        >>> y = f(np.zeros((24, 5, 1)))            # a 24-step window, 5 series
        >>> y.shape
        (3, 5, 1)
        >>> f.backward(np.ones_like(y)).shape
        (24, 5, 1)
    """

    def __init__(
        self,
        cell,
        input_size,
        hidden_size,
        output_size=None,
        horizon=1,
        num_layers=1,
        dropout=0.0,
        *,
        dtype=np.float64,
        seed=None,
        backend="auto",
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"Forecaster: cell must be one of {tuple(CELLS)}, got {cell!r}")
        for name, value in (("horizon", horizon),) + (
            (("output_size", output_size),) if output_size is not None else ()
        ):
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 1:
                raise ValueError(f"Forecaster: {name} must be a positive integer, got {value!r}")
        self.cell = cell
        self.output_size = int(output_size or input_size)
        self.horizon = int(horizon)
        s_rnn, s_fc = _seeds(seed, 2)
        self._modules["rnn"] = CELLS[cell](
            input_size, hidden_size, num_layers, dropout=dropout, dtype=dtype, seed=s_rnn, backend=backend
        )
        self._modules["fc"] = Linear(hidden_size, self.horizon * self.output_size, dtype=dtype, seed=s_fc)
        self._cache = None

    rnn = property(lambda self: self._modules["rnn"], doc="The recurrent stack.")
    fc = property(lambda self: self._modules["fc"], doc="The read-out Linear (H -> horizon * O).")

    def __call__(self, x):
        """x (T, B, I) -> y (horizon, B, O)."""
        if isinstance(x, np.ndarray) and x.ndim != 3:
            raise ValueError(f"Forecaster: x must have 3 dimensions (T, B, input_size), got shape {x.shape}")
        out, _ = self.rnn(x)  # (T, B, H)
        self._cache = out.shape
        y = self.fc(out[-1])  # (B, horizon * O)
        return y.reshape(-1, self.horizon, self.output_size).transpose(1, 0, 2)

    forward = __call__

    def backward(self, dy):
        """dy (horizon, B, O) -> dx (T, B, I); fills (overwrites) ``grads``."""
        if self._cache is None:
            raise RuntimeError("Forecaster.backward called before a forward pass")
        dy = np.asarray(dy)
        T, B, H = self._cache
        if dy.shape != (self.horizon, B, self.output_size):
            raise ValueError(
                f"dy must have shape (horizon, B, output_size) = {(self.horizon, B, self.output_size)}, "
                f"got {dy.shape}"
            )
        dy = check_output_grad(dy, dy.shape, self.rnn.dtype)
        dlast = self.fc.backward(dy.transpose(1, 0, 2).reshape(B, -1))  # (B, H)
        dout = np.zeros(self._cache, dtype=self.rnn.dtype)  # (T, B, H)
        dout[-1] = dlast
        dx, _ = self.rnn.backward(dout)
        return dx

    def __repr__(self):
        parts = [
            repr(self.cell),
            str(self.rnn.input_size),
            str(self.rnn.hidden_size),
            f"output_size={self.output_size}",
            f"horizon={self.horizon}",
        ]
        if self.rnn.num_layers != 1:
            parts.append(f"num_layers={self.rnn.num_layers}")
        if self.rnn.dtype != np.float64:
            parts.append(f"dtype=np.{self.rnn.dtype}")
        return f"Forecaster({', '.join(parts)})"


def recursive_forecast(model, x, steps):
    """Forecast ``steps`` values ahead with a one-step model by feeding it its own predictions.

        w_0 = x;   y_hat_k = model(w_{k-1})[0];   w_k = [w_{k-1}[1:], y_hat_k]        k = 1 .. steps

    Each prediction is appended to the window and the oldest step dropped, so from step 2 on the model reads
    values it produced itself, never true ones. A model trained one step ahead on true windows (teacher
    forcing) never saw its own errors as inputs: at test time they carry it to where it was not trained, and
    the errors compound (*exposure bias*, Bengio et al. 2015, "Scheduled sampling"). A *direct* model
    (``Forecaster(..., horizon=K)``, ``LinearAR(p, horizon=K)``) is trained on every lead instead.

    Args:
        model: any callable x (T, N, F) -> (h, N, F) with h >= 1 (only its first lead is used): a
            ``Forecaster`` (call ``model.eval()`` first if it has dropout) or a fitted ``LinearAR``.
        x (T, N, F): the windows, all advanced together.  steps (>= 1).

    Returns:
        y_hat (steps, N, F): y_hat[k - 1] is the forecast k steps after each window.

    Example:
        >>> f = Forecaster("gru", 1, 8, seed=0)
        >>> recursive_forecast(f, np.zeros((24, 5, 1)), 12).shape      # 12 months ahead, 5 windows
        (12, 5, 1)
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 1:
        raise ValueError(f"recursive_forecast: steps must be a positive integer, got {steps!r}")
    window = np.asarray(x)
    if window.ndim != 3:
        raise ValueError(f"recursive_forecast: x must have 3 dimensions (T, N, F), got shape {window.shape}")
    preds = []
    for _ in range(int(steps)):
        y = np.asarray(model(window))
        if y.ndim != 3 or y.shape[1:] != window.shape[1:]:
            raise ValueError(
                f"recursive_forecast: the model must map (T, N, F) = {window.shape} to (h, N, F) with the "
                f"same N and F (its output is fed back as input), got {y.shape}"
            )
        preds.append(y[0])  # (N, F)
        window = np.concatenate([window[1:], y[:1]], axis=0)  # slide: drop the oldest, append the prediction
    return np.stack(preds)  # (steps, N, F)
