# %% [markdown]
# # 4 · Vanishing and exploding gradients, measured
#
# ## What you will learn
#
# - why the gradient that reaches an early time step is a *product* of per-step Jacobians, and what the textbook
#   conditions on $W_{hh}$ say (and do not say) about it at PyTorch's default init;
# - how much of it survives in a tanh RNN, an LSTM and a GRU at initialisation, described by two numbers, not one:
#   what the first step back keeps, and the slope over the middle of the range;
# - PyTorch's default initialisation against Keras' (forget bias 1, orthogonal $W_{hh}$);
# - how the scale of $W_{hh}$ moves the RNN between vanishing and exploding; what clipping does, on a tanh RNN
#   that diverges without it and on Pascanu's one-unit cliff;
# - which remedies (orthogonal and identity init, forget bias, chrono init, gates) let a model *learn* the adding
#   problem at which length, over seeds: the gradient at init does not decide that on its own.
#
# Notebooks 1 to 3 built the cells and their backward passes. Everything here uses `minirnn.vanishing`, which reuses
# the cells' own backward steps. Every number is printed by the cell above it; the learning results come from
# `minirnn vanishing --experiment learnability --seeds 5 --steps 400 --out docs/results/vanishing`.

# %%
import os

# One BLAS thread: the matrices here are small, and on a busy 2-core machine OpenBLAS's threads spin and wait on each
# other, which made these notebooks up to 30x slower. This must run before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds there.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import minirnn
from minirnn import vanishing
from minirnn.analysis import interactive, style

style.use()                                             # the house style: 150 dpi, text >= 10 pt, rendered math
np.set_printoptions(precision=3, linewidth=110)
# Sizes of the measurements: sequence length, hidden units, input features, random seeds per configuration.
SIZES = dict(T=25, hidden=8, input_size=4, seeds=2) if SMALL else dict(T=100, hidden=64, input_size=8, seeds=16)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full", SIZES)

# %% [markdown]
# ## 1. A product of Jacobians, and what the conditions on $W_{hh}$ say
#
# Put the loss on the last step only, $L = \sum_k h_{T-1}[k]$. One step back multiplies the gradient (a row vector)
# by the step's Jacobian (notebook 2):
#
# $$\frac{\partial L}{\partial h_{t}} = \frac{\partial L}{\partial h_{t+1}}\, J_{t+1}, \qquad
#   J_{s} = \frac{\partial h_{s}}{\partial h_{s-1}} = \mathrm{diag}(1 - h_{s}^2)\, W_{hh},$$
#
# so the gradient at step $t$ has passed through $T-1-t$ of them:
# $\partial L/\partial h_t = \partial L/\partial h_{T-1}\, J_{T-1} \cdots J_{t+1}$.
#
# Pascanu, Mikolov & Bengio (2013) give two conditions for the tanh RNN. **Sufficient for vanishing:** the largest
# singular value $\sigma_{\max}(W_{hh}) < 1$ (since $|1 - h^2| \le 1$, each factor then shrinks the norm).
# **Necessary for exploding:** $\sigma_{\max}(W_{hh}) > 1$. Measure both quantities at PyTorch's default init, every
# weight $U(-1/\sqrt{H}, 1/\sqrt{H})$, with variance $1/(3H)$: random-matrix theory predicts
# $\sigma_{\max} \approx 2\sqrt{H}\cdot\sqrt{1/(3H)} = 2/\sqrt{3} \approx 1.15$ and a spectral radius
# $\rho \approx 1/\sqrt{3} \approx 0.58$ (the circular law).

# %%
spec = vanishing.spectra(**{k: SIZES[k] for k in ("T", "hidden", "input_size")})
tanh_name = spec["names"][0]
print(f"tanh RNN at PyTorch's init, H = {SIZES['hidden']}: sigma_max(W_hh) = {spec['norm'][tanh_name]:.3f} "
      f"(2/sqrt(3) = {2 / np.sqrt(3):.3f}), spectral radius = {spec['radius'][tanh_name]:.3f} "
      f"(1/sqrt(3) = {1 / np.sqrt(3):.3f})")
