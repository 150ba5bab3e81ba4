"""REINFORCE with a learned baseline for recurrent policies: rollouts with the state carried, one BPTT per
batch.

    exp = tmaze_experiment("gru", corridor=20, seed=0)
    history = train(exp, steps=1500)                  # minirnn.training.loop.fit: progress bar, checkpoints
    exp.evaluate(exp.model)                           # {'success': 1.0, 'return': 1.0, 'steps': 22.0}
    (notebook 9)

One training step (:func:`make_train_step`):

1. **Roll out** B episodes at once (:func:`rollout`): at each step the policy reads one observation per
episode
   with the state it carried from the step before (``policy.act``, T=1 calls, no backward), samples
   a_t ~ pi(. | o_0..o_t), and every unfinished environment takes its action. Episodes end at different steps;
   they are stored padded to the longest, with their ``lengths``.
2. **Returns**: G_t = r_t + gamma G_{t+1} within each episode (:func:`discounted_returns`).
3. **One forward and one backward** over the padded batch (``policy(obs, lengths)``; the same logits as in the
   rollout, since the weights did not change), with the advantage A_t = G_t - V_t (V is the value head, the
   baseline: it lowers the variance and leaves the expected gradient unchanged):

       L = -(1/B) sum m A log pi(a_t) - beta (1/B) sum m H_t  +  c_v mean_real-steps (V_t - G_t)^2

   whose gradient for the logits is :func:`~minirnn.training.rl.policy.policy_gradient_loss`'s, and for the
   values the mean squared error's. The advantages are constants in L (V's gradient comes from its own term
   only).

Williams (1992) "Simple statistical gradient-following algorithms for connectionist reinforcement learning";
Bakker (2002) trains an LSTM on the same maze with advantage learning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ...nn.losses import mse
from ...nn.optim import Adam
from .. import loop
from ..recipes import Experiment
from .policy import MemorylessPolicy, RecurrentPolicy, policy_gradient_loss
from .tmaze import TMaze

__all__ = [
    "Episodes",
    "rollout",
    "discounted_returns",
    "make_train_step",
    "make_evaluate",
    "tmaze_experiment",
    "train",
    "train_until",
]


@dataclass
class Episodes:
    """A padded batch of B episodes of at most T steps.

    ``obs`` (T, B, O) (zero after an episode's end), ``actions`` (T, B) int, ``rewards`` (T, B) (zero after
    the end), ``lengths`` (B,), ``correct`` (B,) bool: the environment's ``info["correct"]`` at the last step
    (False when it never said so, e.g. a truncated T-maze episode).
    """

    obs: np.ndarray
    actions: np.ndarray
    rewards: np.ndarray
    lengths: np.ndarray
    correct: np.ndarray

    @property
    def mask(self) -> np.ndarray:
        """(T, B): 1.0 on real steps, 0.0 on padding."""
        return (np.arange(self.actions.shape[0])[:, None] < self.lengths[None, :]).astype(np.float64)


def _sample(logits, rng, greedy):
    """One action per row of logits (B, A): the argmax, or a draw from softmax(logits) with ``rng``."""
    if greedy:
        return logits.argmax(axis=-1)
    p = np.exp(logits - logits.max(axis=-1, keepdims=True))
    cdf = np.cumsum(p / p.sum(axis=-1, keepdims=True), axis=-1)  # (B, A)
    return np.minimum((rng.random((len(p), 1)) > cdf).sum(axis=-1), p.shape[1] - 1)


def rollout(policy, envs, seeds, rng=None, greedy=False, max_steps=100_000) -> Episodes:
    """Run one episode in each of ``envs`` (reset with ``seeds``) with ``policy``, all in step.

    Args:
        policy: has ``act(obs (B, O), state) -> (logits (B, A), state)``.
        envs: B environments with the gymnasium interface. seeds: B integers for ``env.reset(seed=)``.
        rng: the Generator of the action draws (not needed when ``greedy``). greedy: take the argmax action.
        max_steps: a guard against an environment that never ends (a RuntimeError past it).

    Returns:
        :class:`Episodes`, padded to the longest episode.

    Example:
        >>> pol = MemorylessPolicy(3, 4, 3, seed=0)
        >>> ep = rollout(pol, [TMaze(2), TMaze(2)], seeds=[0, 1], rng=np.random.default_rng(0))
        >>> ep.obs.shape[1:], ep.lengths.shape, bool(ep.lengths.max() <= 8)
        ((2, 3), (2,), True)
    """
    B = len(envs)
    if len(seeds) != B:
        raise ValueError(f"seeds must have one entry per environment ({B}), got {len(seeds)}")
    if rng is None and not greedy:
        raise ValueError("rng must be a numpy.random.Generator when greedy=False, got None")
    obs = np.stack([np.asarray(env.reset(seed=int(s))[0], dtype=np.float64) for env, s in zip(envs, seeds)])
    state, done = None, np.zeros(B, dtype=bool)
    lengths, correct = np.zeros(B, dtype=np.int64), np.zeros(B, dtype=bool)
    all_obs, all_actions, all_rewards = [], [], []
    while not done.all():
        if len(all_obs) >= max_steps:
            raise RuntimeError(
                f"rollout: an episode ran past max_steps = {max_steps}; does the environment end?"
            )
        logits, state = policy.act(obs, state)  # (B, A); the state is carried
        actions = _sample(logits, rng, greedy)  # (B,)
        rewards = np.zeros(B)
        all_obs.append(np.where(done[:, None], 0.0, obs))
        next_obs = obs.copy()
        for b in np.flatnonzero(~done):
            o, r, terminated, truncated, info = envs[b].step(int(actions[b]))
            next_obs[b], rewards[b] = o, r
            lengths[b] += 1
            if terminated or truncated:
                done[b], correct[b] = True, bool(info.get("correct", False))
        all_actions.append(np.where(lengths > len(all_actions), actions, 0))
        all_rewards.append(rewards)
        obs = next_obs
    return Episodes(np.stack(all_obs), np.stack(all_actions), np.stack(all_rewards), lengths, correct)


def discounted_returns(rewards, gamma) -> np.ndarray:
    """G_t = r_t + gamma G_{t+1}, backwards over time: rewards (T, B) (zero on padding) -> G (T, B).

    Example:
        >>> discounted_returns(np.array([[0.0], [0.0], [1.0]]), 0.5).ravel().tolist()
        [0.25, 0.5, 1.0]
    """
    G = np.zeros_like(rewards, dtype=np.float64)
    running = np.zeros(rewards.shape[1])
    for t in range(rewards.shape[0] - 1, -1, -1):
        running = rewards[t] + gamma * running
        G[t] = running
    return G


def make_train_step(envs, gamma=0.99, entropy_coef=0.01, value_coef=0.5):
    """``train_step(policy, rng, step, carry) -> (loss, success of the batch, None)`` for ``loop.fit``.

    Each call rolls out one episode in each of ``envs`` (seeds drawn from ``rng``), then one forward and one
    backward over the padded batch fill ``policy.grads`` with the gradient of L (module docstring).
    """

    def train_step(policy, rng, step, carry):
        ep = rollout(policy, envs, rng.integers(2**31, size=len(envs)), rng=rng)
        mask = ep.mask
        G = discounted_returns(ep.rewards, gamma)  # (T, B)
        logits, values = policy(ep.obs, ep.lengths)  # (T, B, A), (T, B)
        loss_pi, dlogits, _ = policy_gradient_loss(logits, ep.actions, G - values, mask, entropy_coef)
        loss_v, dvalues = mse(values, G, mask)
        policy.backward(dlogits, value_coef * dvalues)
        return loss_pi + value_coef * loss_v, float(ep.correct.mean()), None

    return train_step


def make_evaluate(envs, seeds):
    """``evaluate(policy) -> {"success", "return", "steps"}``: greedy episodes on fixed held-out ``seeds``."""

    def evaluate(policy):
        ep = rollout(policy, envs, seeds, greedy=True)
        return {
            "success": float(ep.correct.mean()),
            "return": float(ep.rewards.sum(axis=0).mean()),
            "steps": float(ep.lengths.mean()),
        }

    return evaluate


def tmaze_experiment(
    cell="gru",
    corridor=20,
    hidden=32,
    batch=32,
    seed=0,
    forget_bias=None,
    n_test=200,
    gamma=0.99,
    entropy_coef=0.01,
    value_coef=0.5,
    backend="auto",
) -> Experiment:
    """The T-maze as a :class:`~minirnn.training.recipes.Experiment`: policy, training step, held-out
    evaluation.

    ``cell="none"`` gives the memoryless control. The held-out set is ``n_test`` episodes with seeds from
    their own stream; ``baseline`` is the best a memoryless policy can do on it: always turning toward the
    commoner signal.

    Example:
        >>> exp = tmaze_experiment("gru", corridor=3, hidden=4, batch=2, n_test=10)
        >>> exp.model, exp.metric, exp.baseline[1]
        (RecurrentPolicy('gru', 3, 4, 3), 'success', 0.7)
    """
    s_model, s_rng, s_test = [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3)]
    config = {"cell": cell, "obs_size": 3, "hidden_size": hidden, "n_actions": 3, "seed": s_model}
    if cell == "none":
        policy = MemorylessPolicy(3, hidden, 3, seed=s_model)
    else:
        policy = RecurrentPolicy(cell, 3, hidden, 3, forget_bias=forget_bias, seed=s_model, backend=backend)
        config["forget_bias"] = forget_bias
    test_seeds = np.random.default_rng(s_test).integers(2**31, size=n_test)
    goals = np.array([TMaze(corridor).reset(seed=int(s))[1]["goal"] for s in test_seeds])
    share = float(max(np.mean(goals == goals[0]), np.mean(goals != goals[0])))
    envs = [TMaze(corridor) for _ in range(batch)]
    return Experiment(
        "tmaze",
        policy,
        config,
        make_train_step(envs, gamma, entropy_coef, value_coef),
        make_evaluate([TMaze(corridor) for _ in range(n_test)], test_seeds),
        "success",
        ("always turn toward the commoner signal", share),
        np.random.default_rng(s_rng),
        lower_is_better=False,
        info={"corridor": corridor, "batch": batch, "hidden": hidden},
    )


def train(exp, steps, lr=3e-3, clip_norm=1.0, **fit_kwargs) -> dict:
    """Train ``exp.model`` with Adam for ``steps`` updates through :func:`minirnn.training.loop.fit`.

    Returns fit's history; ``fit_kwargs`` go to fit (``eval_every``, ``progress``, ``checkpoint_path``, ...).
    """
    fit_kwargs.setdefault("progress", False)
    return loop.fit(
        exp.model,
        Adam(exp.model, lr=lr),
        exp.train_step,
        steps,
        rng=exp.rng,
        evaluate=exp.evaluate,
        clip_norm=clip_norm,
        **fit_kwargs,
    )


def train_until(exp, bar, budget, every=100, lr=3e-3, clip_norm=1.0, stop=True):
    """Train ``exp.model`` in blocks of ``every`` updates (one Adam throughout), evaluating after each block,
    until the held-out success first reaches ``bar`` (if ``stop``) or ``budget`` updates are done.

    Returns ``(steps_to_bar or None, successes)``: the first evaluated step at which success >= bar, and the
    success after every block.

    Example:
        >>> exp = tmaze_experiment("none", corridor=2, hidden=4, batch=4, n_test=20)
        >>> reached, successes = train_until(exp, 0.95, budget=20, every=10)
        >>> reached, len(successes)                    # the memoryless control never gets there
        (None, 2)
    """
    opt = Adam(exp.model, lr=lr)
    reached, successes = None, []
    for done in range(every, budget + 1, every):
        loop.fit(exp.model, opt, exp.train_step, every, rng=exp.rng, clip_norm=clip_norm, progress=False)
        successes.append(exp.evaluate(exp.model)["success"])
        if reached is None and successes[-1] >= bar:
            reached = done
            if stop:
                break
    return reached, successes
