"""Policies for the T-maze and other gymnasium-style tasks, and the policy-gradient loss with its backward.

- :class:`RecurrentPolicy`: a recurrent layer (RNN, LSTM or GRU) reads the observations; two Linear heads
  read its state: the action logits and the value (the baseline of REINFORCE).
- :class:`MemorylessPolicy`: the control. The same heads on ``tanh(o_t W^T + b)``: the observation of this
step only. - :func:`policy_gradient_loss`: REINFORCE's surrogate loss on the log-softmax and an entropy bonus,
and its
  gradient with respect to the logits, written out.
- :func:`set_forget_bias`: the LSTM forget-gate bias that keeps its cell path open at initialisation.

A policy acts step by step (``act``: one observation per episode, the state carried), then the trainer runs
the whole padded batch of episodes again in one forward (``policy(obs, lengths)``) and one backward. The two
give the same
logits: the second pass only exists because a layer keeps the cache of its last forward only.
"""

from __future__ import annotations

import numpy as np

from ...models.char_lm import CELLS, _seeds
from ...nn.linear import Linear
from ...nn.module import Module

__all__ = ["RecurrentPolicy", "MemorylessPolicy", "policy_gradient_loss", "log_softmax", "set_forget_bias"]


def log_softmax(z: np.ndarray) -> np.ndarray:
    """log p = z - logsumexp(z) on the last axis, computed without overflow.

    Example:
        >>> np.exp(log_softmax(np.array([0.0, np.log(3.0)]))).round(3).tolist()
        [0.25, 0.75]
    """
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def policy_gradient_loss(logits, actions, advantages, mask, entropy_coef=0.0):
    """REINFORCE's surrogate loss over a padded batch of B episodes, and its gradient for the logits.

    With log p = log_softmax(z) over the A actions, the entropy H_t = -sum_j p_j log p_j, mask m (1 on real
    steps):

        L      = -(1/B) sum_{t,b} m A_{t,b} log p_{t,b}[a_{t,b}]  -  beta (1/B) sum_{t,b} m H_{t,b}
        dL/dz  = -(m/B) [ A (onehot(a) - p)  -  beta p (log p + H) ]

    (dH/dz_j = -p_j (log p_j + H)). The advantages are constants: their own gradient is not taken. Minimising
    L moves the policy up the gradient of the expected return, sum_t E[A_t grad log pi(a_t)], plus beta times
    the gradient of the entropy, which keeps it exploring.

    Args:
        logits z (T, B, A) float; actions a (T, B) integers in [0, A); advantages A (T, B); mask m (T, B) of
        0/1.
        entropy_coef: beta >= 0.

    Returns:
        loss (float), dlogits (T, B, A), mean entropy per real step (float).

    Example:
        >>> z = np.zeros((1, 2, 3)); a = np.array([[0, 1]])
        >>> adv = np.array([[1.0, -1.0]]); m = np.ones((1, 2))
        >>> loss, dz, entropy = policy_gradient_loss(z, a, adv, m)
        >>> round(loss, 6) + 0.0, dz[0, 0].round(4).tolist(), round(entropy, 4)
        (0.0, [-0.3333, 0.1667, 0.1667], 1.0986)
    """
    logits = np.asarray(logits)
    T, B, A = logits.shape
    for name, arr in (("actions", actions), ("advantages", advantages), ("mask", mask)):
        if np.shape(arr) != (T, B):
            raise ValueError(
                f"{name} must have shape (T, B) = {(T, B)} like logits {logits.shape}, got {np.shape(arr)}"
            )
    actions = np.asarray(actions)
    if not np.issubdtype(actions.dtype, np.integer) or actions.min() < 0 or actions.max() >= A:
        raise ValueError(
            f"actions must be integers in [0, {A}), got {actions.dtype} in [{actions.min()}, {actions.max()}]"
        )
    m = np.asarray(mask, dtype=logits.dtype)
    adv = np.asarray(advantages, dtype=logits.dtype)
    logp = log_softmax(logits)  # (T, B, A)
    p = np.exp(logp)
    entropy = -(p * logp).sum(axis=-1)  # (T, B)
    logp_a = np.take_along_axis(logp, actions[..., None], axis=-1)[..., 0]  # (T, B)
    loss = -(m * adv * logp_a).sum() / B - entropy_coef * (m * entropy).sum() / B
    onehot = np.zeros_like(p)
    np.put_along_axis(onehot, actions[..., None], 1.0, axis=-1)
    dlogits = -(m / B)[..., None] * (
        adv[..., None] * (onehot - p) - entropy_coef * p * (logp + entropy[..., None])
    )
    return float(loss), dlogits, float((m * entropy).sum() / max(m.sum(), 1.0))