print(f"largest singular value of dh_T-1/dh_0 over {SIZES['T'] - 1} steps: {spec['sv'][tanh_name][0, 0]:.1e}")

# %% [markdown]
# At the default init $\sigma_{\max}(W_{hh}) \approx 1.11 > 1$: the sufficient condition for vanishing does **not**
# hold, and the necessary condition for exploding does. Yet the product of 99 Jacobians has its largest singular
# value near $10^{-25}$. The decay comes from the spectral radius (about 0.59: powers of $W_{hh}$ shrink like
# $\rho^k$ in the long run, whatever $\sigma_{\max}$ says about one step) and from the tanh slopes $1 - h_s^2 < 1$.
# The conditions bound one step; the product over many steps is what the measurements below show.
#
# ## 2. RNN vs LSTM vs GRU at initialisation
#
# `vanishing.protocol_a` measures $\lVert \partial L / \partial h_t \rVert$ at every step, exactly, for each cell at
# PyTorch's default init over 16 seeds, plus an LSTM whose forget-gate bias is 3. Inputs $x \sim N(0, 1)$, float64
# (in float32 a ratio of $10^{-25}$ underflows). A profile is rarely a straight line on the log scale, so each one is
# described by two numbers: the **first-step drop** (what one step back from the loss keeps) and the **mid-range
# factor** (the per-step slope of a straight line fitted over 10% to 90% of the distances).

# %% tags=["readme-figure"]
profiles = vanishing.protocol_a(**SIZES, forget_bias=3.0)
fig = vanishing.plot_profiles(profiles)
plt.show()
print(vanishing.summary_table(profiles))

# %% [markdown]
# In the full-size run (the table above): the tanh RNN keeps 0.53 in its first step back and then about 0.57 per
# step, a straight line down to about $10^{-25}$ at $t = 0$. The LSTM at default init drops to 0.14 in its first
# step (its output gate $o \approx 0.5$ and $\tanh'$ both act once), then loses about 0.63 per step; the GRU 0.52,
# then 0.64. The LSTM with forget bias 3 is **not** "0.98 per step": it loses 87% of its gradient in the one step
# back from the loss (0.13) and then stays flat, mid-range factor 1.005 (between $t = 0$ and $t = 90$ it even grows a
# little). Its total ratio, about 0.11, would be misdescribed by one geometric mean.
#
# These numbers describe the gradient at initialisation. They do **not** predict learning: section 6 trains the GRU,
# whose ratio at $T = 100$ is about $10^{-20}$, and it learns; the tanh RNN with its gain kept at 1 does not.
#
# ## 3. PyTorch's defaults are not everyone's
#
# "At default init the gates do not save the gradient" is a statement about PyTorch's init. Keras initialises
# $W_{ih}$ glorot-uniform, $W_{hh}$ **orthogonal**, the biases to zero and the LSTM's forget bias to **1**
# (`unit_forget_bias=True`, after Gers et al. 2000 and Jozefowicz et al. 2015); minirnn imports Keras models
# (notebook 7), so both matter. `vanishing.keras_defaults_` re-initialises a layer as Keras does.

# %%
defaults = vanishing.defaults_profiles(**SIZES)
fig = vanishing.plot_defaults(defaults, title="PyTorch's default init (solid) against Keras' (dashed)")
plt.show()
print(vanishing.summary_table(defaults))

# %% [markdown]
# The two inits side by side (full-size run, medians over 16 seeds): the mid-range factor of the tanh RNN goes from
# 0.566 (PyTorch) to 0.774 (Keras), the LSTM's from 0.634 to 0.834, and the LSTM's whole ratio from $3 \cdot 10^{-21}$
# to $10^{-9}$; the GRU is about the same under both (0.642 and 0.629), because Keras gives it no gate bias. With an
# orthogonal $W_{hh}$ every singular value of $W_{hh}$ is 1, and the Keras LSTM's forget gate starts near
# $\sigma(1) = 0.73$ instead of 0.5. "The gates do not save the gradient at default init" is PyTorch's default only.
#
# ## 4. The scale of $W_{hh}$: vanishing, exploding, and the tanh in between
#
# Take $W_{hh} = g\,Q$ with $Q$ a random orthogonal matrix, so every singular value of $W_{hh}$ is exactly $g$. For a
# *linear* RNN (no tanh) the gradient norm is then exactly $g^{T-1-t}$ times its value at the loss (dotted lines).
# The tanh's slope $1 - h^2 \le 1$ can only pull it below that line.

