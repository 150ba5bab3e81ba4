"""Optimizers and gradient clipping, with torch.optim's update rules so both take the same steps.

An optimizer is given a module (anything with ``params`` and ``grads``: dicts name -> ndarray with the same
keys) and updates every ``module.params[name]`` IN PLACE from ``module.grads[name]``. Its state is a plain
dict of arrays and numbers (``state_dict``), so a checkpoint can put it in an ``.npz`` next to the weights.
Per-parameter state keys are ``"<buffer>:<param name>"``, e.g. ``"exp_avg:weight_ih_l0"``.

Clipping functions work on a module or on a grads dict, in place, like ``torch.nn.utils.clip_grad_norm_``.
"""

from __future__ import annotations

import numpy as np

from .validation import NonFiniteInputError

__all__ = ["SGD", "Adagrad", "Adam", "grad_norm", "clip_grad_norm", "clip_grad_value"]


def _check_nonneg(value, name: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float, np.integer, np.floating))
        or not np.isfinite(value)
        or value < 0
    ):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")
    return float(value)


class _Optimizer:
    """What every optimizer shares: the module, the hyperparameters, the state buffers, (de)serialising
    them."""

    _hyper: tuple[str, ...] = ()  # names of the float hyperparameters saved in state_dict
    _buffers: tuple[str, ...] = ()  # names of the per-parameter state arrays

    def __init__(self, module):
        if not (hasattr(module, "params") and hasattr(module, "grads")):
            raise TypeError(
                f"module must have `params` and `grads` dicts (a minirnn Module), got {type(module).__name__}"
            )
        self.module = module
        self.state: dict[str, dict[str, np.ndarray]] = {b: {} for b in self._buffers}
        self.step_count = 0
        params = module.params
        grads = module.grads
        if set(params) != set(grads):
            raise ValueError(
                f"module.params and module.grads must have the same names, got {sorted(params)} "
                f"and {sorted(grads)}"
            )

    def _pairs(self):
        params, grads = self.module.params, self.module.grads
        for name, p in params.items():
            g = grads[name]
            if g.shape != p.shape:
                raise ValueError(
                    f"grads[{name!r}] must have the shape of params[{name!r}] {p.shape}, got {g.shape}"
                )
            yield name, p, g

    def zero_grad(self) -> None:
        """Set every gradient of the module to zero, in place."""
        for g in self.module.grads.values():
            g[...] = 0

    def step(self) -> None:
        """Apply one update to every parameter from its current gradient.

        A NaN or Inf in any gradient raises ``ValueError`` naming the parameter, before anything is updated.
        """
        pairs = list(self._pairs())
        for name, _, g in pairs:
            if not np.all(np.isfinite(g)):
                raise NonFiniteInputError(f"grads[{name!r}] contains NaN or Inf; no parameter was updated")
        self.step_count += 1
        for name, p, g in pairs:
            self._update(name, p, g)

    def _update(self, name, p, g):  # pragma: no cover - every optimizer overrides it
        raise NotImplementedError

    # -- checkpoints
    # -----------------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """A plain dict: ``"optimizer"`` (class name), the hyperparameters, ``"step"``, and a copy of every
        buffer
        under ``"<buffer>:<param name>"``. ``np.savez(path, **opt.state_dict())`` stores it."""
        out = {"optimizer": type(self).__name__, "step": self.step_count}
        for h in self._hyper:
            out[h] = getattr(self, h)
        for b in self._buffers:
            for name, arr in self.state[b].items():
                out[f"{b}:{name}"] = arr.copy()
        return out

    def load_state_dict(self, state) -> None:
        """Restore what ``state_dict`` gave (also as loaded back from an ``.npz``: scalars may be 0-d arrays).

        Checks the optimizer kind, that every buffer names a parameter of the module with its shape and holds
        finite numbers, that every hyperparameter is one the constructor accepts (a finite number >= 0, betas
        below 1) and that ``step`` is an integer >= 0; raises ``ValueError`` otherwise and changes nothing.
        """
        if not isinstance(state, dict):
            raise TypeError(f"state must be a dict (from state_dict()), got {type(state).__name__}")
        state = dict(state)
        kind = str(np.asarray(state.get("optimizer", "")))
        if kind != type(self).__name__:
            raise ValueError(f"state['optimizer'] must be {type(self).__name__!r}, got {kind!r}")
        params = self.module.params
        buffers: dict[str, dict[str, np.ndarray]] = {b: {} for b in self._buffers}
        for key, value in state.items():
            if ":" not in key:
                continue
            b, name = key.split(":", 1)
            if b not in buffers or name not in params:
                raise ValueError(
                    f"state key {key!r} is not a buffer of {type(self).__name__} for a parameter "
                    f"of the module (buffers {list(self._buffers)}, parameters {sorted(params)})"
                )
            value = np.asarray(value)
            if value.dtype.kind not in "biuf":
                raise ValueError(f"state[{key!r}] must be a real numeric array, got dtype {value.dtype}")
            if value.shape != params[name].shape:
                raise ValueError(f"state[{key!r}] must have shape {params[name].shape}, got {value.shape}")
            with np.errstate(over="ignore"):
                value = np.array(value, dtype=params[name].dtype)
            if not np.all(np.isfinite(value)):
                raise ValueError(
                    f"state[{key!r}] must hold finite numbers that fit {params[name].dtype}, "
                    f"got NaN, Inf or a value too large"
                )
            buffers[b][name] = value
        missing = [k for k in ("step",) + self._hyper if k not in state]
        if missing:
            raise ValueError(f"state is missing {missing}")
        hyper = {h: self._check_hyper(h, state[h]) for h in self._hyper}
        step = state["step"]
        step = step.item() if isinstance(step, np.ndarray) and step.shape == () else step
        if isinstance(step, (bool, np.bool_)) or not isinstance(step, (int, np.integer)) or step < 0:
            raise ValueError(f"state['step'] must be an integer >= 0, got {step!r}")
        self.step_count = int(step)  # everything checked: now write
        for h, v in hyper.items():
            setattr(self, h, v)
        self.state = buffers

    def _check_hyper(self, name, value):
        """A saved hyperparameter as the constructor would accept it, or a ValueError naming it."""
        value = value.item() if isinstance(value, np.ndarray) and value.shape == () else value
        if name == "nesterov":
            if not isinstance(value, (bool, np.bool_)):
                raise ValueError(f"state['nesterov'] must be True or False, got {value!r}")
            return bool(value)
        value = _check_nonneg(value, f"state[{name!r}]")
        if name in ("beta1", "beta2") and not value < 1:
            raise ValueError(f"state[{name!r}] must be a number in [0, 1), got {value!r}")
        return value

    def __repr__(self) -> str:
        args = ", ".join(f"{h}={getattr(self, h)!r}" for h in self._hyper)
        return f"{type(self).__name__}({args})"


class SGD(_Optimizer):
    """Stochastic gradient descent with optional momentum, Nesterov momentum and L2 weight decay
    (torch.optim.SGD).

        g = grad + weight_decay * p
        b = g                                       on the first step
        b = momentum * b + (1 - dampening) * g      afterwards       (only when momentum > 0)
        g = g + momentum * b  if nesterov  else  b                   (only when momentum > 0)
        p = p - lr * g

    Example:
        >>> from minirnn.nn import Linear
        >>> lin = Linear(3, 2, seed=0); opt = SGD(lin, lr=0.1, momentum=0.9)
        >>> _ = lin(np.ones((4, 3))); _ = lin.backward(np.ones((4, 2))); opt.step(); opt.zero_grad()
    """

    _hyper = ("lr", "momentum", "dampening", "weight_decay", "nesterov")
    _buffers = ("momentum_buffer",)

    def __init__(self, module, lr, momentum=0.0, weight_decay=0.0, nesterov=False, dampening=0.0):
        super().__init__(module)
        self.lr = _check_nonneg(lr, "lr")
        self.momentum = _check_nonneg(momentum, "momentum")
        self.dampening = _check_nonneg(dampening, "dampening")
        self.weight_decay = _check_nonneg(weight_decay, "weight_decay")
        self.nesterov = bool(nesterov)
        if self.nesterov and (self.momentum <= 0 or self.dampening != 0):
            raise ValueError(
                f"nesterov=True needs momentum > 0 and dampening = 0, got momentum={self.momentum} "
                f"and dampening={self.dampening}"
            )

    def _update(self, name, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p
        if self.momentum:
            bufs = self.state["momentum_buffer"]
            if name not in bufs:
                bufs[name] = np.array(g, copy=True)
            else:
                bufs[name] *= self.momentum
                bufs[name] += (1 - self.dampening) * g
            g = g + self.momentum * bufs[name] if self.nesterov else bufs[name]
        p -= self.lr * g


class Adagrad(_Optimizer):
    """Adagrad (Duchi et al. 2011), as torch.optim.Adagrad with its defaults (no lr decay, zero initial sum).

        s = s + grad^2
        p = p - lr * grad / (sqrt(s) + eps)

    Example:
        >>> from minirnn.nn import Linear
        >>> opt = Adagrad(Linear(3, 2, seed=0), lr=0.01)
        >>> opt
        Adagrad(lr=0.01, eps=1e-10)
    """

    _hyper = ("lr", "eps")
    _buffers = ("sum",)

    def __init__(self, module, lr=1e-2, eps=1e-10):
        super().__init__(module)
        self.lr = _check_nonneg(lr, "lr")
        self.eps = _check_nonneg(eps, "eps")

    def _update(self, name, p, g):
        s = self.state["sum"].setdefault(name, np.zeros_like(p))
        s += g * g
        p -= self.lr * (g / (np.sqrt(s) + self.eps))


class Adam(_Optimizer):
    """Adam (Kingma & Ba 2015), as torch.optim.Adam (L2 weight decay added to the gradient, no amsgrad).

        g = grad + weight_decay * p
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g^2
        p = p - (lr / (1 - beta1^t)) * m / (sqrt(v) / sqrt(1 - beta2^t) + eps)        t = 1, 2, ... the step
        count

    Example:
        >>> from minirnn.nn import Linear
        >>> opt = Adam(Linear(3, 2, seed=0), lr=1e-3)
        >>> sorted(opt.state_dict())[:3]
        ['beta1', 'beta2', 'eps']
    """

    _hyper = ("lr", "beta1", "beta2", "eps", "weight_decay")
    _buffers = ("exp_avg", "exp_avg_sq")

    def __init__(self, module, lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.0):
        super().__init__(module)
        self.lr = _check_nonneg(lr, "lr")
        if (
            not isinstance(betas, (tuple, list))
            or len(betas) != 2
            or not all(
                isinstance(b, (int, float, np.integer, np.floating))
                and not isinstance(b, bool)
                and 0 <= b < 1
                for b in betas
            )
        ):
            raise ValueError(f"betas must be two numbers in [0, 1), got {betas!r}")
        self.beta1, self.beta2 = float(betas[0]), float(betas[1])
        self.eps = _check_nonneg(eps, "eps")
        self.weight_decay = _check_nonneg(weight_decay, "weight_decay")

    @property
    def betas(self) -> tuple[float, float]:
        return (self.beta1, self.beta2)

    def _update(self, name, p, g):
        if self.weight_decay:
            g = g + self.weight_decay * p
        m = self.state["exp_avg"].setdefault(name, np.zeros_like(p))
        v = self.state["exp_avg_sq"].setdefault(name, np.zeros_like(p))
        m *= self.beta1
        m += (1 - self.beta1) * g
        v *= self.beta2
        v += (1 - self.beta2) * g * g
        t = self.step_count
        step_size = self.lr / (1 - self.beta1**t)
        update = np.sqrt(v)  # one temporary, reused in place:
        update /= np.sqrt(1 - self.beta2**t)
        update += self.eps  # denom = sqrt(v) / sqrt(1 - beta2^t) + eps
        np.divide(m, update, out=update)
        update *= step_size
        p -= update  # p -= step_size * (m / denom)


# -- clipping
# ---------------------------------------------------------------------------------------------------------
def _grad_arrays(grads_or_module) -> list[np.ndarray]:
    grads = grads_or_module.grads if hasattr(grads_or_module, "grads") else grads_or_module
    if isinstance(grads, dict):
        grads = list(grads.values())
    elif isinstance(grads, np.ndarray):
        grads = [grads]
    else:
        grads = list(grads)
    for g in grads:
        if not isinstance(g, np.ndarray):
            raise TypeError(
                f"grads_or_module must be a Module, a dict of arrays or a list of arrays, "
                f"got an element of type {type(g).__name__}"
            )
    return grads


def grad_norm(grads_or_module) -> float:
    """The global L2 norm of all gradients, ``sqrt(sum over every gradient array g of sum(g^2))``, summed in
    float64.

    Args:
        grads_or_module: a Module (its ``grads``), a dict name -> array, or a list of arrays.

    Example:
        >>> grad_norm({"w": np.array([3.0, 4.0]), "b": np.zeros(2)})
        5.0
    """
    return float(
        np.sqrt(sum(float(np.sum(np.square(g, dtype=np.float64))) for g in _grad_arrays(grads_or_module)))
    )


def clip_grad_norm(grads_or_module, max_norm, eps: float = 1e-6) -> float:
    """Scale all gradients together so that their global L2 norm is at most ``max_norm`` (in place).

        total = sqrt(sum over every gradient array g of sum(g^2))
        g = g * min(1, max_norm / (total + eps))

    exactly as ``torch.nn.utils.clip_grad_norm_`` (including its eps = 1e-6). Non-finite norms are not caught,
    as in torch's default: check the returned norm.

    Args:
        grads_or_module: a Module (its ``grads``), a dict name -> array, or a list of arrays.
        max_norm: the largest allowed total norm, > 0.

    Returns:
        the total norm BEFORE clipping, a Python float (useful to log exploding gradients).

    Example:
        >>> g = {"w": np.array([3.0, 4.0])}
        >>> clip_grad_norm(g, 1.0), np.round(g["w"], 4).tolist()
        (5.0, [0.6, 0.8])
    """
    if (
        isinstance(max_norm, bool)
        or not isinstance(max_norm, (int, float, np.integer, np.floating))
        or not max_norm > 0
    ):
        raise ValueError(f"max_norm must be a number > 0, got {max_norm!r}")
    grads = _grad_arrays(grads_or_module)
    total = grad_norm(grads)
    coef = min(1.0, float(max_norm) / (total + eps))
    if coef < 1.0:
        for g in grads:
            g *= coef
    return total


def clip_grad_value(grads_or_module, clip_value) -> None:
    """Clip every gradient entry into [-clip_value, clip_value] in place, as
    ``torch.nn.utils.clip_grad_value_``.

    Example:
        >>> g = {"w": np.array([-3.0, 0.5, 4.0])}
        >>> clip_grad_value(g, 1.0); g["w"].tolist()
        [-1.0, 0.5, 1.0]
    """
    if (
        isinstance(clip_value, bool)
        or not isinstance(clip_value, (int, float, np.integer, np.floating))
        or not clip_value > 0
    ):
        raise ValueError(f"clip_value must be a number > 0, got {clip_value!r}")
    for g in _grad_arrays(grads_or_module):
        np.clip(g, -clip_value, clip_value, out=g)
