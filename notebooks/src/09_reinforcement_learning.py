# %% [markdown]
# # 9 · Reinforcement learning: a memory for the T-maze
#
# ## What you will learn
#
# - what makes a task *partially observable*, and why a policy that sees only the current observation cannot solve
#   Bakker's T-maze, however well it is trained;
# - REINFORCE with a baseline: the surrogate loss whose gradient is the policy gradient, its backward through the
#   log-softmax written out, and checked against finite differences;
# - how a recurrent policy *acts* one step at a time with the state it carries, and is then trained by **one** BPTT
#   over the padded batch of episodes (`lengths=`);
# - what the trained network remembers: two tracks in its hidden state, the flip-flop of notebook 1, found by
#   trial and error.
#
# You need notebooks 1-3 (the cells and BPTT). Every number below is computed in the cell above it.

# %%
import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")        # small matrices: one BLAS thread (see notebook 1)
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds there.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import gradcheck
from minirnn.nn.losses import mse
from minirnn.training.rl import (DOWN, FORWARD, UP, MemorylessPolicy, RecurrentPolicy, TMaze, policy_gradient_loss,
                                 rollout, tmaze_experiment, train, train_until)
from minirnn.training.rl.figures import plot_hidden_tracks, plot_success

plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3})
np.set_printoptions(precision=4, suppress=True, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")

# %% [markdown]
# ## 1. The maze
#
# B. Bakker's T-maze ("Reinforcement learning with long short-term memory", NIPS 2002): the agent starts on a cell
# that shows a **signal**, up or down, walks through $N$ corridor cells that all look the same, and at the junction
# turns up or down. The right turn (the one the signal named) pays $+1$, the wrong one $-1$, and the episode ends.
# Walking into a wall costs $0.1$ and leaves the agent where it is; after $2(N+2)$ actions the episode is cut off.
# The observation is three bits: `011` or `110` on the start cell (up or down), `101` in the corridor, `010` at the
# junction. `TMaze` has the interface of a gymnasium environment: `reset(seed=)` and `step(action)`.

# %%
env = TMaze(corridor=3)
obs, info = env.reset(seed=2)
print(f"goal: {'up' if info['goal'] == UP else 'down'}")
print(f"t=0  obs {obs}")
for t, action in enumerate([FORWARD, FORWARD, FORWARD, FORWARD, UP], start=1):
    obs, reward, terminated, truncated, info = env.step(action)
    print(f"t={t}  action {['forward', 'up', 'down'][action]:<8} obs {obs}  reward {reward:+.1f}"
          f"  terminated {terminated}" + (f"  correct {info['correct']}" if "correct" in info else ""))

# %% [markdown]
# At the junction the observation is `010` whatever the signal was. A policy $\pi(a \mid o_t)$ that sees only the
# current observation takes the same action at the junction in both kinds of episode, so it is right exactly as
# often as that turn's signal occurs: **one half**, and no training changes that. To do better the policy must
# carry the signal for $N + 1$ steps: $\pi(a_t \mid o_0, \dots, o_t)$, with a recurrent state
# $h_t = \mathrm{cell}(o_t, h_{t-1})$.

# %% [markdown]
# ## 2. The policy gradient, and its backward
#
# The policy reads logits $z_t = h_t W_\pi^\top + b_\pi$ (three actions) and a value $V_t = h_t w_v^\top + b_v$.
# An episode's return from step $t$ is $G_t = \sum_{k \ge t} \gamma^{k-t} r_k$. REINFORCE (Williams 1992) follows
# $\nabla J = \mathbb{E}\left[\sum_t (G_t - V_t)\, \nabla \log \pi(a_t \mid h_t)\right]$: the baseline $V_t$ does not
# change the expectation, only lowers the variance. Over a padded batch of $B$ episodes (mask $m$), with an entropy
# bonus $\beta H_t$ that keeps it exploring and advantages $A_t = G_t - V_t$ held constant,
#
# $$L = -\frac{1}{B}\sum_{t,b} m\, A_t \log p_t[a_t] \;-\; \frac{\beta}{B}\sum_{t,b} m\, H_t
#       \;+\; c_v \,\mathrm{mean}_{m}\,(V_t - G_t)^2,$$
#
# and with $\log p = z - \mathrm{logsumexp}(z)$ and $\partial H / \partial z_j = -p_j(\log p_j + H)$ the gradient
# for the logits is
#
# $$\frac{\partial L}{\partial z_t} = -\frac{m}{B}\Big[A_t\,(\mathrm{onehot}(a_t) - p_t)
#       - \beta\, p_t\,(\log p_t + H_t)\Big].$$
#
# That is `policy_gradient_loss`. From $\partial L/\partial z$ and $\partial L / \partial V$ on, it is ordinary
# backpropagation: the two heads, then BPTT through the cell. `gradcheck` compares the whole chain with central
# differences, every parameter of a GRU policy, on a padded batch:

# %%
rng = np.random.default_rng(0)
T, B, H = (4, 3, 4) if SMALL else (6, 4, 6)
lengths = np.array([T, 2, 1, T][:B])
mask = (np.arange(T)[:, None] < lengths).astype(float)
obs_batch = rng.normal(size=(T, B, 3)) * mask[..., None]
actions = rng.integers(3, size=(T, B)) * mask.astype(int)
advantages, returns = rng.normal(size=(T, B)), rng.normal(size=(T, B))
policy = RecurrentPolicy("gru", 3, H, 3, seed=0)


def surrogate(p=None):
    logits, values = policy(obs_batch, lengths)
    loss_pi, dlogits, _ = policy_gradient_loss(logits, actions, advantages, mask, entropy_coef=0.01)
    loss_v, dvalues = mse(values, returns, mask)
    return loss_pi + 0.5 * loss_v, dlogits, 0.5 * dvalues


_, dlogits, dvalues = surrogate()
policy.backward(dlogits, dvalues)
analytic = {k: v.copy() for k, v in policy.grads.items()}
report = gradcheck.check_gradients(lambda p: surrogate()[0], policy.params, analytic)
print(report)

# %% [markdown]
# ## 3. Acting step by step, learning in one pass
#
# During an episode the policy cannot see the future, so it runs one step at a time: `policy.act(obs, state)` is a
# $T = 1$ call of the layer that returns the logits and the state to carry into the next step. A layer keeps the
# cache of its last forward only, so after the batch of episodes is over the trainer runs it again, whole: one
# forward over the padded batch with `lengths=` and one backward. The weights did not change in between, so both
# passes give the same logits, to the last bit of round-off:

# %%
envs = [TMaze(corridor=5) for _ in range(8)]
episodes = rollout(policy, envs, seeds=range(8), rng=np.random.default_rng(1))
state, stepped = None, []
for t in range(episodes.obs.shape[0]):
    logits_t, state = policy.act(episodes.obs[t], state)
    stepped.append(logits_t)
whole, _ = policy(episodes.obs, episodes.lengths)
real = episodes.mask == 1
print("episode lengths:", episodes.lengths)
print("largest difference, step by step vs one pass:", np.abs(np.stack(stepped)[real] - whole[real]).max())

# %% [markdown]
# ## 4. Training: a GRU against the memoryless control
#
# `tmaze_experiment` bundles the policy, the training step (32 episodes, their returns, one forward and backward)
# and the held-out evaluation: 200 fixed episodes, the greedy turn. The control is the same two heads on
# $\tanh(o_t W^\top + b)$: the observation of this step only. Both are trained by `minirnn.training.loop.fit` with
# Adam, exactly as `minirnn train tmaze` does.

# %%
N_MAIN, HIDDEN, STEPS = (4, 8, 300) if SMALL else (20, 32, 1500)
runs = {}
for name, cell in (("GRU policy", "gru"), ("memoryless control", "none")):
    runs[name] = tmaze_experiment(cell, corridor=N_MAIN, hidden=HIDDEN, seed=0)
    runs[name].history = train(runs[name], STEPS, eval_every=STEPS // 15)
    print(f"{name:<20} held-out {runs[name].evaluate(runs[name].model)}")
fig = plot_success({k: r.history for k, r in runs.items()}, title=f"T-maze, corridor {N_MAIN}")
plt.show()

# %% [markdown]
# The curve of the GRU is a step: for a while it is no better than the control (it has learned to walk forward
# and to turn, but not which way), then within a few hundred updates it finds the memory and turns right every
# time. The control learns to walk and stays at one half: the share of the held-out episodes whose signal matches
# the one turn it always takes.
#
# ## 5. What the memory looks like
#
# Run the trained GRU greedily on held-out episodes and project its hidden states $h_t$ on their first two principal
# components. Each line is one episode, coloured by the signal it saw at $t = 0$:

# %% tags=["readme-figure"]
gru = runs["GRU policy"].model
envs = [TMaze(corridor=N_MAIN) for _ in range(40)]
seeds = np.arange(1000, 1040)
episodes = rollout(gru, envs, seeds, greedy=True)
goals = np.array([TMaze(N_MAIN).reset(seed=int(s))[1]["goal"] for s in seeds])
h = gru.hidden_states(episodes.obs, episodes.lengths)                 # (T, 40, H)
fig = plot_hidden_tracks(h, episodes.lengths, goals,
                         title=f"GRU hidden state in the T-maze (corridor {N_MAIN}): {episodes.correct.mean():.0%} "
                               "correct turns")
plt.show()

# %% [markdown]
# Two tracks: the signal at $t = 0$ sends the state one way or the other along the first component, and through the
# identical corridor cells it stays on its side, a learned flip-flop (the one-unit memory of notebook 1, spread
# over many units). At the junction the observation changes and both tracks move, but they stay apart: the
# policy head reads the side and turns.
#
# ## 6. Longer corridors
#
# The longer the corridor, the further the reward's gradient must travel back to the signal, and at initialisation
# every step shrinks it (notebook 4). One run per cell and corridor length: the number of updates until the held-out
# success first reaches 95% (`train_until`: evaluated every 100 updates, and stopped there; a run that never gets
# there shows its budget).
# One seed is an anecdote: `benchmarks/learning_tmaze.py` repeats this over 5 seeds.

# %%
SWEEP, BUDGET = ((2, 4), 200) if SMALL else ((5, 10, 20), 1500)
steps_to_95 = {}


def sweep(cell):
    for N in SWEEP:
        exp = tmaze_experiment(cell, corridor=N, hidden=HIDDEN, seed=1, forget_bias=1.0 if cell == "lstm" else None)
        steps_to_95[cell, N], _ = train_until(exp, 0.95, BUDGET, every=100)
        print(f"{cell:<5} corridor {N:>3}: 95% after {steps_to_95[cell, N] or f'> {BUDGET}'} updates")


sweep("gru")

# %%
sweep("lstm")
fig, ax = plt.subplots(figsize=(6, 3.6))
for cell, label in (("gru", "GRU"), ("lstm", "LSTM, forget bias 1")):
    ax.plot(SWEEP, [steps_to_95[cell, N] or BUDGET for N in SWEEP], "o-", label=label)
ax.set(xlabel="corridor length N", ylabel="updates to 95% held-out success", title="one seed per point")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# ## Summary
#
# - The T-maze hides what matters: at the junction only memory tells the way, so a memoryless policy is stuck at
#   one half.
# - REINFORCE with a baseline:
#   $\partial L / \partial z = -\frac{m}{B}[A(\mathrm{onehot}(a) - p) - \beta p(\log p + H)]$, then plain
#   backpropagation; `gradcheck` confirms every parameter.
# - A recurrent policy acts with `act` (the state carried, no backward) and learns from one forward and one backward
#   over the padded episodes (`lengths=`); the two passes agree exactly.
# - What it learns is a two-track memory in $h_t$.
#
# ## Exercises
#
# 1. Train the vanilla RNN (`tmaze_experiment("rnn", ...)`) at corridor lengths 5, 10 and 20. Where does it stop
#    finding the memory, and does that match the vanishing-gradient profiles of notebook 4?
# 2. Train the LSTM with `forget_bias=None` (PyTorch's init) and with `forget_bias=1.0` over three seeds at
#    corridor 20. How much does the forget bias buy?
# 3. Set `entropy_coef=0` in `tmaze_experiment`. What happens to the policy at the junction before the memory is
#    found, and to the time it takes to find it?
# 4. Replace the value baseline by none (`value_coef=0` and advantages $G_t$): how much noisier is training?
# 5. `rollout` accepts any environment with the gymnasium interface. Install gymnasium, wrap `CartPole-v1` so that
#    the observation keeps only the positions (drop the two velocities), and train a GRU policy on it: can it learn
#    the velocities from differences of positions?