# %%
gains = vanishing.gain_sweep(gains=(0.5, 0.9, 1.0, 1.1, 1.5), **SIZES)
fig = vanishing.plot_gain_sweep(gains)
plt.show()
for g, mid in zip(gains["gains"], vanishing.mid_range_factor(gains["profiles"])):
    print(f"g = {g:<4g} mid-range factor of the tanh RNN {np.median(mid):.3f}   (linear RNN: exactly {g:g})")

# %% [markdown]
# For $g \le 1$ the tanh RNN follows the linear line down, a little below it. For $g > 1$ the linear RNN explodes
# ($1.5^{99} \approx 10^{17}$), but the tanh RNN grows far less: its units saturate, $1 - h^2$ becomes small, and the
# slope eats most of the gain. How much depends on the inputs: the map shows
# $\log_{10} \lVert \partial L/\partial h_0 \rVert / \lVert \partial L/\partial h_{T-1} \rVert$ over gain and input
# scale (red explodes, blue vanishes).

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
# ## 5. The spectral radius is not the whole story: non-normal matrices
#
# For a *normal* matrix (orthogonal, symmetric) the norm of $W^k$ is exactly $\rho^k$. A non-normal matrix can
# amplify for a while even though every eigenvalue is inside the unit circle. The third matrix below is
# triangular: its eigenvalues are its diagonal, drawn from $U(0.3, 0.7)$, so $\rho < 0.7$, but its strictly upper
# part makes $\sigma_{\max}(W) \approx 2.4$. The linear RNN's Jacobian product grows first, then decays.

# %%
spectra_full = vanishing.spectra(**{k: SIZES[k] for k in ("T", "hidden", "input_size")})
fig = vanishing.plot_spectra(spectra_full)
plt.show()
for name in spectra_full["names"]:
    top = spectra_full["sv"][name][::-1, 0]                    # by distance 0, 1, ..., T-1
    print(f"{name:<26} radius {spectra_full['radius'][name]:.2f}, sigma_max {spectra_full['norm'][name]:.2f}; "
          f"largest singular value of the product peaks at {top.max():.3g} (distance {top.argmax()}), "
          f"{top[-1]:.1e} at distance {len(top) - 1}")

# %% [markdown]
# The non-normal product peaks near 20 about a dozen steps back and is down to about $10^{-6}$ at distance 99
# (printed above): growth, then decay, while $\rho^{k}$ (dotted) only decays.
#
# ## 6. Exploding gradients, and what clipping does
#
# Clipping rescales the global gradient norm to at most `max_norm` (`minirnn.optim.clip_grad_norm`, exactly
# `torch.nn.utils.clip_grad_norm_`, Pascanu et al. 2013): $g \leftarrow g \cdot \min(1, \text{max\_norm} / \lVert g
# \rVert)$. Two experiments: a tanh RNN that diverges without it and learns with it, and Pascanu's one-unit cliff.
#
# ### 6a. A run that fails without clipping and learns with it
#
# A tanh RNN with $W_{hh} = 1.3\,Q$ ($Q$ orthogonal, zero biases) on the adding problem at $T = 20$ (H = 16, inputs
# scaled by 0.5 so the tanh is not saturated at init), plain SGD at lr 0.2 for 2000 steps of 32 fresh sequences,
# without and with clipping at 1, five seeds. At every step, before the update, we record the global gradient norm,
# the **growth through time** $\lVert \partial L/\partial h_0\rVert / \lVert \partial L/\partial h_{T-1}\rVert$
# at that step's weights (one fixed probe sequence, $L = \sum h_{T-1}$; above 1 the long-range terms dominate) and
# the spectral radius of $W_{hh}$. A run **learned** when its MSE on 1000 held-out sequences is below 0.15
# (predicting 1 scores 1/6, remembering one of the two numbers 1/12). A *norm spike* is the first step whose norm
# exceeds 10 times the median of the 50 before it (`exploding.first_spike`).

