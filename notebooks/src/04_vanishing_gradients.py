# %% [markdown]
# # 4 · Vanishing and exploding gradients, measured
#
# ## What you will learn
#
# - why the gradient that reaches an early time step is a *product* of per-step Jacobians, and what that product does
#   over 100 steps;
# - how much of it survives in a tanh RNN, an LSTM and a GRU at initialisation: exact numbers from the hand-written
#   BPTT, not folklore (spoiler: at PyTorch's default init, all three vanish);
# - how the scale of $W_{hh}$ moves the RNN between vanishing and exploding, and how gradient clipping tames an
#   explosion;
# - what training does to the gradient profile, and the adding problem, which a vanilla RNN fails to learn.
#
# Notebooks 1 to 3 built the cells and their backward passes. Everything here uses `minirnn.vanishing`, which reuses
# the cells' own backward functions.

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

from minirnn import tasks, vanishing
from minirnn.vanishing import CELL_COLORS, CELL_NAMES

plt.rcParams.update({"figure.dpi": 80})
np.set_printoptions(precision=3, linewidth=110)
# Sizes of the measurements: sequence length, hidden units, input features, random seeds per configuration.
SIZES = dict(T=25, hidden=8, input_size=4, seeds=2) if SMALL else dict(T=100, hidden=64, input_size=8, seeds=16)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full", SIZES)

# %% [markdown]
# ## 1. A product of Jacobians
#
# Put the loss on the last step only, $L = \sum_k h_{T-1}[k]$. From notebook 2, one step back multiplies the
# gradient (a row vector) by the step's Jacobian:
#
# $$\frac{\partial L}{\partial h_{t}} = \frac{\partial L}{\partial h_{t+1}}\, J_{t+1}, \qquad
#   J_{s} = \frac{\partial h_{s}}{\partial h_{s-1}} = \mathrm{diag}(1 - h_{s}^2)\, W_{hh},$$
#
# so the gradient at step $t$ has passed through $T-1-t$ of them:
#
# $$\frac{\partial L}{\partial h_t} = \frac{\partial L}{\partial h_{T-1}}\, J_{T-1} J_{T-2} \cdots J_{t+1}.$$
#
# Since $|1 - h^2| \le 1$, each factor shrinks the norm by at least $\sigma_{\max}(W_{hh})$ when that is below 1: the
# product decays **geometrically**, and the loss at step $T-1$ cannot teach the network anything about step 0
# (Bengio et al., 1994; Pascanu et al., 2013). When $W_{hh}$ is large the product *can* grow instead: the gradient
# explodes.
#
# ## 2. RNN vs LSTM vs GRU at initialisation
#
# `vanishing.protocol_a` measures $\lVert \partial L / \partial h_t \rVert$ at every step, exactly, for each cell at
# PyTorch's default init (every weight $U(-1/\sqrt{H}, 1/\sqrt{H})$), over many seeds, plus an LSTM whose forget gate
# bias is set to 3. Inputs are $x \sim N(0, 1)$, float64 (in float32 a ratio of $10^{-25}$ would underflow).

# %% tags=["readme-figure"]
profiles = vanishing.protocol_a(**SIZES, forget_bias=3.0)
fig = vanishing.plot_profiles(profiles)
plt.show()
print(vanishing.summary_table(profiles))

# %% [markdown]
# Read the left panel on its log scale. The tanh RNN loses a factor of about 0.56 per step: after 100 steps the
# gradient is around $10^{-25}$ of what it was at the loss. The LSTM and GRU do only a little better at default init,
# because their gates sit near $\sigma(0) = 0.5$: the cell path multiplies by $f \approx 0.5$ per step (notebook 3).
# The dashed LSTM, forget bias 3 ($f \approx 0.95$), keeps a good fraction of the gradient all the way back. The right
# panel shows the same through the inputs: how much the loss can "feel" $x_t$, which is what learning from step $t$
# needs.
#
# ## 3. The scale of $W_{hh}$: vanishing, exploding, and the tanh in between
#
# Take $W_{hh} = g\,Q$ with $Q$ a random orthogonal matrix, so every singular value of $W_{hh}$ is exactly $g$. For a
# *linear* RNN (no tanh) the gradient norm is then exactly $g^{T-1-t}$ times its value at the loss (dotted lines).
# The tanh's slope $1 - h^2 \le 1$ can only pull it below that line.

