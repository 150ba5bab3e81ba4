# %% [markdown]
# # 3 · LSTM and GRU: gates that decide what to keep
#
# ## What you will learn
#
# - the equations of the LSTM and GRU cells, in PyTorch's form and gate order, with the shape of every array;
# - what the gates actually do in a trained network: their activations over a sequence, drawn as heatmaps;
# - why the LSTM's cell state $c_t$ carries memory and gradient far back in time (and when it does not), and the
#   GRU's counterpart, the update gate.
#
# Notebook 1 showed that a vanilla RNN's state fades by a fixed factor per step unless its weights sit at the edge of
# chaos. Gates let the network *choose*, step by step, what to keep.

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
from matplotlib.ticker import MaxNLocator

import minirnn
from minirnn import cells, tasks, vanishing

from minirnn.analysis import style  # noqa: E402

style.use()                                             # the house style: 150 dpi, text >= 10 pt, rendered math
np.set_printoptions(precision=3, suppress=True, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")

# %% [markdown]
# ## 1. The LSTM cell
#
# The LSTM keeps two states, $h_t$ (the output, shown to the next layer) and $c_t$ (the cell, kept to itself). One
# matrix product makes four pre-activation blocks, in PyTorch's order $i, f, g, o$:
#
# $$[a_i, a_f, a_g, a_o] = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh} \qquad \text{(B, 4H)}$$
#
# $$i_t = \sigma(a_i), \quad f_t = \sigma(a_f), \quad g_t = \tanh(a_g), \quad o_t = \sigma(a_o)$$
#
# $$c_t = f_t \odot c_{t-1} + i_t \odot g_t, \qquad h_t = o_t \odot \tanh(c_t).$$
#
# Each gate is a number between 0 and 1 per unit: the **input gate** $i$ says how much of the candidate $g$ to write,
# the **forget gate** $f$ how much of the old cell to keep, the **output gate** $o$ how much of the cell to show.
# `W_ih` is `(4H, I)`, `W_hh` is `(4H, H)`: four RNNs' worth of weights.

# %%
rng = np.random.default_rng(0)
B, I, H = 2, 3, 4
bound = 1 / np.sqrt(H)
W_ih, W_hh = rng.uniform(-bound, bound, (4 * H, I)), rng.uniform(-bound, bound, (4 * H, H))
b_ih, b_hh = rng.uniform(-bound, bound, 4 * H), rng.uniform(-bound, bound, 4 * H)
x_t, h_prev, c_prev = rng.normal(size=(B, I)), np.zeros((B, H)), np.zeros((B, H))

sigmoid = lambda a: 1 / (1 + np.exp(-a))                # noqa: E731
a = x_t @ W_ih.T + b_ih + h_prev @ W_hh.T + b_hh        # (B, 4H)
i, f, g, o = sigmoid(a[:, :H]), sigmoid(a[:, H:2 * H]), np.tanh(a[:, 2 * H:3 * H]), sigmoid(a[:, 3 * H:])
c_t = f * c_prev + i * g                                # (B, H)
h_t = o * np.tanh(c_t)                                  # (B, H)
print("a", a.shape, " i f g o", i.shape, " c_t", c_t.shape, " h_t", h_t.shape)

h_lib, c_lib, _ = cells.lstm.step_forward(x_t, h_prev, c_prev, W_ih, W_hh, b_ih, b_hh)
print("same as minirnn.cells.lstm.step_forward:", np.allclose(h_lib, h_t), np.allclose(c_lib, c_t))

# %% [markdown]
# ## 2. The GRU cell
#
# The GRU has one state and two gates, **reset** $r$ and **update** $z$, in PyTorch's order $r, z, n$. PyTorch's
# variant (and Keras' `reset_after=True`) applies the reset gate *after* the recurrent product:
#
# $$[x_r, x_z, x_n] = x_t W_{ih}^\top + b_{ih}, \qquad [h_r, h_z, h_n] = h_{t-1} W_{hh}^\top + b_{hh}$$
#
# $$r_t = \sigma(x_r + h_r), \quad z_t = \sigma(x_z + h_z), \quad n_t = \tanh(x_n + r_t \odot h_n)$$
#
# $$h_t = (1 - z_t) \odot n_t + z_t \odot h_{t-1}.$$
#
# The last line is the key: where $z_t = 1$ the unit copies its old value, where $z_t = 0$ it takes the new candidate.

# %%
W_ih3, W_hh3 = rng.uniform(-bound, bound, (3 * H, I)), rng.uniform(-bound, bound, (3 * H, H))
b_ih3, b_hh3 = rng.uniform(-bound, bound, 3 * H), rng.uniform(-bound, bound, 3 * H)
xp = x_t @ W_ih3.T + b_ih3                              # (B, 3H)
hp = h_prev @ W_hh3.T + b_hh3                           # (B, 3H)
r = sigmoid(xp[:, :H] + hp[:, :H])
z = sigmoid(xp[:, H:2 * H] + hp[:, H:2 * H])
n = np.tanh(xp[:, 2 * H:] + r * hp[:, 2 * H:])
h_gru = (1 - z) * n + z * h_prev                        # (B, H)
h_lib, _ = cells.gru.step_forward(x_t, h_prev, W_ih3, W_hh3, b_ih3, b_hh3)
print("h_t", h_gru.shape, " same as minirnn.cells.gru.step_forward:", np.allclose(h_lib, h_gru))

for layer in (minirnn.RNN(I, H), minirnn.GRU(I, H), minirnn.LSTM(I, H)):
    print(f"{layer!r:<14} parameters {layer.num_parameters():>4}   weight_hh_l0 {layer.params['weight_hh_l0'].shape}")
out, (h_n, c_n) = minirnn.LSTM(I, H)(rng.normal(size=(7, B, I)))
print("LSTM layer: out", out.shape, " h_n", h_n.shape, " c_n", c_n.shape)

# %% [markdown]
# ## 3. The gates at work
#
# Gates at initialisation sit near 0.5 and mean nothing. To see them *do* something, train a small LSTM and a small
# GRU on the **adding problem**: a sequence of pairs (value, marker); exactly two steps are marked, one in each half,
# and the target is the sum of the two marked values. The network must notice a marker, store its value, hold it over
# the unmarked steps, and add the second one. Predicting the mean (1) scores MSE $1/6 \approx 0.167$.
# `vanishing.train_task` is an explicit loop: fresh sequences every step, Adam, gradient clipping.

# %%
T_add, H_add, steps = (10, 8, 40) if SMALL else (20, 16, 400)
trained = {}
for cell in ("lstm", "gru"):
    layer, head, history = vanishing.train_task("adding", cell, T=T_add, hidden=H_add, steps=steps, seed=0, lr=1e-2)
    trained[cell] = layer
    print(f"{cell.upper():<4} test MSE {history['test']:.4f}   (predicting the mean: 0.167)")

# %% [markdown]
# Now run one test sequence through each trained layer with the readable cell functions, whose cache keeps every
# gate at every step (`cache["gates"]` is `(T, B, 4H)` for the LSTM, `(T, B, 3H)` for the GRU), and draw each gate as
# a heatmap: one row per hidden unit, one column per time step. The white ticks mark the two marked steps.

# %% tags=["readme-figure"]
x_seq, y_seq = tasks.adding_problem(1, T_add, seed=5)   # (T, 1, 2), (1, 1)
marks = np.flatnonzero(x_seq[:, 0, 1])
zeros = np.zeros((1, H_add))


def weights(layer):
    p = layer.params
    return p["weight_ih_l0"], p["weight_hh_l0"], p["bias_ih_l0"], p["bias_hh_l0"]


_, _, _, lstm_cache = cells.lstm.forward(x_seq, zeros, zeros, *weights(trained["lstm"]))
_, _, gru_cache = cells.gru.forward(x_seq, zeros, *weights(trained["gru"]))
lstm_gates = lstm_cache["gates"][:, 0].reshape(T_add, 4, H_add)   # (T, gate, unit)
gru_gates = gru_cache["gates"][:, 0].reshape(T_add, 3, H_add)

panels = [("LSTM input gate i", lstm_gates[:, 0], "viridis", (0, 1)),
          ("LSTM forget gate f", lstm_gates[:, 1], "viridis", (0, 1)),
          ("LSTM output gate o", lstm_gates[:, 3], "viridis", (0, 1)),
          ("LSTM cell state c", lstm_cache["cs"][1:, 0], "RdBu_r", None),
          ("GRU reset gate r", gru_gates[:, 0], "viridis", (0, 1)),
          ("GRU update gate z", gru_gates[:, 1], "viridis", (0, 1)),
          ("GRU candidate n", gru_gates[:, 2], "RdBu_r", (-1, 1)),
          ("GRU state h", gru_cache["hs"][1:, 0], "RdBu_r", None)]
fig, axes = plt.subplots(2, 4, figsize=(15, 6.4), sharex=True)
for ax, (title, values, cmap, limits) in zip(axes.ravel(), panels):
    if limits is None:
        v = np.abs(values).max()
        limits = (-v, v)
    im = ax.imshow(values.T, aspect="auto", cmap=cmap, vmin=limits[0], vmax=limits[1], interpolation="nearest")
    ax.plot(marks, np.full(len(marks), -0.9), "v", color="white", ms=9, mec="black", clip_on=False)
    ax.set_title(title, fontsize=10)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))
    fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