# %%
rescue = vanishing.clipping_rescue(**(dict(T=8, hidden=6, steps=20, batch=4, seeds=2, eval_every=5) if SMALL
                                      else {}))
fig = vanishing.plot_clipping_rescue(rescue)
plt.show()
g, gain, T = rescue["growth"], rescue["gain"], rescue["protocol"]["T"]
print(f"growth through time at init: median {np.median(g):.2g} [{g.min():.2g}, {g.max():.2g}] over "
      f"{len(g)} seeds (a linear RNN: {gain:g}^{T - 1} = {gain ** (T - 1):.0f})")
for name in ("unclipped", "clipped"):
    d = rescue[name]
    over = [int(np.argmax(~np.isfinite(n))) for n in d["grad_norm"] if not np.all(np.isfinite(n))]
    print(f"{name:<9} learned {int(d['learned'].sum())}/{len(d['learned'])}; test MSE per seed "
          f"{np.round(d['test'], 3)}; gradient norm overflowed at steps {over}")
    after = np.array2string(d["growth_step"][:, 1], precision=2)
    print(f"{'':<9} gradient norm at step 0 {np.round(d['grad_norm'][:, 0], 1)}; after one step: spectral "
          f"radius {np.round(d['radius_step'][:, 1], 2)}, growth {after}")
    print(f"{'':<9} first norm spike at steps {d['spike']} (-1: none), growth there "
          f"{np.array2string(d['growth_spike'], precision=2)}")

# %% [markdown]
# In the full-size run (5 seeds; `minirnn vanishing --experiment clipping` prints the same numbers), without
# clipping every run diverges (the gradient norm overflows at steps 206 to 211) and none learns. Clipped at 1, all
# five learn: held-out MSE 0.066 to 0.133 (median 0.113), below the 0.15 threshold.
#
# Where the gradient explodes through time, and what that does:
#
# - **At init** the long-range terms dominate: the gradient reaching step 0 is 5.3 to 17 times (median 8.0) the one
#   at the loss (a linear RNN would give $1.3^{19} \approx 146$; the tanh takes the rest), and the global gradient
#   norm is 13 to 34, 13 to 34 times the clipping threshold.
# - **Without clipping**, the first SGD step along that gradient (length 0.2 x 13..34) throws the parameters out:
#   the spectral radius of $W_{hh}$ jumps from 1.3 to 1.47..2.41 and the tanh saturates, so after that one step the
#   growth through time is $4\times10^{-11}$ to 0.17 and never again exceeds 0.35. The later blow-up is the
#   optimizer's in a saturated network: the first norm spike (steps 3 to 6) comes at a growth of $3\times10^{-10}$
#   to 0.31, not through time.
# - **With clipping**, the first steps are 0.2 long: the spectral radius stays at 1.31..1.33, the growth after one
#   step is 1.2 to 3.1, and along training it stays near 1 (its peaks over the later steps: 4.7 to 9.7).
#   One clipped run (seed 3) has a norm spike at step 164 where the growth is 6.5, a spike through time, and
#   survives it.
#
# So here the gradient that explodes through time is the one at the start, and one unclipped step along it is what
# ruins the runs; the spikes that follow are the diverging optimizer. Clipping bounds that step; the next experiment
# shows the same on a loss surface one can draw.
#
# ### 6b. Pascanu's cliff on a one-unit RNN
#
# Pascanu, Mikolov & Bengio (2013, section 3, fig. 6) draw the loss surface of a one-unit recurrent network. Here:
# $h_t = w \tanh(h_{t-1}) + b$ for $t = 1 .. 50$ from $h_0 = 0.5$, loss $L = (h_{50} - 0.7)^2$
# (`minirnn.analysis.cliff`, with the exact gradient by BPTT written out for the scalar case). For $w > 1$ the map
# has two stable fixed points while $|b|$ is small; where one of them disappears (a saddle-node bifurcation),
# $h_{50}$ jumps to the other and the loss has a wall. Gradient descent (lr 0.05, 100 steps) starts at
# $(w, b) = (3.25, -0.25)$, without and with clipping at 1.

