"""Bakker's T-maze: a memory task for reinforcement learning, with the gymnasium environment interface.

    env = TMaze(corridor=20)
    obs, info = env.reset(seed=0)                   # obs (3,): the start cell shows the signal, info["goal"]
    obs, reward, terminated, truncated, info = env.step(FORWARD)

The maze (B. Bakker, "Reinforcement learning with long short-term memory", NIPS 2002)::

        up goal
    S C C C ... C J                S: start, shows the signal "up" or "down" (only here)
        down goal                  C: N identical corridor cells      J: the junction

The agent starts on S, walks through the N corridor cells to the junction J and there turns up or down: +1 if
the turn matches the signal it saw on S, -1 if not, and the episode ends. Bumping into a wall (turning in the
corridor, walking forward at the junction) leaves the agent where it is and costs ``bump_penalty``. After
``max_steps`` actions without a turn at the junction the episode is truncated (gymnasium's time limit). The
observation is
Bakker's three bits: ``011`` on S with the signal up, ``110`` on S with the signal down, ``101`` in the
corridor, ``010`` at the junction. Every corridor cell looks the same, so at the junction only memory tells
which way
to go: a policy of the observation alone turns correctly half the time at best.

Differences from Bakker's maze: three actions (forward, up, down; his agent also walks back) and rewards +1 /
-1 (his are +4 and -0.1), as in the tutorial's issue. The smallest episode is ``corridor + 2`` actions.

Only the interface of ``gymnasium.Env`` is followed (``reset(seed=) -> obs, info``, ``step(a) -> obs, reward,
terminated, truncated, info``, ``observation_space.shape``, ``action_space.n``), so any gymnasium environment
plugs into the same trainer; gymnasium itself is not needed.
"""

from __future__ import annotations

import numpy as np

__all__ = ["TMaze", "Discrete", "Box", "FORWARD", "UP", "DOWN", "OBSERVATIONS"]

FORWARD, UP, DOWN = 0, 1, 2
#: Bakker's observations, by cell kind.
OBSERVATIONS = {
    "start_up": (0.0, 1.0, 1.0),
    "start_down": (1.0, 1.0, 0.0),
    "corridor": (1.0, 0.0, 1.0),
    "junction": (0.0, 1.0, 0.0),
}


class Discrete:
    """The actions {0, ..., n-1}, as ``gymnasium.spaces.Discrete(n)`` (``n``, ``contains``, ``sample``).

    Example:
        >>> Discrete(3).n, Discrete(3).contains(2), Discrete(3).contains(3)
        (3, True, False)
    """

    def __init__(self, n: int):
        self.n = int(n)

    def contains(self, a) -> bool:
        """True for an integer in [0, n)."""
        return isinstance(a, (int, np.integer)) and not isinstance(a, bool) and 0 <= a < self.n

    def sample(self, rng: np.random.Generator) -> int:
        """A uniformly random action drawn with ``rng``."""
        return int(rng.integers(self.n))

    def __repr__(self) -> str:
        return f"Discrete({self.n})"


class Box:
    """Real vectors of a fixed shape within [low, high], as ``gymnasium.spaces.Box`` (``shape``,
    ``contains``).

    Example:
        >>> Box(0.0, 1.0, (3,)).contains(np.array([0.0, 1.0, 1.0]))
        True
    """

    def __init__(self, low: float, high: float, shape: tuple):
        self.low, self.high, self.shape = float(low), float(high), tuple(shape)

    def contains(self, x) -> bool:
        """True for an array of this shape whose entries lie in [low, high]."""
        x = np.asarray(x)
        return x.shape == self.shape and bool(np.all((x >= self.low) & (x <= self.high)))

    def __repr__(self) -> str:
        return f"Box({self.low}, {self.high}, {self.shape})"


def _check_int(value, name, low):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < low:
        raise ValueError(f"TMaze: {name} must be an integer >= {low}, got {value!r}")
    return int(value)


