"""The T-maze environment: observations, rewards, walls, the time limit, seeding and bad input."""
import numpy as np
import pytest

from minirnn.training.rl.tmaze import DOWN, FORWARD, OBSERVATIONS, UP, TMaze


def _reset_with_goal(env, goal):
    for seed in range(100):
        obs, info = env.reset(seed=seed)
        if info["goal"] == goal:
            return obs
    raise AssertionError("no seed in 0..99 gives that goal")


@pytest.mark.parametrize("goal", [UP, DOWN])
def test_shortest_episode_sees_the_signal_once_then_identical_cells_and_pays_one_for_the_right_turn(goal):
    env = TMaze(corridor=3)
    obs = _reset_with_goal(env, goal)
    seen = [obs.tolist()]
    for _ in range(4):                                              # start -> 3 corridor cells -> junction
        obs, reward, terminated, truncated, info = env.step(FORWARD)
        assert (reward, terminated, truncated, info) == (0.0, False, False, {})
        seen.append(obs.tolist())
    signal = OBSERVATIONS["start_up" if goal == UP else "start_down"]
    assert seen == [list(signal)] + [list(OBSERVATIONS["corridor"])] * 3 + [list(OBSERVATIONS["junction"])]
    obs, reward, terminated, truncated, info = env.step(goal)
    assert (reward, terminated, truncated, info["correct"], env.steps) == (1.0, True, False, True, 5)


def test_wrong_turn_pays_minus_one_and_ends_the_episode():
    env = TMaze(corridor=1)
    _reset_with_goal(env, UP)
    env.step(FORWARD), env.step(FORWARD)
    _, reward, terminated, truncated, info = env.step(DOWN)
    assert (reward, terminated, truncated, info["correct"]) == (-1.0, True, False, False)
    with pytest.raises(RuntimeError, match="finished episode"):
        env.step(FORWARD)


def test_walls_cost_the_bump_penalty_and_leave_the_agent_where_it_is():
    env = TMaze(corridor=2, bump_penalty=0.25)
    _reset_with_goal(env, DOWN)
    _, reward, terminated, _, _ = env.step(UP)                      # a turn on the start cell hits the wall
    assert (reward, terminated, env.position) == (-0.25, False, 0)
    for _ in range(3):
        env.step(FORWARD)
    assert env.position == 3                                        # the junction
    obs, reward, terminated, _, _ = env.step(FORWARD)               # the junction's far wall
    assert (reward, terminated, env.position, obs.tolist()) == (-0.25, False, 3, list(OBSERVATIONS["junction"]))


def test_time_limit_truncates_without_terminating_and_sets_no_correct():
    env = TMaze(corridor=5)
    assert env.max_steps == 14                                      # 2 (N + 2) by default
    env = TMaze(corridor=5, max_steps=3)
    env.reset(seed=0)
    results = [env.step(UP) for _ in range(3)]
    assert [r[3] for r in results] == [False, False, True] and not any(r[2] for r in results)
    assert "correct" not in results[-1][4]


def test_the_seed_fixes_the_goal_and_both_goals_are_equally_likely():
    env = TMaze(corridor=4)
    goals = np.array([env.reset(seed=s)[1]["goal"] for s in range(4000)])
    assert [TMaze(4).reset(seed=s)[1]["goal"] for s in range(20)] == goals[:20].tolist()
    share = np.mean(goals == UP)
    assert abs(share - 0.5) < 3 * np.sqrt(0.25 / 4000), share        # within 3 standard errors of one half
    env.reset(seed=7)
    first = [env.reset()[1]["goal"] for _ in range(10)]
    env.reset(seed=7)
    assert [env.reset()[1]["goal"] for _ in range(10)] == first     # unseeded resets continue the seeded stream


def test_spaces_follow_gymnasium():
    env = TMaze(corridor=2)
    assert env.observation_space.shape == (3,) and env.action_space.n == 3
    obs, _ = env.reset(seed=0)
    assert env.observation_space.contains(obs)
    assert [env.action_space.contains(a) for a in (0, 2, 3, -1, True, 1.0)] == [True, True, False, False, False,
                                                                                 False]


@pytest.mark.parametrize("kwargs,message", [
    ({"corridor": 0}, "corridor must be an integer >= 1, got 0"),
    ({"corridor": 2.5}, "corridor must be an integer >= 1, got 2.5"),
    ({"max_steps": 0}, "max_steps must be an integer >= 1, got 0"),
    ({"bump_penalty": -1.0}, "bump_penalty must be a finite number >= 0, got -1.0"),
    ({"bump_penalty": float("nan")}, "bump_penalty must be a finite number >= 0, got nan"),
])
def test_bad_arguments_name_the_argument(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TMaze(**kwargs)


def test_bad_action_and_seed_are_refused():
    env = TMaze(corridor=2)
    with pytest.raises(RuntimeError, match="call reset"):
        env.step(FORWARD)
    env.reset(seed=0)
    with pytest.raises(ValueError, match="action must be an integer in 0..2 .* got 3"):
        env.step(3)
    with pytest.raises(TypeError, match="seed must be None or an integer >= 0, got -1"):
        env.reset(seed=-1)