# %%
gains = vanishing.gain_sweep(gains=(0.5, 0.9, 1.0, 1.1, 1.5), **SIZES)
fig = vanishing.plot_gain_sweep(gains)
plt.show()
for g, factor in zip(gains["gains"], gains["factor"]):
    print(f"g = {g:<4g} per-step factor of the tanh RNN {np.median(factor):.3f}   (linear RNN: exactly {g:g})")

# %% [markdown]
# For $g < 1$ the tanh RNN follows the linear line down (a little below it). For $g > 1$ the linear RNN explodes,
# $1.5^{99} \approx 10^{17}$, but the tanh RNN grows far less: $g = 1.1$ still vanishes and $g = 1.5$ grows by only a
# few percent per step. Its units saturate, $1 - h^2$ becomes small, and the slope eats most of the gain. How much
# depends on how saturated the units are, that is, on the inputs. The map below shows
# $\log_{10} \lVert \partial L/\partial h_0 \rVert / \lVert \partial L/\partial h_{T-1} \rVert$ over the gain and the
# input scale: red explodes, blue vanishes.

# %%
grid = dict(SIZES, seeds=1) if SMALL else dict(SIZES, seeds=2)
heat = vanishing.gain_scale_heatmap(gains=np.round(np.arange(0.6, 1.61, 0.1), 2), scales=np.logspace(-4, 1, 6),
                                    **grid)
fig = vanishing.plot_heatmap(heat)
plt.show()
i = int(np.argmin(np.abs(heat["gains"] - 1.5)))
print(f"g = {heat['gains'][i]:g}: log10 ratio {heat['log10_ratio'][i, 0]:.1f} at input scale {heat['scales'][0]:.0e}, "
      f"{heat['log10_ratio'][i, -1]:.1f} at {heat['scales'][-1]:.0e}  (linear RNN: {heat['linear'][i]:.1f})")

# %% [markdown]
# With tiny inputs (left columns) and $g \le 1$ the tanh stays in its linear range and the map shows the linear
# RNN's value, $(T-1)\log_{10} g$ ($-22$ at $g = 0.6$). With $g > 1$ the gradient explodes, but by far fewer decades
# than the linear RNN's 17 at $g = 1.5$: a gain above 1 amplifies the *state* too, step after step, until even tiny
# inputs have grown into the saturated range of the tanh. With large inputs (right column) the tanh saturates from the
# start, and every gain vanishes.
#
# ## 4. Exploding gradients in training, and clipping
#
# An exploding gradient wrecks training: one huge step throws the weights far away. The standard remedy is to
# **clip** the gradient's global norm before each update (`minirnn.optim.clip_grad_norm`, exactly
# `torch.nn.utils.clip_grad_norm_`):
#
# $$g \leftarrow g \cdot \min\left(1, \frac{\text{max\_norm}}{\lVert g \rVert}\right),$$
#
# which keeps the direction and caps the length. `vanishing.clipping_traces` trains a tanh RNN with $W_{hh} = 1.5\,Q$ and
# small inputs (so that it explodes) on the adding problem with plain SGD, once without and once with clipping to 1.

# %%
clip = vanishing.clipping_traces(steps=40 if SMALL else 200, T=20 if SMALL else 50, hidden=8 if SMALL else 32)
fig = vanishing.plot_clipping(clip)
plt.show()
for name in ("unclipped", "clipped"):
    h = clip[name]
    print(f"{name:<9} largest gradient norm {np.nanmax(h['grad_norm']):.1e}, test MSE {h['test']:.3g}")

# %% [markdown]
# Without clipping, every oversized step makes the next gradient larger: the norm and the loss grow without bound.
# With clipping the same run stays finite and its loss sits at the baseline's level (200 steps of plain SGD do not
# solve the task, but nothing has been destroyed). Clipping does nothing for *vanishing* gradients: it can only
# shrink.
#
# ## 5. Before and after training: the adding problem
#
# The adding problem (notebook 3) needs memory over the whole sequence: the first marked value sits somewhere in the
# first half, and the answer is only asked for at the end. Train each cell on sequences of length $T = 50$ (fresh data
# every step, Adam, clipping at 1), and measure the gradient profile on the same sequence before and after.