def set_forget_bias(lstm, value: float) -> None:
    """Set the forget-gate block of every ``bias_ih_l*`` of ``lstm`` to ``value`` (PyTorch gate order i, f,
    g, o).

    A forget bias of 1 starts the gate near sigmoid(1) = 0.73, so the cell state and its gradient survive
    many steps (Gers, Schmidhuber and Cummins 2000; Jozefowicz et al. 2015). ``bias_hh`` keeps its random
    initial values.

    Example:
        >>> import minirnn
        >>> lstm = minirnn.LSTM(3, 4, seed=0); set_forget_bias(lstm, 1.0)
        >>> lstm.params["bias_ih_l0"][4:8].tolist()
        [1.0, 1.0, 1.0, 1.0]
    """
    H = lstm.hidden_size
    names = [n for n in lstm.params if n.startswith("bias_ih_l")]
    if not names:
        raise ValueError(f"set_forget_bias: lstm must be an LSTM with biases, got {lstm!r}")
    for name in names:
        lstm.params[name][H : 2 * H] = value


class _Heads(Module):
    """The two read-outs shared by both policies: logits = u W_pi^T + b_pi (..., A), value = u w_v^T + b_v
    (...)."""

    def _add_heads(self, hidden_size, n_actions, dtype, seed):
        s_pi, s_v = _seeds(seed, 2)
        self._modules["pi"] = Linear(hidden_size, n_actions, dtype=dtype, seed=s_pi)
        self._modules["v"] = Linear(hidden_size, 1, dtype=dtype, seed=s_v)

    def _read(self, u):
        """u (..., H) -> logits (..., A), values (...)."""
        return self._modules["pi"](u), self._modules["v"](u)[..., 0]

    def _read_backward(self, dlogits, dvalues):
        """The gradient reaching u (..., H) from both heads; fills the heads' grads."""
        return self._modules["pi"].backward(dlogits) + self._modules["v"].backward(
            np.asarray(dvalues)[..., None]
        )


