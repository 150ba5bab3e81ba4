"""The Module base class that every minirnn layer and model builds on.

A Module holds two dicts with the same keys: ``params`` (name -> ndarray, what learns) and ``grads`` (name ->
ndarray of the same shape, filled by ``backward``). Forward runs by calling the module; it keeps whatever
``backward`` needs from the last call. ``state_dict``/``load_state_dict`` move parameters in and out by name
(PyTorch's names), ``train``/``eval``
switch dropout on and off. Nothing else: no hooks, no registry.
"""

from __future__ import annotations

import numpy as np

from .validation import require_finite


class Module:
    """Base class: ``params``, ``grads``, ``state_dict``, ``train``/``eval``, ``zero_grad``.

    Sub-modules are kept in ``self._modules`` (name -> Module); their parameters appear in ``params`` under
    ``"<name>.<param>"`` exactly as in a PyTorch ``state_dict``.

    Example:
        >>> m = Module()
        >>> m._own_params["w"] = np.zeros(3); m._own_grads["w"] = np.zeros(3)
        >>> sorted(m.state_dict())
        ['w']
    """

    def __init__(self):
        self._own_params: dict[str, np.ndarray] = {}
        self._own_grads: dict[str, np.ndarray] = {}
        self._modules: dict[str, Module] = {}
        self.training = True

    # -- parameters
    # ------------------------------------------------------------------------------------------------
    @property
    def params(self) -> dict[str, np.ndarray]:
        """All learnable arrays by (PyTorch) name, this module's own first, then each sub-module's with a
        prefix."""
        out = dict(self._own_params)
        for prefix, module in self._modules.items():
            for name, value in module.params.items():
                out[f"{prefix}.{name}"] = value
        return out

    @property
    def grads(self) -> dict[str, np.ndarray]:
        """Gradients of the last ``backward``, same names and shapes as ``params``."""
        out = dict(self._own_grads)
        for prefix, module in self._modules.items():
            for name, value in module.grads.items():
                out[f"{prefix}.{name}"] = value
        return out

    def zero_grad(self) -> None:
        """Set every gradient to zero (in place)."""
        for g in self.grads.values():
            g[...] = 0

    def state_dict(self) -> dict[str, np.ndarray]:
        """A copy of every parameter by name; ``torch.save``-free, a plain dict of NumPy arrays."""
        return {name: value.copy() for name, value in self.params.items()}

    def load_state_dict(self, state: dict) -> None:
        """Copy arrays into the parameters by name (in place, so optimizers keep their references).

        Accepts NumPy arrays or anything ``np.asarray`` converts (a torch tensor's ``.numpy()``, or the
        tensor itself on CPU). Every name must be present, no extra names, every shape must match, and every
        value must be finite once
        cast to the parameter's dtype (1e39 does not fit float32): otherwise a ``ValueError`` that names the
        key, and nothing is changed.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict of name -> array, got {type(state).__name__}")
        params = self.params
        missing = sorted(set(params) - set(state))
        unexpected = sorted(set(state) - set(params))
        if missing or unexpected:
            raise ValueError(
                f"state_dict keys do not match {type(self).__name__}: missing {missing}, "
                f"unexpected {unexpected}"
            )
        converted = {}
        for name, target in params.items():
            value = state[name]
            if hasattr(value, "detach"):  # a torch tensor
                value = value.detach().cpu().numpy()
            value = np.asarray(value)
            if value.shape != target.shape:
                raise ValueError(f"state_dict[{name!r}] must have shape {target.shape}, got {value.shape}")
            if not (np.issubdtype(value.dtype, np.floating) or np.issubdtype(value.dtype, np.integer)):
                raise TypeError(f"state_dict[{name!r}] must be a real numeric array, got dtype {value.dtype}")
            require_finite(value, f"state_dict[{name!r}]")
            with np.errstate(over="ignore", invalid="ignore"):
                cast = value.astype(target.dtype)  # what the parameter will hold
            if not np.all(np.isfinite(cast)):
                raise ValueError(
                    f"state_dict[{name!r}] holds values that do not fit {target.dtype} (largest "
                    f"magnitude {np.abs(value).max():.3g}, the largest {target.dtype} is "
                    f"{np.finfo(target.dtype).max:.3g}); nothing was loaded"
                )
            converted[name] = cast
        for name, target in params.items():  # all checked: now write
            target[...] = converted[name]

    # -- modes
    # -----------------------------------------------------------------------------------------------------
    def train(self, mode: bool = True) -> "Module":
        """Switch training mode (dropout on) for this module and its sub-modules; returns self."""
        self.training = bool(mode)
        for module in self._modules.values():
            module.train(mode)
        return self

    def eval(self) -> "Module":
        """Switch to evaluation mode (dropout off); returns self."""
        return self.train(False)

    def num_parameters(self) -> int:
        """How many scalars learn."""
        return int(sum(p.size for p in self.params.values()))