# %%
T_add, H_add, steps = (12, 8, 30) if SMALL else (50, 32, 500)
x_probe = tasks.adding_problem(1, T_add, seed=123)[0]   # one fixed sequence for the profiles, (T, 1, 2)
runs = {}
for cell in ("rnn", "lstm", "gru"):
    layer = vanishing.make_layer(cell, 2, H_add, seed=0)
    before = vanishing.gradient_profile(layer, x_probe, np.ones((1, H_add)))["h"]
    layer, head, history = vanishing.train_task("adding", cell, T=T_add, hidden=H_add, steps=steps, seed=0,
                                                layer=layer)
    after = vanishing.gradient_profile(layer, x_probe, np.ones((1, H_add)))["h"]
    runs[cell] = {"before": before / before[-1], "after": after / after[-1], "history": history}
    print(f"{CELL_NAMES[cell]:<9} test MSE {history['test']:.4f}   per-step factor before "
          f"{vanishing.per_step_factor(before):.3f}, after {vanishing.per_step_factor(after):.3f}")
print(f"baseline (always predict 1): {tasks.ADDING_BASELINE_MSE:.4f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(16, 4.4))
window = max(1, steps // 25)
for cell, run in runs.items():
    loss = run["history"]["loss"]
    smooth = np.convolve(loss, np.ones(window) / window, mode="valid")
    axes[0].plot(np.arange(window - 1, len(loss)), smooth, color=CELL_COLORS[cell], lw=2,
                 label=f"{CELL_NAMES[cell]} (test MSE {run['history']['test']:.3f})")
    axes[1].semilogy(run["before"], color=CELL_COLORS[cell], lw=2, label=CELL_NAMES[cell])
    axes[2].semilogy(run["after"], color=CELL_COLORS[cell], lw=2, label=CELL_NAMES[cell])
axes[0].axhline(tasks.ADDING_BASELINE_MSE, color="k", ls="--", lw=1, label="always predict 1 (1/6)")
axes[0].set_yscale("log")
axes[0].set(xlabel="training step", ylabel=f"training MSE ({window}-step mean)",
            title=f"Adding problem, T = {T_add}: the tanh RNN stays at the baseline")
axes[1].set_title("||dL/dh_t|| / ||dL/dh_T-1|| at initialisation")
axes[2].set_title("... and after training")
lo = min(ax.get_ylim()[0] for ax in axes[1:])
for ax in axes[1:]:
    ax.set_ylim(lo, 10)
    ax.set_xlabel("time step t (the loss sits on the last step)")
for ax in axes:
    ax.grid(True, alpha=0.3)
    ax.legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# The tanh RNN never gets below the baseline: it learns to output the mean and nothing more. To discover that the
# marked values matter, it needs the gradient from the answer at the last step to reach the first marked value,
# somewhere in the first half; at initialisation that gradient arrives there multiplied by about $10^{-6}$ or less
# (middle panel). The GRU finds the solution within a few hundred steps. The LSTM sat at the baseline for most of the
# run and only then took off: at this budget whether it learns at all depends on the seed (try `seed=1`). After
# training every profile is flatter (right panel; the per-step factors printed above): the gated cells have learned to
# hold their gates open along the path the task needs. The RNN's profile flattened too, but it never found the signal
# to follow.
#
# ## Summary
#
# - The gradient reaching step $t$ is a product of $T-1-t$ Jacobians; it vanishes or explodes geometrically.
# - At PyTorch's default init the tanh RNN, the LSTM and the GRU all vanish (per-step factors about 0.56, 0.62,
#   0.64). Gates help only when they are held open: a forget bias, or training.
# - $W_{hh} = g\,Q$: $g < 1$ vanishes; $g > 1$ explodes only while the tanh stays unsaturated.
# - Clipping the gradient norm stops explosions; nothing but the architecture and the init stops vanishing.
#
# ## Exercises
#
# 1. The tanh RNN's eigenvalues at default init fill a disc of radius about 0.58. Use
#    `vanishing.jacobian_singular_values` on one layer and plot the largest singular value of
#    $\partial h_{T-1}/\partial h_t$ against the distance $T-1-t$. Is its slope on a log scale 0.58, 0.56, or something
#    else, and why?
# 2. Measure the tanh RNN's profile with inputs scaled by 0.01 (`gradient_profile(layer, 0.01 * x, ...)`). Which of
#    the figures above predicts the change?
# 3. Replace clipping by norm with clipping by value (`optim.clip_grad_value`, threshold 0.01) in the exploding run:
#    write the loop yourself from `vanishing.train_task`. What happens to the direction of the update?
# 4. Train the LSTM of section 5 with `vanishing.set_gate_bias(layer, "f", 1.0)` and with $T = 100$. Does it still
#    learn in 500 steps? Does the GRU?
# 5. Initialise the tanh RNN's $W_{hh}$ orthogonally with gain 1 (`vanishing.orthogonal`) before training on the
#    adding problem at $T = 50$. Does the vanilla RNN learn now? Compare its profile before and after.