for ax in axes[1]:
    ax.set_xlabel("time step t")
for ax in axes[:, 0]:
    ax.set_ylabel("hidden unit")
values_txt = ", ".join(f"{x_seq[m, 0, 0]:.2f} at t={m}" for m in marks)
fig.suptitle(f"Gates of an LSTM and a GRU trained on the adding problem; marked values {values_txt}, "
             f"target {y_seq[0, 0]:.2f}")
fig.tight_layout()
plt.show()

# %% [markdown]
# What to look for (your picture may differ in detail; every training run finds its own solution):
#
# - Between the markers the states are nearly constant: the LSTM's cell $c$ and the GRU's $h$ change in steps, at the
#   marked columns, and hold their value in between. That is the memory.
# - The GRU's update gate $z$ is near 1 (keep) on ordinary steps and drops at the marked steps (write). In the LSTM
#   the input and output gates of some units change at the marks, and the forget gates of the units that store the
#   value stay high, so that what was written stays.
# - Gates are not binary switches: many units sit at intermediate values and share the work.
#
# ## 4. Why the cell path carries memory, and gradient
#
# Differentiate the cell update $c_t = f_t \odot c_{t-1} + i_t \odot g_t$ with respect to $c_{t-1}$, holding the
# gates fixed: the answer is just $\mathrm{diag}(f_t)$. Going back $k$ steps along the cell path multiplies the
# gradient by $f_t \odot f_{t-1} \odot \dots$, element by element. Compare the vanilla RNN, where every step back
# multiplies by a full matrix, $\mathrm{diag}(1 - h_t^2)\, W_{hh}$ (notebook 2), whose size is set by $W_{hh}$'s
# spectrum and the tanh slope. In the LSTM the network *controls* the factor: a forget gate at 1 keeps the gradient
# unchanged; in the backward pass, `cells.lstm.gate_gradients` has the line
#
# ```python
# dc_prev = dc * f              # the additive cell path: the gradient reaches c_{t-1} scaled only by f
# ```
#
# The GRU's counterpart is $h_t = \dots + z_t \odot h_{t-1}$, giving the shortcut `dh * z` in `cells.gru`.
#
# But a gate is only as open as its bias makes it. At PyTorch's default init the gates are near
# $\sigma(0) = 0.5$, and $0.5^{99}$ is $10^{-30}$. `vanishing.gate_bias_sweep` measures the gradient that reaches
# each step from a loss on the last step (exactly, from the hand-written BPTT) for LSTMs whose forget gate bias is $b$
# and GRUs whose update gate bias is $b$; the dotted lines are the gate path alone, $\sigma(b)^{T-1-t}$.