class TMaze:
    """The T-maze with ``corridor`` identical cells between the start and the junction (see the module
    docstring).

    Args:
        corridor: N >= 1, the number of corridor cells; the signal must be kept for N + 1 steps.
        max_steps: actions before truncation (default 2 (N + 2), twice the shortest episode).
        bump_penalty: the cost of an action that hits a wall (>= 0, default 0.1).

    State: ``position`` in 0 (start) .. N + 1 (junction), ``goal`` (UP or DOWN), ``steps`` taken.

    Example:
        >>> env = TMaze(corridor=2)
        >>> obs, info = env.reset(seed=2)
        >>> obs.tolist(), info["goal"] == UP
        ([0.0, 1.0, 1.0], True)
        >>> for _ in range(3):
        ...     obs, reward, terminated, truncated, info = env.step(FORWARD)
        >>> obs.tolist(), reward, terminated
        ([0.0, 1.0, 0.0], 0.0, False)
        >>> obs, reward, terminated, truncated, info = env.step(UP)
        >>> reward, terminated, info["correct"]
        (1.0, True, True)
    """

    def __init__(self, corridor: int = 20, max_steps: int | None = None, bump_penalty: float = 0.1):
        self.corridor = _check_int(corridor, "corridor", 1)
        self.max_steps = (
            2 * (self.corridor + 2) if max_steps is None else _check_int(max_steps, "max_steps", 1)
        )
        if (
            isinstance(bump_penalty, bool)
            or not isinstance(bump_penalty, (int, float))
            or not 0 <= bump_penalty < float("inf")
        ):
            raise ValueError(f"TMaze: bump_penalty must be a finite number >= 0, got {bump_penalty!r}")
        self.bump_penalty = float(bump_penalty)
        self.observation_space = Box(0.0, 1.0, (3,))
        self.action_space = Discrete(3)
        self._rng = np.random.default_rng()
        self.position = self.goal = self.steps = None
        self._done = True

    def _obs(self) -> np.ndarray:
        if self.position == 0:
            kind = "start_up" if self.goal == UP else "start_down"
        else:
            kind = "junction" if self.position == self.corridor + 1 else "corridor"
        return np.array(OBSERVATIONS[kind])  # (3,)

    def reset(self, *, seed=None, options=None):
        """Start a new episode; ``seed`` (an integer) reseeds the environment's generator, as in gymnasium.

        Returns ``obs`` (3,) and ``info = {"goal": UP or DOWN}``.
        """
        if seed is not None:
            if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
                raise TypeError(f"TMaze.reset: seed must be None or an integer >= 0, got {seed!r}")
            self._rng = np.random.default_rng(seed)
        self.goal = UP if self._rng.random() < 0.5 else DOWN
        self.position, self.steps, self._done = 0, 0, False
        return self._obs(), {"goal": self.goal}

    def step(self, action):
        """Take ``action`` (FORWARD 0, UP 1, DOWN 2); returns ``obs, reward, terminated, truncated, info``.

        ``info["correct"]`` (True or False) is set when the agent turns at the junction.
        """
        if self._done:
            raise RuntimeError(
                "TMaze.step called on a finished episode (or before reset); call reset() first"
            )
        if not self.action_space.contains(action):
            raise ValueError(
                f"TMaze.step: action must be an integer in 0..2 (forward, up, down), got {action!r}"
            )
        self.steps += 1
        info, reward, terminated = {}, 0.0, False
        at_junction = self.position == self.corridor + 1
        if at_junction and action != FORWARD:
            info["correct"] = bool(action == self.goal)
            reward, terminated = (1.0 if info["correct"] else -1.0), True
        elif action == FORWARD and not at_junction:
            self.position += 1
        else:
            reward = -self.bump_penalty  # a wall: the agent stays where it is
        truncated = not terminated and self.steps >= self.max_steps
        self._done = terminated or truncated
        return self._obs(), reward, terminated, truncated, info

    def __repr__(self) -> str:
        return (
            f"TMaze(corridor={self.corridor}, max_steps={self.max_steps}, bump_penalty={self.bump_penalty})"
        )
