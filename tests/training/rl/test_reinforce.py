"""Rollouts, returns and the trainer: padded episodes, closed forms, scripted policies, and a learning smoke test."""
import numpy as np
import pytest

from minirnn.training.rl import (DOWN, FORWARD, UP, MemorylessPolicy, TMaze, discounted_returns, rollout,
                                 tmaze_experiment, train)


class _Oracle:
    """Walks forward and turns toward the signal it saw on the start cell: memory written by hand in the state."""

    def act(self, obs, state):
        goal = np.where(obs[:, 0] == 0.0, UP, DOWN) if state is None else state        # 011 is up, 110 down
        junction = (obs == [0.0, 1.0, 0.0]).all(axis=1)
        logits = np.full((len(obs), 3), -10.0)
        logits[np.arange(len(obs)), np.where(junction, goal, FORWARD)] = 10.0
        return logits, goal


class _Script:
    """Plays fixed action sequences, one per episode (to build a padded batch whose every entry is known)."""

    def __init__(self, plans):
        self.plans, self.t = plans, 0

    def act(self, obs, state):
        t = 0 if state is None else state
        logits = np.full((len(obs), 3), -30.0)
        for b, plan in enumerate(self.plans):
            logits[b, plan[min(t, len(plan) - 1)]] = 30.0
        return logits, t + 1


def test_discounted_returns_are_the_closed_form_sum():
    rng = np.random.default_rng(0)
    r = rng.normal(size=(7, 3))
    G = discounted_returns(r, 0.9)
    expected = np.array([[sum(0.9 ** (k - t) * r[k, b] for k in range(t, 7)) for b in range(3)] for t in range(7)])
    np.testing.assert_allclose(G, expected, rtol=1e-13)


def test_rollout_pads_episodes_of_different_lengths_with_zeros():
    # episode 0: bump once, then the shortest path (N + 3 = 5 steps); episode 1: the shortest path (4 steps)
    envs = [TMaze(corridor=2), TMaze(corridor=2)]
    goals = [e.reset(seed=s)[1]["goal"] for e, s in zip(envs, (2, 0))]
    plans = [[UP, FORWARD, FORWARD, FORWARD, goals[0]], [FORWARD, FORWARD, FORWARD, 3 - goals[1]]]
    ep = rollout(_Script(plans), envs, seeds=[2, 0], greedy=True)
    assert ep.lengths.tolist() == [5, 4] and ep.correct.tolist() == [True, False]
    np.testing.assert_array_equal(ep.actions[:, 0], plans[0])
    np.testing.assert_array_equal(ep.actions[:, 1], plans[1] + [0])
    np.testing.assert_allclose(ep.rewards[:, 0], [-0.1, 0, 0, 0, 1.0])
    np.testing.assert_allclose(ep.rewards[:, 1], [0, 0, 0, -1.0, 0])
    np.testing.assert_array_equal(ep.mask[:, 1], [1, 1, 1, 1, 0])
    assert ep.obs[4, 1].tolist() == [0.0, 0.0, 0.0] and ep.obs[0, 0].tolist() == [0.0, 1.0, 1.0]
    assert ep.obs[3, 0].tolist() == [1.0, 0.0, 1.0] and ep.obs[4, 0].tolist() == [0.0, 1.0, 0.0]


def test_a_policy_that_remembers_the_signal_turns_right_every_time():
    envs = [TMaze(corridor=30) for _ in range(50)]
    ep = rollout(_Oracle(), envs, seeds=range(50), greedy=True)
    assert ep.correct.all() and (ep.lengths == 32).all() and np.allclose(ep.rewards.sum(axis=0), 1.0)


def test_a_greedy_memoryless_policy_turns_right_exactly_for_one_signal():
    envs = [TMaze(corridor=5) for _ in range(200)]
    seeds = np.arange(200)
    goals = np.array([TMaze(5).reset(seed=int(s))[1]["goal"] for s in seeds])
    ep = rollout(MemorylessPolicy(3, 8, 3, seed=0), envs, seeds, greedy=True)
    # the same observation at the junction gives the same action, whatever the signal was
    assert ep.correct.mean() in (0.0, np.mean(goals == UP), np.mean(goals == DOWN))


def test_rollout_refuses_missing_seeds_or_generator():
    with pytest.raises(ValueError, match="seeds must have one entry per environment"):
        rollout(_Oracle(), [TMaze(2)], seeds=[0, 1], greedy=True)
    with pytest.raises(ValueError, match="rng must be a numpy.random.Generator when greedy=False"):
        rollout(_Oracle(), [TMaze(2)], seeds=[0])


def test_sampled_actions_follow_the_policy_probabilities():
    class Fixed:
        def act(self, obs, state):
            return np.tile(np.log([0.2, 0.5, 0.3]), (len(obs), 1)), None
    envs = [TMaze(corridor=1, max_steps=1) for _ in range(4000)]
    ep = rollout(Fixed(), envs, seeds=range(4000), rng=np.random.default_rng(0))
    freq = np.bincount(ep.actions[0], minlength=3) / 4000
    assert np.all(np.abs(freq - [0.2, 0.5, 0.3]) < 3 * np.sqrt(0.25 / 4000)), freq


def test_gru_learns_a_short_maze_and_the_memoryless_control_cannot():
    # smoke test, a few seconds: corridor 4, 300 updates of 32 episodes
    gru = tmaze_experiment("gru", corridor=4, hidden=8, seed=0, n_test=100)
    train(gru, 300, eval_every=0)
    control = tmaze_experiment("none", corridor=4, hidden=8, seed=0, n_test=100)
    train(control, 300, eval_every=0)
    assert gru.evaluate(gru.model)["success"] >= 0.95
    assert control.evaluate(control.model)["success"] <= control.baseline[1]      # at most the commoner signal


def test_hidden_pca_projects_on_the_top_eigenvectors_of_the_covariance_of_real_steps():
    from minirnn.training.rl.figures import hidden_pca
    rng = np.random.default_rng(0)
    h = rng.normal(size=(6, 5, 4)) * [3.0, 1.0, 0.5, 0.1]
    lengths = np.array([6, 3, 1, 6, 2])
    real = np.arange(6)[:, None] < lengths
    h[~real] = 1e6                                                  # padded steps must not count
    p, ratio = hidden_pca(h, lengths, k=2)
    X = h[real] - h[real].mean(axis=0)
    w, V = np.linalg.eigh(X.T @ X)                                  # ascending eigenvalues
    expected = X @ V[:, ::-1][:, :2]
    np.testing.assert_allclose(np.abs(p[real]), np.abs(expected), rtol=1e-10)
    np.testing.assert_allclose(ratio, w[::-1][:2] / w.sum(), rtol=1e-10)
    assert np.isnan(p[~real]).all()
