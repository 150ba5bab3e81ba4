# %% [markdown]
# # 2 · Backpropagation through time, and how to know it is right
#
# ## What you will learn
#
# - how to derive the gradient of a loss with respect to every weight of a vanilla RNN: *backpropagation through
#   time* (BPTT), one chain rule per line;
# - how to implement it in fifteen lines of NumPy, and how to prove it correct with finite differences (`gradcheck`);
# - why the step `eps` of a finite difference has a sweet spot: the V-shaped error curve;
# - what a wrong gradient looks like, in the report and in the curve, so that you recognise your own bugs.
#
# Notebook 1 built the forward pass; here we go backwards.

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

import gradcheck
import minirnn
from gradcheck.plot import plot_eps_sweep
from minirnn import cells

from minirnn.analysis import style  # noqa: E402

style.use()                                             # the house style: 150 dpi, text >= 10 pt, rendered math
np.set_printoptions(precision=4, suppress=True, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")

# %% [markdown]
# ## 1. The loss, and why it is not a plain sum
#
# To check a gradient we need a scalar loss. We use
#
# $$L = \sum_{t=0}^{T-1} \sum_{b,k} h_t[b,k]\, G_t[b,k],$$
#
# with a **fixed random** array $G$ of the shape of the outputs, `(T, B, H)`. Then $\partial L / \partial h_t = G_t$:
# $G$ plays the part of "the gradient arriving from the layers above". Why not simply $L = \sum h$? Its upstream
# gradient is all ones, the same for every unit and every step, and bugs that swap or mix units, or cancel between
# them, can go unseen. Random weights give every entry its own.
#
# ## 2. Deriving BPTT
#
# Forward (notebook 1), with $a_t$ the pre-activation:
#
# $$a_t = x_t W_{ih}^\top + b_{ih} + h_{t-1} W_{hh}^\top + b_{hh}, \qquad h_t = \tanh(a_t).$$
#
# Write $\delta h_t = \partial L / \partial h_t$ for the **total** gradient reaching $h_t$ (a `(B, H)` array), and
# likewise $\delta a_t$. The state $h_t$ influences the loss in two ways: directly (through $G_t$) and through the next
# step's pre-activation $a_{t+1}$. The chain rule adds the two:
#
# $$\delta h_t = G_t + \delta a_{t+1} W_{hh}, \qquad \delta h_{T-1} = G_{T-1}.$$
#
# (Shapes: $\delta a_{t+1}$ is `(B, H)`, $W_{hh}$ is `(H, H)`; in the forward pass $h_t$ was multiplied by
# $W_{hh}^\top$, so going back it is multiplied by $W_{hh}$.) Through the tanh, using $\tanh' = 1 - \tanh^2$:
#
# $$\delta a_t = \delta h_t \odot (1 - h_t^2).$$
#
# Every parameter is used at every step, so its gradient is a **sum over time**; each term is an outer product of
# $\delta a_t$ with what $a_t$ multiplied:
#
# $$\frac{\partial L}{\partial W_{hh}} = \sum_t \delta a_t^\top h_{t-1}, \qquad
#   \frac{\partial L}{\partial W_{ih}} = \sum_t \delta a_t^\top x_t, \qquad
#   \frac{\partial L}{\partial b_{ih}} = \frac{\partial L}{\partial b_{hh}} = \sum_{t,b} \delta a_t,$$
#
# $$\frac{\partial L}{\partial x_t} = \delta a_t W_{ih}, \qquad \frac{\partial L}{\partial h_{-1}} = \delta a_0 W_{hh}.$$
#
# Check the shapes: $\delta a_t^\top h_{t-1}$ is `(H, B) @ (B, H) = (H, H)`, the shape of $W_{hh}$. The loop runs
# **backwards** in time, because $\delta h_t$ needs $\delta a_{t+1}$.

# %% [markdown]
# ## 3. Implementing it
#
# Every array the loss depends on, inputs and initial state included, goes into one dict `p`. That is the form
# `gradcheck` wants: it perturbs these very arrays in place and calls the loss again.

# %%
T, B, I, H = (4, 2, 3, 4) if SMALL else (6, 3, 4, 5)
rng = np.random.default_rng(0)
p = {"x": rng.normal(size=(T, B, I)), "h0": rng.normal(size=(B, H)),
     "W_ih": rng.normal(scale=0.5, size=(H, I)), "W_hh": rng.normal(scale=0.5, size=(H, H)),
     "b_ih": rng.normal(scale=0.1, size=H), "b_hh": rng.normal(scale=0.1, size=H)}
G = rng.normal(size=(T, B, H))                          # the fixed upstream gradient


def forward(p):
    """hs[t + 1] = h_t for t = 0..T-1 and hs[0] = h_{-1}; returns hs (T + 1, B, H) and the loss."""
    hs = np.empty((T + 1, B, H))
    hs[0] = p["h0"]
    for t in range(T):
        hs[t + 1] = np.tanh(p["x"][t] @ p["W_ih"].T + p["b_ih"] + hs[t] @ p["W_hh"].T + p["b_hh"])
    return hs, float(np.sum(hs[1:] * G))


def loss(p):
    return forward(p)[1]


def backward(p, hs):
    """BPTT, the equations above line by line."""
    g = {name: np.zeros_like(value) for name, value in p.items()}
    dh = np.zeros((B, H))                               # delta a_{t+1} W_hh, nothing yet after the last step
    for t in reversed(range(T)):
        dh = G[t] + dh                                  # total gradient at h_t                      (B, H)
        da = dh * (1 - hs[t + 1] ** 2)                  # through the tanh                           (B, H)
        g["W_hh"] += da.T @ hs[t]                       # (H, B) @ (B, H): uses h_{t-1} = hs[t]
        g["W_ih"] += da.T @ p["x"][t]                   # (H, B) @ (B, I)
        g["b_ih"] += da.sum(axis=0)
        g["b_hh"] += da.sum(axis=0)
        g["x"][t] = da @ p["W_ih"]                      # (B, H) @ (H, I)
        dh = da @ p["W_hh"]                             # on to h_{t-1}                              (B, H)
    g["h0"] = dh
    return g


hs, L = forward(p)
grads = backward(p, hs)
print(f"loss {L:.6f}")
for name, value in grads.items():
    print(f"dL/d{name:<5} shape {value.shape}")

# %% [markdown]
# minirnn's readable cell, `cells.rnn.backward`, is the same computation organised for speed: it stores every
# $\delta a_t$ and computes each weight gradient as **one** matrix product after the loop. It should agree to
# round-off:

# %%
out, h_n, cache = cells.rnn.forward(p["x"], p["h0"], p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
lib = cells.rnn.backward(G, np.zeros((B, H)), cache)     # dout = G, no gradient on the final state beyond that
print({name: float(np.abs(lib[name] - grads[name]).max()) for name in grads})

# %% [markdown]
# Agreeing with another implementation is reassuring but proves little: both could share a mistake. The independent
# referee is the definition of the derivative.
#
# ## 4. Checking with finite differences
#
# For each entry $\theta_k$ of each array, `gradcheck` computes the central difference
#
# $$\frac{\partial L}{\partial \theta_k} \approx \frac{L(\theta + \varepsilon e_k) - L(\theta - \varepsilon e_k)}{2\varepsilon}$$
#
# in float64 and compares it with our analytic value $a$: an entry passes when
# $|a - n| \le \text{atol} + \text{rtol}\cdot\max(|a|, |n|)$ with rtol $= 10^{-5}$. The table has one row per tensor:
# the largest absolute and relative errors, the normwise error, the worst entry with both values, and a verdict.

# %%
report = gradcheck.check_gradients(loss, p, grads)
print(report)

# %% [markdown]
# Largest relative errors around $10^{-8}$ to $10^{-9}$, normwise errors around $10^{-10}$: that is as close as
# finite differences in float64 can get. Every tensor is checked separately, so a bug is located, not just detected.
#
# ## 5. The eps V-curve
#
# Why $\varepsilon = 10^{-6}$? The central difference has two errors pulling in opposite directions:
#
# - **truncation**: the Taylor remainder, about $\varepsilon^2 |L'''| / 6$, shrinks as $\varepsilon$ shrinks;
# - **round-off**: $L$ is computed with relative precision $u \approx 2.2\times 10^{-16}$, and dividing its error by
#   $2\varepsilon$ gives about $u |L| / \varepsilon$, which *grows* as $\varepsilon$ shrinks.
#
# Their sum is smallest where they meet, near $\varepsilon \approx (3u)^{1/3} \approx 10^{-5}$: on log-log axes the
# error traces a V, slope 2 on the right (large eps), slope −1 on the left. `gradcheck.eps_sweep` runs the same check
# for $\varepsilon = 10^{-2}, \dots, 10^{-10}$. In the figure the dashed line is the truncation term's slope
# ($\propto \varepsilon^2$), the dotted one the round-off term's ($\propto u/\varepsilon$), each drawn through the
# median error at its end of the sweep; the grey vertical line is the $\varepsilon = 10^{-6}$ that `check_gradients`
# uses; the green band is CS231n's "good" (below $10^{-7}$), the red one its "wrong" (above $10^{-2}$).

# %%
sweep_good = gradcheck.eps_sweep(loss, p, grads)
fig = plot_eps_sweep(sweep_good, title="A correct BPTT: every tensor traces the V")
plt.show()

# %% [markdown]
# ## 6. What a wrong gradient looks like
#
# The most common BPTT bug is an off-by-one in time: using the state *after* the step, $h_t$, where the formula has
# the state before it, $h_{t-1}$. Here it is, one character different from the correct line:
#
# ```python
# g["W_hh"] += da.T @ hs[t + 1]        # wrong: h_t instead of h_{t-1} = hs[t]
# ```

# %%
def backward_with_bug(p, hs):
    """backward() with one line changed."""
    g = backward(p, hs)                                 # everything else is right ...
    g["W_hh"] = np.zeros_like(p["W_hh"])                # ... but W_hh is summed again, with the bug
    dh = np.zeros((B, H))
    for t in reversed(range(T)):
        dh = G[t] + dh
        da = dh * (1 - hs[t + 1] ** 2)
        g["W_hh"] += da.T @ hs[t + 1]                   # the bug: h_t where the formula has h_{t-1} = hs[t]
        dh = da @ p["W_hh"]
    return g


bad = backward_with_bug(p, hs)
report_bad = gradcheck.check_gradients(loss, p, bad)
print(report_bad)
print("\npassed:", report_bad.passed, "  failing tensors:", [r.name for r in report_bad.rows if not r.passed])

# %% [markdown]
# Read the row of `W_hh`: relative errors of order one (the verdict "wrong" is CS231n's rule of thumb: above
# $10^{-2}$), the worst entry with its analytic and numeric values side by side, and every other tensor still fine.
# The bug is in `W_hh`'s line and nowhere else.
#
# A *small* bug is harder. Scale the bias gradient by 1.001, an error of 0.1%, the size of a typo in a constant:

# %%
tiny = dict(grads, b_ih=grads["b_ih"] * 1.001)
row = {r.name: r for r in gradcheck.check_gradients(loss, p, tiny).rows}["b_ih"]
print(f"b_ih off by 0.1%: max relative error {row.max_rel_error:.1e} -> {'ok' if row.passed else 'FAIL'}")
print("torch.autograd.gradcheck's default rtol=1e-3 would accept an error of", f"{row.max_rel_error:.1e}")

# %% [markdown]
# The relative error $|a-n|/(|a|+|n|)$ of a 0.1% bug is $5\times 10^{-4}$: below the tolerance $10^{-3}$ of PyTorch's
# `gradcheck`, above ours ($10^{-5}$). The eps sweep shows the difference between a bug and round-off at a glance: a
# correct gradient's error falls to the bottom of the V, a wrong one's stays **flat** whatever eps you choose, because
# no step size can make a difference quotient converge to the wrong number.

# %% tags=["readme-figure"]
sweep_bad = gradcheck.eps_sweep(loss, p, dict(bad, b_ih=tiny["b_ih"]))
fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 5.6))
plot_eps_sweep(sweep_good, ax=ax1, title="correct BPTT: a V for every tensor")
plot_eps_sweep(sweep_bad, ax=ax2, title="h_t for h_{t-1} in dW_hh, and b_ih x 1.001: flat lines")
ax2.set_ylim(ax1.get_ylim())
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 7. The same check on a whole LSTM layer
#
# `gradcheck` knows nothing of minirnn: it needs a loss that reads a dict of arrays, and the analytic gradients. A
# minirnn layer's `params` are its own arrays, so perturbing them in place changes the layer. Here is every gradient of
# a two-layer LSTM, its input and its initial states, against finite differences:

