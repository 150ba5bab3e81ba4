"""Reinforcement learning with recurrent policies: the T-maze, the policies, REINFORCE with a baseline.

- ``tmaze.py``: Bakker's T-maze with the gymnasium environment interface.
- ``policy.py``: the recurrent policy, the memoryless control, the policy-gradient loss and its backward.
- ``reinforce.py``: rollouts with the state carried, returns, one BPTT per batch of episodes, the trainer.
"""

from .policy import MemorylessPolicy, RecurrentPolicy, log_softmax, policy_gradient_loss, set_forget_bias
from .reinforce import (
    Episodes,
    discounted_returns,
    make_evaluate,
    make_train_step,
    rollout,
    tmaze_experiment,
    train,
    train_until,
)
from .tmaze import DOWN, FORWARD, UP, TMaze

__all__ = [
    "TMaze",
    "FORWARD",
    "UP",
    "DOWN",
    "RecurrentPolicy",
    "MemorylessPolicy",
    "policy_gradient_loss",
    "log_softmax",
    "set_forget_bias",
    "Episodes",
    "rollout",
    "discounted_returns",
    "make_train_step",
    "make_evaluate",
    "tmaze_experiment",
    "train",
    "train_until",
]
