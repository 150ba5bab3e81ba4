# %% [markdown]
# # 1 · The recurrent cell, one step at a time
#
# ## What you will learn
#
# - what one step of a vanilla (Elman) RNN computes, and the shape of every array on the way;
# - how running that same step over time turns it into a sequence layer, and that `minirnn.RNN` is exactly this loop;
# - what the hidden state remembers: a one-unit memory built by hand, and how fast a random RNN forgets.
#
# You need NumPy and the idea of a matrix product; nothing else. Every number below comes from the cell above it.

# %%
import os

# One BLAS thread: the matrices here are small, and on a busy 2-core machine OpenBLAS's threads spin and wait on each
# other, which made these notebooks up to 30x slower. This must run before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds there.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

import minirnn
from minirnn import cells, vanishing
from minirnn.analysis import style

style.use()                                             # the house style: 150 dpi, text >= 10 pt, rendered math
np.set_printoptions(precision=4, suppress=True, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")

# %% [markdown]
# ## 1. The equation
#
# A recurrent cell reads a sequence $x_0, x_1, \dots, x_{T-1}$ one step at a time and keeps a *hidden state* $h_t$,
# a vector of $H$ numbers that it passes from each step to the next. The vanilla RNN computes
#
# $$h_t = \tanh\left(x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}\right), \qquad h_{-1} = 0 .$$
#
# minirnn writes vectors as **rows** and stores every weight as `(out, in)`, exactly like PyTorch, so a batch of $B$
# sequences is processed at once by stacking the rows:
#
# | array | shape | meaning |
# |---|---|---|
# | $x_t$ | `(B, I)` | the inputs of step $t$, one row per sequence |
# | $h_{t-1}$, $h_t$ | `(B, H)` | the hidden state before and after the step |
# | $W_{ih}$ | `(H, I)` | input-to-hidden weights |
# | $W_{hh}$ | `(H, H)` | hidden-to-hidden (recurrent) weights |
# | $b_{ih}$, $b_{hh}$ | `(H,)` | two biases (PyTorch keeps two; only their sum matters) |
#
# The same four parameters are used at **every** step: that is what makes it *recurrent*.

# %% [markdown]
# ## 2. One step by hand
#
# Two sequences (B = 2), three input features (I = 3), four hidden units (H = 4). Watch the shapes.

# %%
rng = np.random.default_rng(0)
B, I, H = 2, 3, 4
bound = 1 / np.sqrt(H)                                  # PyTorch's default init: U(-1/sqrt(H), 1/sqrt(H))
W_ih = rng.uniform(-bound, bound, size=(H, I))
W_hh = rng.uniform(-bound, bound, size=(H, H))
b_ih = rng.uniform(-bound, bound, size=H)
b_hh = rng.uniform(-bound, bound, size=H)

x_t = rng.normal(size=(B, I))                           # step t's inputs, one row per sequence
h_prev = np.zeros((B, H))                               # before the first step the state is zero

from_input = x_t @ W_ih.T + b_ih                        # (B, I) @ (I, H) -> (B, H)
from_state = h_prev @ W_hh.T + b_hh                     # (B, H) @ (H, H) -> (B, H)
a = from_input + from_state                             # the pre-activation, (B, H)
h_t = np.tanh(a)                                        # the new state, (B, H), every entry in (-1, 1)

for name, value in [("x_t", x_t), ("W_ih", W_ih), ("W_hh", W_hh), ("b_ih", b_ih), ("h_prev", h_prev),
                    ("from_input", from_input), ("from_state", from_state), ("a", a), ("h_t", h_t)]:
    print(f"{name:<11} shape {str(value.shape):<8}")
print("\nh_t =\n", h_t)

# %% [markdown]
# minirnn's readable cell, `minirnn.cells.rnn.step_forward`, is these lines (open `minirnn/cells/rnn.py`: the
# equations sit in its docstring). It also returns a *cache*, everything the backward pass will need (notebook 2).

# %%
h_lib, cache = cells.rnn.step_forward(x_t, h_prev, W_ih, W_hh, b_ih, b_hh)
print("same as by hand:", np.array_equal(h_lib, h_t))

# %% [markdown]
# ## 3. The loop over time
#
# A sequence layer is that step in a `for` loop: the state that leaves step $t$ enters step $t+1$. The outputs of all
# steps are stacked into `out` of shape `(T, B, H)` (time first, as the layers use them inside), and the last state is
# `h_n`.

# %%
T = 5
xs = rng.normal(size=(T, B, I))                         # the whole batch of sequences, time-major (T, B, I)

h = np.zeros((B, H))
states = []
for t in range(T):
    h = np.tanh(xs[t] @ W_ih.T + b_ih + h @ W_hh.T + b_hh)    # (B, H): same weights at every step
    states.append(h)
out_by_hand = np.stack(states)                          # (T, B, H)
print("out", out_by_hand.shape, "  h_n", h.shape, "  out[-1] is h_n:", np.array_equal(out_by_hand[-1], h))

# %% [markdown]
# The readable sequence function `cells.rnn.forward` computes the input part $x_t W_{ih}^\top + b_{ih}$ of all $T$
# steps in **one** matrix product before the loop (only the recurrence has to run step by step), and the layer
# `minirnn.RNN` wraps it with PyTorch's interface: its parameters carry PyTorch's names, so our four arrays load by
# name. The layer runs the same loop compiled with Numba (the first call compiles it, which takes a few seconds).

# %%
out_cell, h_n_cell, _ = cells.rnn.forward(xs, np.zeros((B, H)), W_ih, W_hh, b_ih, b_hh)

rnn = minirnn.RNN(I, H)                                 # input_size=3, hidden_size=4, like torch.nn.RNN(3, 4)
rnn.load_state_dict({"weight_ih_l0": W_ih, "weight_hh_l0": W_hh, "bias_ih_l0": b_ih, "bias_hh_l0": b_hh})
out_layer, h_n_layer = rnn(xs)                          # h0 defaults to zeros
print(rnn)
print("out", out_layer.shape, " h_n", h_n_layer.shape, " (num_layers * num_directions, B, H)")
print("largest difference to the hand loop:  cells.rnn.forward", np.abs(out_cell - out_by_hand).max(),
      "  minirnn.RNN", np.abs(out_layer - out_by_hand).max())

# %% [markdown]
# The layer takes PyTorch's other layouts too: `batch_first=True` for `(B, T, I)` and a 2-D `(T, I)` for a single
# sequence. The number of parameters does not depend on $T$: a sequence of a million steps uses the same
# $H \cdot I + H \cdot H + 2H$ numbers.

# %%
rnn_bf = minirnn.RNN(I, H, batch_first=True)
rnn_bf.load_state_dict(rnn.state_dict())
out_bf, _ = rnn_bf(xs.transpose(1, 0, 2))               # (B, T, I) in, (B, T, H) out
out_one, _ = rnn(xs[:, 0])                              # one sequence: (T, I) in, (T, H) out
print("batch_first out", out_bf.shape, "  unbatched out", out_one.shape)
print("same numbers:", np.allclose(out_bf.transpose(1, 0, 2), out_layer), np.allclose(out_one, out_layer[:, 0]))
print("parameters:", {k: v.shape for k, v in rnn.params.items()}, "total", rnn.num_parameters(),
      "=", H * I + H * H + 2 * H)

# %% [markdown]
# ## 4. The hidden state is the memory
#
# Everything the cell knows about the past must fit into $h_t$. To see that it can *hold* something, build a one-unit
# RNN by hand: input weight 3, recurrent weight 2, no bias,
#
# $$h_t = \tanh(3 x_t + 2 h_{t-1}).$$
#
# With no input it obeys $h = \tanh(2h)$, which has two stable fixed points, $h \approx +0.96$ and $h \approx -0.96$:
# the unit stays wherever it is. A pulse $x_t = +1$ pushes it to $+0.96$, a pulse $x_t = -1$ back to $-0.96$. It is a
# flip-flop, a one-bit memory, and it keeps its bit for as long as you like.

# %%
T_flip = 40 if SMALL else 80
pulses = np.zeros(T_flip)
pulses[[5, T_flip // 2]] = 1.0, -1.0                    # set at step 5, reset halfway
pulses[T_flip * 3 // 4] = 1.0                           # and set again

flipflop = minirnn.RNN(1, 1)
flipflop.load_state_dict({"weight_ih_l0": [[3.0]], "weight_hh_l0": [[2.0]], "bias_ih_l0": [0.0], "bias_hh_l0": [0.0]})
h0 = np.full((1, 1, 1), -0.96)                          # start in the "0" state
remembers, _ = flipflop(pulses[:, None, None], h0)      # (T, 1, 1)

weak = minirnn.RNN(1, 1)                                # the same with recurrent weight 0.9: no second fixed point
weak.load_state_dict({"weight_ih_l0": [[3.0]], "weight_hh_l0": [[0.9]], "bias_ih_l0": [0.0], "bias_hh_l0": [0.0]})
forgets, _ = weak(pulses[:, None, None], h0)

fig, ax = plt.subplots(figsize=(9, 3.8))
ax.bar(np.arange(T_flip), pulses, color="0.7", label="input $x_t$ (pulses)")
ax.plot(remembers[:, 0, 0], lw=2, label="$h_t$, recurrent weight 2: remembers the last pulse")
ax.plot(forgets[:, 0, 0], lw=2, ls="--", label="$h_t$, recurrent weight 0.9: drifts back to 0, forgets")
ax.set_xlabel("time step $t$")
ax.set_ylim(-1.15, 1.15)
ax.set_title("A one-unit RNN as a flip-flop: the hidden state holds one bit")
ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=1, frameon=False)
plt.show()
print("state at the end:", remembers[-1, 0, 0].round(3), "(weight 2)  ", forgets[-1, 0, 0].round(3), "(weight 0.9)")

# %% [markdown]
# **The latching dilemma** (Bengio, Simard & Frasconi, 1994). The flip-flop keeps its bit *because* every small
# disturbance of $h$ dies out: near the fixed point $h^*$ one step multiplies a disturbance by
# $\partial h_t / \partial h_{t-1} = 2\,(1 - h^{*2})$, well below 1. That same number multiplies the *gradient* at
# every step back. A memory that is robust to noise is a memory whose gradient vanishes: the loss at the end cannot
# tell the network, by gradient descent, what the bit should have been 50 steps earlier.

# %%
h_star = 0.96
for _ in range(100):                                    # the fixed point of h = tanh(2 h)
    h_star = np.tanh(2 * h_star)
factor = 2 * (1 - h_star ** 2)
held = np.zeros((51, 1, 1))                             # 51 steps with no input, starting from the "1" state
norms = vanishing.gradient_norms(flipflop, held, np.ones((1, 1)), h0=np.full((1, 1), h_star))
print(f"fixed point h* = {h_star:.4f}; one step back multiplies the gradient by 2 (1 - h*^2) = {factor:.3f}")
print(f"over 50 steps: {factor:.3f}^50 = {factor ** 50:.1e};  exact BPTT through the flip-flop: "
      f"||dL/dh_0|| / ||dL/dh_50|| = {norms[0] / norms[-1]:.1e}")
print(f"and the bit itself after 50 steps: h_50 = {flipflop(held, np.full((1, 1, 1), h_star))[0][-1, 0, 0]:.4f}")

# %% [markdown]
# A trained network has to *find* weights like these. How long does a randomly initialised RNN remember? Feed two
# sequences that differ **only at step 0** and measure how far apart their hidden states are at each later step,
# $\lVert h_t - h'_t \rVert$. Whatever is left of that difference is all the network can still know about step 0.
#
# At PyTorch's default init the eigenvalues of $W_{hh}$ fill a disc of radius about $0.58$ (for any $H$), so every
# step shrinks the difference by roughly that factor and the memory of step 0 is gone after a few dozen steps. Scaling
# $W_{hh}$ up lengthens the memory; scale it too far and the dynamics turn chaotic: the difference no longer shrinks,
# but the state is scrambled rather than remembered.
#
# Two panels: the *finite* gap for a change of 1 in every input at step 0, and the *sensitivity*, the gap for a
# change of $\varepsilon = 10^{-7}$ divided by $\varepsilon$ (the linear response $\lVert (\partial h_t/\partial x_0)\,
# \delta \rVert$, which is what a gradient measures; below about $10^{-16}\sqrt{H}/\varepsilon \approx 10^{-8}$ it is
# round-off).

# %% tags=["readme-figure"]
H_mem, T_mem = (16, 30) if SMALL else (64, 100)
x = np.random.default_rng(1).normal(size=(T_mem, 1, 8))
x_other = x.copy()
x_other[0] += 1.0                                       # the two inputs differ at step 0 only

x_tiny = x.copy()
eps = 1e-7
x_tiny[0] += eps                                        # the linear response: a change of eps, divided by eps

fig, (ax, ax2) = plt.subplots(1, 2, figsize=(11, 4.4), sharey=True)
for scale in (1.0, 1.5, 2.0, 3.0):
    layer = minirnn.RNN(8, H_mem, seed=0)
    layer.params["weight_hh_l0"][...] *= scale          # params are the layer's own arrays: edit them in place
    radius = np.abs(np.linalg.eigvals(layer.params["weight_hh_l0"])).max()
    out_a, _ = layer(x)
    gap = np.linalg.norm(out_a - layer(x_other)[0], axis=(1, 2))       # ||h_t - h'_t||, (T,)
    sens = np.linalg.norm(out_a - layer(x_tiny)[0], axis=(1, 2)) / eps
    ax.semilogy(np.maximum(gap, 1e-17), lw=2, label=rf"$W_{{hh}} \times$ {scale:g} ($\rho$ = {radius:.2f})")
    ax2.semilogy(np.maximum(sens, 1e-17), lw=2)
    print(f"W_hh x {scale:g}: finite gap at the end {gap[-1]:.2g} (largest {gap.max():.2g}); "
          f"sensitivity at the end {sens[-1]:.2g} (largest {sens.max():.2g})")
ax.axhspan(1e-17, 1e-14, color="0.5", alpha=0.15, lw=0, label="round-off: nothing is left")
ax2.axhspan(1e-17, 1e-16 * np.sqrt(H_mem) / eps, color="0.5", alpha=0.15, lw=0)   # round-off / eps: the floor
for a in (ax, ax2):
    a.set_xlabel("time step $t$")
ax.set_ylabel(r"$\|h_t - h'_t\|$")
ax.set_title("finite change of 1 at $t = 0$")
ax2.set_title(r"sensitivity: change of $10^{-7}$, divided by it")
ax.legend(loc="upper center", bbox_to_anchor=(1.05, -0.18), ncol=3, frameon=False)
fig.suptitle(f"How much of step 0 is left at step $t$ (tanh RNN, H = {H_mem}, inputs differ at $t = 0$ only)")
plt.show()

# %% [markdown]
# While the gap is small the two panels agree: the finite gap is then the sensitivity times the change, and the
# sensitivity is the size of the gradient that flows from step $t$ back to step 0 (notebook 4). When the memory
# fades geometrically, so does the gradient, and gradient descent cannot *learn* to use what happened long ago. In
# the chaotic regime ($W_{hh} \times 3$) the two part ways: the finite gap saturates (both states stay in
# $(-1, 1)^H$, so it cannot exceed $2\sqrt{H}$), while the sensitivity keeps growing (printed above). A gradient
# then says how violently the state reacts to an infinitesimal change, not how much of $x_0$ the state remembers. LSTM and GRU cells (notebook 3) add gates
# that can hold the state, like the flip-flop, without any weight having to be tuned to the edge of chaos.
#
# ## Summary
#
# - One step: `h = tanh(x @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh)`, with `x (B, I)`, `h (B, H)`, `W_ih (H, I)`,
#   `W_hh (H, H)`.
# - A layer is that step in a loop over $T$; `out` is `(T, B, H)`, `h_n` is `(num_layers * num_directions, B, H)`.
# - The hidden state is the only memory. It can hold a bit forever (recurrent weight 2 in the flip-flop) or forget it
#   geometrically (default init: about 0.6 per step).
# - The latching dilemma: the flip-flop keeps its bit because disturbances shrink by 0.17 per step, and so does its
#   gradient (about $10^{-39}$ over 50 steps).
#
# ## Exercises
#
# 1. Make the RNN use ReLU: `minirnn.RNN(I, H, nonlinearity="relu")`. Which line of the step by hand changes? Check
#    your version against `cells.rnn.step_forward(..., nonlinearity="relu")`.
# 2. In the flip-flop, lower the recurrent weight from 2 towards 1. Find the smallest weight that still remembers a
#    pulse. (Hint: $h = \tanh(wh)$ has a nonzero fixed point only when $w > 1$.) What is the smallest input pulse that
#    flips it when $w = 2$?
# 3. Padding: call `rnn(xs, lengths=[5, 3])`. Compute by hand what `out[:, 1]` and `h_n[0, 1]` must be for the second
#    sequence, which has only 3 real steps, and compare.
# 4. Replace $W_{hh}$ in the memory experiment by $g\,Q$ with $Q$ orthogonal (`minirnn.vanishing.orthogonal(H, seed,
#    gain=g)`) for $g = 0.9, 1.0, 1.1$. Why does $g = 1$ remember longest without becoming chaotic when the input is
#    small (try `x * 0.01`), and what changes with large inputs?
# 5. Count the multiply-adds of one step for batch $B$ and explain why `cells.rnn.forward` computes
#    $x_t W_{ih}^\top$ for all steps before the loop but $h_{t-1} W_{hh}^\top$ inside it.