# %%
Tl, Bl, Il, Hl = (3, 2, 2, 3) if SMALL else (5, 2, 3, 4)
lstm = minirnn.LSTM(Il, Hl, num_layers=2, seed=0)
rng = np.random.default_rng(1)
inputs = {"x": rng.normal(size=(Tl, Bl, Il)), "h0": rng.normal(size=(2, Bl, Hl)), "c0": rng.normal(size=(2, Bl, Hl))}
G_out = rng.normal(size=(Tl, Bl, Hl))
point = {**lstm.params, **inputs}                       # the layer's own arrays and the inputs


def lstm_loss(point):
    out, _ = lstm(point["x"], (point["h0"], point["c0"]))
    return float(np.sum(out * G_out))


lstm_loss(point)
dx, (dh0, dc0) = lstm.backward(G_out)                   # BPTT by hand, fills lstm.grads
analytic = {**lstm.grads, "x": dx, "h0": dh0, "c0": dc0}
lstm_report = gradcheck.check_gradients(lstm_loss, point, analytic, title="two-layer LSTM")
print(lstm_report)

# %% [markdown]
# From the command line, `gradcheck` runs this for every cell and layer configuration of minirnn, and
# `gradcheck --target my_file.py:loss_and_grads` checks **your** function (README, "Checking gradients").
#
# ## Summary
#
# - BPTT: the gradient reaching $h_t$ is $G_t + \delta a_{t+1} W_{hh}$; through the tanh it is multiplied by
#   $1 - h_t^2$; weight gradients are sums over time of outer products.
# - Check every tensor separately with central differences in float64, a loss with a random upstream gradient, and a
#   strict tolerance.
# - The error against eps is a V for a correct gradient and a flat line for a wrong one.
#
# ## Exercises
#
# 1. Introduce the other classic bug, `dh = da @ p["W_hh"].T` (the transpose on the way back), run the check, and
#    predict which rows fail before you look. Why do *all* gradients that flow through earlier steps fail?
# 2. Replace $G$ by `np.ones_like(G)` (the loss becomes a plain sum) and re-run the check of exercise 1. Does it still
#    fail? Then invent a bug that a plain-sum loss cannot see (hint: what is symmetric about an all-ones $G$?).
# 3. Derive and implement BPTT for the ReLU RNN ($h_t = \max(a_t, 0)$). Check it; when an entry of $a_t$ lies within
#    eps of 0 the finite difference straddles the kink: pass `preactivations=` to `check_gradients` and read the
#    `kinks` column.
# 4. Truncated BPTT: let `backward` stop carrying `dh` after $k$ steps. For $k = 1, 2, \dots, T$ compute the relative
#    error of `dW_hh` against the full gradient. How fast does it shrink, and what does that tell you about how much
#    the early steps contribute (notebook 4)?
# 5. Run `eps_sweep` with float32 arithmetic inside `forward` (cast `p` to float32 in the loss and back). Where is the
#    bottom of the V now, and how low does it go? Why does `gradcheck` refuse float32 arrays?