# %%
cliff_res = vanishing.cliff_demo(n=41 if SMALL else 201)
fig = vanishing.plot_cliff(cliff_res)
plt.show()
for name, d in vanishing.cliff_summary(cliff_res).items():
    print(f"{name:<9} largest gradient norm {d['max_grad_norm']:.3g} at step {d['max_grad_step']} "
          f"(|dh_T/dh_0| there {d['growth_at_max']:.2g}); longest step {d['longest_step']:.3g}; final loss "
          f"{d['final_loss']:.2g} at (w, b) = ({d['final_point'][0]:.2f}, {d['final_point'][1]:.2f})")

# %% [markdown]
# Both descents first run along the foot of the wall (the edge of the bright region) towards the valley of low
# loss. At step 13, at $(w, b) = (1.29, -0.10)$, the unclipped one meets a gradient of norm $1.2 \cdot 10^{3}$;
# there $|\partial h_{50}/\partial h_0| = 43$: a change early in the sequence is amplified through the 50 steps
# (at the clipped descent's largest gradient, step 15, it is $3 \cdot 10^{-86}$). One step 60 long throws it to
# $(25.5, 55.2)$, far off the picture; it ends at $(-14.5, 15.2)$ (where it happens to fit the target too, loss
# $10^{-14}$). The clipped descent meets gradients up to 12, never moves more than lr $\times$ 1 = 0.05 per step,
# and ends beside the wall at $(1.17, -0.02)$ with loss $3 \cdot 10^{-3}$. Clipping does nothing for a
# *vanishing* gradient, which it can only shrink.
#
# ## 7. What actually learns: success rate against T, over seeds
#
# The measurements above are about the gradient at initialisation. Whether a model *learns* is a different
# question, and it has to be answered by training it, over seeds. `vanishing.learnability` trains seven
# configurations on the adding problem at $T = 25, 50, 100$, five seeds each (H = 32, Adam lr $10^{-2}$, clipping 1,
# 400 steps of 32 fresh sequences), and counts a run as **solved** when its held-out MSE is below **0.05**.
# Predicting 1 always scores 1/6; a model that remembers only one of the two numbers scores 1/12.
#
# | configuration | what it changes |
# |---|---|
# | tanh RNN, default | PyTorch's init |
# | tanh RNN, orthogonal $W_{hh}$ | `minirnn.init.orthogonal_` (Saxe et al. 2014) |
# | IRNN | ReLU with $W_{hh} = I$, biases 0 (`minirnn.init.identity_`; Le, Jaitly & Hinton 2015) |
# | LSTM, default / forget bias 1 / chrono | `minirnn.init.forget_bias_`, `minirnn.init.chrono_` (Tallec & Ollivier 2018: $b_f = \log U(1, T-1)$, $b_i = -b_f$) |
# | GRU, default | PyTorch's init |
#
# At full size the runs are read from `docs/results/vanishing/learnability.jsonl`, written by the command in the
# introduction (each run is written as it finishes; the same call resumes an interrupted sweep and, run here with
# the same settings, finds every run done).

# %%
results = Path(minirnn.__file__).resolve().parents[1] / "docs" / "results" / "vanishing" / "learnability.jsonl"
learn_kw = (dict(Ts=(5, 8), seeds=2, steps=3, hidden=6, batch=4, path=None, n_jobs=1) if SMALL else
            dict(Ts=(25, 50, 100), seeds=5, steps=400, path=str(results) if results.exists() else None))