class RecurrentPolicy(_Heads):
    """pi(a_t | o_0..o_t) and V(o_0..o_t) from the state of a recurrent layer, time-major.

        h_t      = cell(o_t, h_{t-1})                     o (T, B, O) -> h (T, B, H)
        z_t      = h_t W_pi^T + b_pi                      logits (T, B, A)
        V_t      = h_t w_v^T + b_v                        values (T, B)

    Args:
        cell ("rnn" | "lstm" | "gru"), obs_size O, hidden_size H, n_actions A; forget_bias (LSTM only: the
        value of the forget-gate block of ``bias_ih_l0``, or None for PyTorch's init); dtype, seed, backend as
        for layers.

    Example:
        >>> pol = RecurrentPolicy("gru", 3, 8, 3, seed=0)
        >>> logits, state = pol.act(np.zeros((5, 3)), None)          # one step of 5 episodes
        >>> logits.shape, state.shape
        ((5, 3), (1, 5, 8))
        >>> logits, values = pol(np.zeros((7, 5, 3)), lengths=np.array([7, 3, 1, 2, 7]))
        >>> logits.shape, values.shape
        ((7, 5, 3), (7, 5))
        >>> pol.backward(np.ones_like(logits), np.ones_like(values)); pol.grads["rnn.weight_hh_l0"].shape
        (24, 8)
    """

    def __init__(
        self,
        cell,
        obs_size,
        hidden_size,
        n_actions,
        *,
        forget_bias=None,
        dtype=np.float64,
        seed=None,
        backend="auto",
    ):
        super().__init__()
        if cell not in CELLS:
            raise ValueError(f"RecurrentPolicy: cell must be one of {tuple(CELLS)}, got {cell!r}")
        if forget_bias is not None and "f" not in CELLS[cell].cell.gates:
            raise ValueError(
                f"RecurrentPolicy: forget_bias is for the LSTM, got cell {cell!r} (it has no forget gate)"
            )
        self.cell, self.n_actions, self.forget_bias = cell, int(n_actions), forget_bias
        s_rnn, s_heads = _seeds(seed, 2)
        self._modules["rnn"] = CELLS[cell](obs_size, hidden_size, dtype=dtype, seed=s_rnn, backend=backend)
        if forget_bias is not None:
            set_forget_bias(self._modules["rnn"], forget_bias)
        self._add_heads(hidden_size, n_actions, dtype, s_heads)

    def act(self, obs, state):
        """One step of B episodes: obs (B, O), state from the last call (None to start) -> logits (B, A),
        state."""
        out, state = self._modules["rnn"](obs[None], state)  # (1, B, H)
        return self._modules["pi"](out[0]), state

    def __call__(self, obs, lengths=None):
        """The padded batch obs (T, B, O), lengths (B,) -> logits (T, B, A), values (T, B); keeps the
        caches."""
        out, _ = self._modules["rnn"](obs, None, lengths=lengths)  # (T, B, H), zero at padded steps
        return self._read(out)

    def backward(self, dlogits, dvalues) -> None:
        """dlogits (T, B, A), dvalues (T, B) -> None; one BPTT through the layer fills (overwrites)
        ``grads``."""
        self._modules["rnn"].backward(self._read_backward(dlogits, dvalues))

    def hidden_states(self, obs, lengths=None) -> np.ndarray:
        """h (T, B, H) of the padded batch (zero at padded steps), without logits; for plots of the memory."""
        return self._modules["rnn"](obs, None, lengths=lengths)[0]

    def __repr__(self) -> str:
        rnn = self._modules["rnn"]
        fb = "" if self.forget_bias is None else f", forget_bias={self.forget_bias}"
        return f"RecurrentPolicy({self.cell!r}, {rnn.input_size}, {rnn.hidden_size}, {self.n_actions}{fb})"


class MemorylessPolicy(_Heads):
    """The control: pi(a_t | o_t) and V(o_t) from this step's observation only.

        u_t = tanh(o_t W^T + b)          o (..., O) -> u (..., H)
        z_t = u_t W_pi^T + b_pi,  V_t = u_t w_v^T + b_v

    Backward: du = dz W_pi + dV w_v, then da = du (1 - u^2) into the first Linear.

    Example:
        >>> pol = MemorylessPolicy(3, 8, 3, seed=0)
        >>> logits, state = pol.act(np.zeros((5, 3)), None)
        >>> logits.shape, state is None
        ((5, 3), True)
    """

    def __init__(self, obs_size, hidden_size, n_actions, *, dtype=np.float64, seed=None):
        super().__init__()
        s_in, s_heads = _seeds(seed, 2)
        self.n_actions = int(n_actions)
        self._modules["inp"] = Linear(obs_size, hidden_size, dtype=dtype, seed=s_in)
        self._add_heads(hidden_size, n_actions, dtype, s_heads)
        self._u = None

    def act(self, obs, state):
        """obs (B, O) -> logits (B, A), None (there is no state to carry)."""
        return self._modules["pi"](np.tanh(self._modules["inp"](obs))), None

    def __call__(self, obs, lengths=None):
        """obs (T, B, O) -> logits (T, B, A), values (T, B). ``lengths`` is not needed: each step stands
        alone."""
        self._u = np.tanh(self._modules["inp"](obs))  # (T, B, H)
        return self._read(self._u)

    def backward(self, dlogits, dvalues) -> None:
        """dlogits (T, B, A), dvalues (T, B) -> None; fills (overwrites) ``grads``."""
        du = self._read_backward(dlogits, dvalues)  # (T, B, H)
        self._modules["inp"].backward(du * (1.0 - self._u**2))

    def __repr__(self) -> str:
        inp = self._modules["inp"]
        return f"MemorylessPolicy({inp.in_features}, {inp.out_features}, {self.n_actions})"