# %%
sizes = dict(T=25, hidden=8, input_size=4, seeds=2) if SMALL else dict(T=100, hidden=64, input_size=8, seeds=8)
bias = vanishing.gate_bias_sweep(biases=(0.0, 1.0, 3.0, 5.0), **sizes)
fig = vanishing.plot_gate_bias(bias)
plt.show()
for b in bias["biases"]:
    d = bias["lstm"][float(b)]
    print(f"bias {b:g}: sigmoid(b) = {1 / (1 + np.exp(-b)):.3f};  LSTM dL/dc_0 / dL/dc_T-1 = "
          f"{np.median(d['ratio_c']):.1e},  GRU dL/dh_0 / dL/dh_T-1 = {np.median(bias['gru'][float(b)]['ratio']):.1e}")

# %% [markdown]
# With $b = 0$ (gates near 0.5, as at PyTorch's default init) almost nothing reaches step 0, for both cells:
# **gating alone does not prevent vanishing gradients**. A forget bias of 3 ($f \approx 0.95$) keeps the gradient on
# the cell path at the same order of magnitude all the way back (above its dotted line, the gate path alone: the
# paths through $h$ add to it), and the black dashed line, an LSTM with $f \equiv 1$ (the original 1997 LSTM's "constant error
# carousel"), keeps all of it. That is why practitioners initialise the forget bias to 1 or more (Jozefowicz et al.,
# 2015), and why a trained LSTM or GRU, whose gates have learned to stay open where memory is needed, can bridge long
# gaps. Notebook 4 measures this before and after training.
#
# ## Summary
#
# - LSTM: $c_t = f \odot c_{t-1} + i \odot g$, $h_t = o \odot \tanh(c_t)$, gates $i, f, g, o$ in one `(B, 4H)` block.
# - GRU: $h_t = (1 - z) \odot n + z \odot h_{t-1}$, gates $r, z, n$ in a `(B, 3H)` block, reset applied to
#   $h_{t-1} W_{hn}^\top + b_{hn}$.
# - The cell path multiplies the gradient by the forget gate, element-wise; it carries memory only where the gate is
#   near 1, which training (or the bias init) must arrange.
#
# ## Exercises
#
# 1. Count the parameters of `RNN(I, H)`, `GRU(I, H)` and `LSTM(I, H)` as formulas in $I$ and $H$ and check them with
#    `num_parameters()`.
# 2. The derivative of $c_t$ with respect to $c_{t-1}$ is $\mathrm{diag}(f_t)$ only if $h_{t-1}$ is held fixed. But
#    $h_{t-1} = o_{t-1} \odot \tanh(c_{t-1})$ depends on $c_{t-1}$ too. Compute the full Jacobian of one step with
#    finite differences (`gradcheck.numerical_gradient`) and find the extra term.
# 3. Train the LSTM of section 3 again with `vanishing.set_gate_bias(layer, "f", 1.0)` before training (pass
#    `layer=` to `train_task`), then with $T = 40$. Does it learn in 400 steps? Redraw the heatmaps.
# 4. In the trained GRU, find the unit whose state changes least between the two marks and plot its $z_t$. How close
#    to 1 is it, and what does $z^{k}$ over the gap predict for how much of the first value survives?
# 5. Set the LSTM's forget bias to 50 (`vanishing.CEC_BIAS`): $f = 1$ exactly in float64. Why does
#    $\lVert dL/dc_t \rVert$ stay constant while $\lVert dL/dh_t \rVert$ still decays (middle panel)?