learn = vanishing.learnability(**learn_kw)
fig = vanishing.plot_learnability(learn)
plt.show()
print(f"solved = held-out MSE < {learn['threshold']}; seeds per point: {learn['test'].shape[1]}")
print(f"{'configuration':<34}" + "".join(f"{'T = ' + str(T):>26}" for T in learn["Ts"]))
for label, rate, test in zip(learn["labels"], learn["success"], learn["test"]):
    cells_ = [f"{int(round(r * test.shape[0]))}/{test.shape[0]}, {np.nanmedian(m):.3f} [{np.nanmin(m):.3f}, "
              f"{np.nanmax(m):.3f}]" for r, m in zip(rate, test.T)]
    print(f"{label.replace('$', ''):<34}" + "".join(f"{c:>26}" for c in cells_))
print("(each entry: solved/seeds, median MSE [min, max])")

# %% [markdown]
# The full-size sweep (the table above, 5 seeds per entry, 400 steps): the GRU solves every length, 5 of 5 seeds; the
# LSTM with chrono init 5, 4 and 4 of 5 at $T = 25, 50, 100$. The LSTM at PyTorch's default init and with forget bias
# 1 solve $T = 25$ in 3 of 5 seeds and never $T = 50$ or 100 at this budget; the IRNN solves $T = 25$ in 3 and $T = 50$
# in 1 of 5; the tanh RNN, default or orthogonal, never beats predicting 1. The gradient at init does not predict
# this ordering: at $T = 100$ the GRU's ratio ($\approx 10^{-20}$, section 2) is as small as the LSTM's, and only the
# GRU learns. These are statements about 400 steps: with more steps more runs are solved (exercise 3), and the
# `benchmarks/learning.py` sweep at 5000 steps is the command for the longer budget.
#
# ## 8. Try it: sliders
#
# Move the sliders: the profile is measured again on every change (exact, one backward pass). Without `ipywidgets`
# (`pip install ipywidgets`), the cell draws a static grid of four settings instead.

# %%
fig = interactive.update(cell="lstm", gain=1.0, bias=1.0, T=25 if SMALL else 100)   # where the sliders start
plt.show()
explorer = interactive.explorer(use_widgets=False if SMALL else None)   # sliders, or the static grid
explorer

# %% [markdown]
# ## Summary
#
# - The gradient reaching step $t$ is a product of $T-1-t$ Jacobians. At PyTorch's init $\sigma_{\max}(W_{hh})
#   \approx 1.1 > 1$, so Pascanu's sufficient condition does not hold; the decay comes from the spectral radius
#   (about 0.59) and the tanh slopes.
# - Describe a profile by its first-step drop and its mid-range slope: an LSTM with forget bias 3 keeps 0.13 in one
#   step and then stays flat.
# - Keras' defaults (orthogonal $W_{hh}$, forget bias 1) are not PyTorch's; compare them before quoting "default".
# - A non-normal $W_{hh}$ can amplify for a dozen steps while every eigenvalue is below 0.7.
# - Whether a model learns is measured by training it over seeds (section 7), not read off its gradient at init.
#
# ## Exercises
#
# 1. Plot $\sigma_{\max}(W_{hh})$ and $\rho(W_{hh})$ at PyTorch's init against $H$ (8 to 512). Do they approach
#    $2/\sqrt{3}$ and $1/\sqrt{3}$?
# 2. Measure the tanh RNN's profile with inputs scaled by 0.01 (`gradient_profile(layer, 0.01 * x, ...)`). Which of
#    the figures above predicts the change?
# 3. Rerun section 7 with 1500 steps (`vanishing.learnability(steps=1500, path="mine.jsonl")`). Which success rates
#    change? Interrupt it and run it again: what is recomputed?
# 4. Find, with the sliders, the smallest forget bias at which the LSTM's mid-range factor at $T = 100$ is above 0.99.
# 5. Run section 7's sweep on several processes (`n_jobs=2`) and, if you have one, on a Dask cluster inside
#    `joblib.parallel_config(backend="dask")`. Are the results identical?
