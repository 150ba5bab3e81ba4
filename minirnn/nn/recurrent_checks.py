"""What a recurrent layer accepts: the checks its call and backward run on x, lengths and the states before
any compiled code sees them (a ``TypeError``/``ValueError`` naming the argument, the expected and the given).

Mixed into :class:`minirnn.nn.recurrent_base._Recurrent`; the methods read the layer's ``dtype``,
``input_size``, ``batch_first``, ``num_layers``, ``num_directions``, ``hidden_size``, ``state_sizes`` and
``cell``.

Example:
    >>> import numpy as np, minirnn
    >>> lstm = minirnn.LSTM(3, 4)
    >>> x, unbatched = lstm._check_input(np.zeros((5, 2, 3)))
    >>> x.shape, unbatched
    ((5, 2, 3), False)
    >>> lstm._check_lengths([5, 2], T=5, B=2).sum(axis=0)
    array([5, 2])
"""

from __future__ import annotations

import numpy as np

from .validation import refuse_masked, require_finite


class RecurrentChecks:
    """The input, lengths and state checks of a recurrent layer (a mixin)."""

    def _check_array(self, arg, value, shape, what):
        """``value`` must be a finite ndarray of the layer's dtype and the given shape; returns it."""
        name = type(self).__name__
        if not isinstance(value, np.ndarray):
            raise TypeError(
                f"{name}: {arg} must be a numpy.ndarray of {self.dtype}, got {type(value).__name__}"
            )
        refuse_masked(value, f"{name}: {arg}")
        if value.dtype != self.dtype:
            raise TypeError(
                f"{name}: {arg} must have dtype {self.dtype} (the layer's dtype), got {value.dtype}; "
                f"convert with {arg}.astype(np.{self.dtype})"
            )
        if value.shape != shape:
            raise ValueError(f"{name}: {arg} must have shape {what} = {shape}, got {value.shape}")
        require_finite(value, f"{name}: {arg}")
        return value

    def _check_input(self, x):
        """Validate x; returns it time-major (T, B, I) and whether it was unbatched."""
        name = type(self).__name__
        if not isinstance(x, np.ndarray):
            raise TypeError(f"{name}: x must be a numpy.ndarray of {self.dtype}, got {type(x).__name__}")
        refuse_masked(x, f"{name}: x")
        if x.ndim not in (2, 3):
            layout = "(batch, seq_len, input_size)" if self.batch_first else "(seq_len, batch, input_size)"
            raise ValueError(
                f"{name}: x must have 3 dimensions {layout} or 2 (seq_len, input_size), got shape {x.shape}"
            )
        if x.shape[-1] != self.input_size:
            raise ValueError(
                f"{name}: x must have input_size = {self.input_size} features in its last dimension, "
                f"got shape {x.shape}"
            )
        if 0 in x.shape:
            raise ValueError(f"{name}: x must not be empty, got shape {x.shape}")
        self._check_array("x", x, x.shape, "x.shape")
        unbatched = x.ndim == 2
        if unbatched:
            x = x[:, None, :]
        elif self.batch_first:
            x = x.transpose(1, 0, 2)
        return x, unbatched

    def _check_lengths(self, lengths, T, B):
        """lengths (B,) integers in 1..T -> a (T, B) boolean mask, or None."""
        name = type(self).__name__
        if lengths is None:
            return None
        if hasattr(lengths, "detach"):  # a torch tensor
            lengths = lengths.detach().cpu().numpy()
        lengths = np.asarray(lengths)
        if lengths.dtype == bool or not np.issubdtype(lengths.dtype, np.integer):
            raise TypeError(f"{name}: lengths must be integers, got dtype {lengths.dtype}")
        if lengths.shape != (B,):
            raise ValueError(
                f"{name}: lengths must have one entry per sequence, shape ({B},), got {lengths.shape}"
            )
        if lengths.min() < 1 or lengths.max() > T:
            raise ValueError(
                f"{name}: lengths must lie in 1..{T} (the sequence length), "
                f"got min {lengths.min()} and max {lengths.max()}"
            )
        return np.arange(T)[:, None] < lengths[None, :]

    def _state_shape(self, B, unbatched, state="h"):
        LD, H = self.num_layers * self.num_directions, self.state_sizes[state]
        size = "proj_size" if H != self.hidden_size else "hidden_size"
        return (
            ((LD, H), f"(num_layers * num_directions, {size})")
            if unbatched
            else ((LD, B, H), f"(num_layers * num_directions, batch, {size})")
        )

    def _check_state(self, arg, value, B, unbatched, state="h"):
        """A state (h0, c0 or a gradient of one) -> (L*D, B, H) array (H: the state's size); None -> zeros."""
        shape, what = self._state_shape(B, unbatched, state)
        if value is None:
            return np.zeros((shape[0], B, self.state_sizes[state]), dtype=self.dtype)
        self._check_array(arg, value, shape, what)
        return value[:, None, :] if unbatched else value

    def unpack_states(self, value, arg="hx"):
        """A state as the API takes it (one array, or a tuple for the LSTM) -> always a tuple in
        ``cell.states`` order; None -> a tuple of Nones.

        Example:
            >>> from minirnn import GRU, LSTM
            >>> LSTM(2, 3).unpack_states(("h", "c")), GRU(2, 3).unpack_states("h")
            (('h', 'c'), ('h',))
        """
        n = len(self.cell.states)
        if value is None:
            return (None,) * n
        if n == 1:
            return (value,)
        if not isinstance(value, (tuple, list)) or len(value) != n:
            raise TypeError(
                f"{type(self).__name__}: {arg} must be a pair ({', '.join(self.cell.states)}) of arrays "
                f"or None, got {type(value).__name__}"
            )
        return tuple(value)

    def pack_states(self, states):
        """The inverse of :meth:`unpack_states`: a tuple in ``cell.states`` order -> the API's form.

        Example:
            >>> from minirnn import GRU, LSTM
            >>> LSTM(2, 3).pack_states(("h", "c")), GRU(2, 3).pack_states(("h",))
            (('h', 'c'), 'h')
        """
        return states[0] if len(self.cell.states) == 1 else tuple(states)
