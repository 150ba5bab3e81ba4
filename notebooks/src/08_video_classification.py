# %% [markdown]
# # 8 · Video classification: when does recurrence help?
#
# ## What you will learn
#
# - how to classify a video with the LRCN design (Donahue et al. 2015): one frame encoder shared by every frame, a
#   recurrent layer over the encoded frames, a linear map on its last state, and BPTT flowing into the encoder;
# - how to build a label that lives *in time* (the direction of motion) and one that lives in every frame (the
#   digit), and how to prove which is which with controls: the mean frame, shuffled frames, a single frame;
# - that recurrence earns its keep only when the answer is in the order of the frames or must be remembered: the
#   memory variant flashes a digit once and asks for it after $K$ frames of noise.
#
# The data: small videos of handwritten digits moving on a canvas, in the spirit of Moving MNIST (Srivastava et al.
# 2015). The glyphs are the 1797 8x8 digits of the UCI optical-digits set (CC BY 4.0), shipped with minirnn; the last
# 20% of each digit's images are held out, so the test videos show handwriting the model never saw.

# %%
import os

# One BLAS thread: the matrices here are small, and on a busy 2-core machine OpenBLAS's threads spin and wait on each
# other. This must run before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds there.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
import matplotlib.pyplot as plt
import numpy as np

from gradcheck import check_gradients
from minirnn import data
from minirnn.models.video import VideoClassifier
from minirnn.nn.optim import Adam
from minirnn.training.loop import fit
from minirnn.training.recipes import make
from minirnn.training.recipes_video import mean_frame_accuracy, single_frame_accuracy

plt.rcParams.update({"figure.dpi": 80, "font.size": 10})
np.set_printoptions(precision=3, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")
STEPS = 60 if SMALL else 2000               # training steps per model (batches of 32 fresh videos)
N_TEST = 200 if SMALL else 1000             # held-out videos per evaluation

# %% [markdown]
# ## 1. Three kinds of video
#
# `data.moving_digits(n, T, label=...)` returns frames `(T, n, size, size)` in $[0, 1]$ and one label per video.
#
# - **direction** (4 classes, 10 frames of 20x20): one digit crosses the canvas sideways (right or left), then a
#   second one moves up or down; the label is the pair of directions. Motion wraps around the edges, so that the
#   digit's place in any one frame says nothing about where it is going.
# - **digit** (10 classes, 5 frames of 12x12): one digit slides in one of four directions; the label is the digit.
# - **memory** (10 classes, $K + 1$ frames of 12x12): the digit is flashed in frame 0, then $K$ frames of uniform
#   noise follow.

# %%
def filmstrip(frames, title, axes):
    for t, ax in enumerate(axes):
        ax.set_xticks([]), ax.set_yticks([])
        if t < len(frames):
            ax.imshow(frames[t], cmap="gray_r", vmin=0, vmax=1)
            ax.set_title(f"t={t}", fontsize=9)
        else:
            ax.axis("off")
    axes[0].set_ylabel(title, fontsize=10)

fig, rows = plt.subplots(3, 10, figsize=(13, 4.4))
x, y = data.moving_digits(1, 10, label="direction", split="test", seed=1)
filmstrip(x[:, 0], "direction:\n" + " then ".join(data.DIRECTIONS[y[0]]), rows[0])
x, y = data.moving_digits(1, 5, label="digit", split="test", size=12, seed=2)
filmstrip(x[:, 0], f"digit: {y[0]}", rows[1])
x, y = data.moving_digits(1, 10, label="memory", split="test", size=12, seed=3)
filmstrip(x[:, 0], f"memory: {y[0]}\n(K=9)", rows[2])
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 2. Why the direction label lives only in the order of the frames
#
# A model that ignores the order sees, in effect, the *set* of frames. For any label, that set is one horizontal
# path of one digit and one vertical path of another, at random places: the same distribution for all four classes.
# So the mean frame, averaged over many videos of a class, should look the same for every class. (A single digit
# moving in one of four directions would not do: its path shows the axis of motion, and the order-blind controls
# would reach 50%. Two digits moving *at the same time* would not do either: shuffling keeps the pair of positions
# in each frame, which shows the diagonal of their joint motion.)

# %%
x, y = data.moving_digits(400 if SMALL else 4000, 10, label="direction", seed=4)
fig, axes = plt.subplots(1, 4, figsize=(10, 2.8))
for c, ax in enumerate(axes):
    ax.imshow(x[:, y == c].mean(axis=(0, 1)), cmap="magma", vmin=0)
    ax.set_title(" then ".join(data.DIRECTIONS[c]), fontsize=10)
    ax.set_xticks([]), ax.set_yticks([])
fig.suptitle("mean frame of each direction class: no class stands out", fontsize=11)
fig.tight_layout()
plt.show()

# %% [markdown]
# ## 3. The model, and its gradient
#
# `VideoClassifier(cell, frame_shape, H, C)` computes, for frames $x_0, \dots, x_{T-1}$:
#
# $$e_t = \tanh(W_e \,\mathrm{vec}(x_t) + b_e), \qquad h_t = \mathrm{cell}(e_t, h_{t-1}), \qquad
#   \text{logits} = W_o h_{T-1} + b_o .$$
#
# The same $W_e$ reads every frame, so its gradient is a sum over time:
# $\partial L/\partial W_e = \sum_t \big(\delta e_t \odot (1 - e_t^2)\big)^\top \mathrm{vec}(x_t)$, where
# $\delta e_t$ is what BPTT through the recurrent layer delivers at step $t$. Before training anything, the
# finite-difference check of every tensor, the frames included:

# %%
tiny = VideoClassifier("gru", (5, 5), 3, 4, encoder_size=4, seed=0, backend="numpy")
rng = np.random.default_rng(0)
params = {"frames": rng.uniform(size=(4, 2, 5, 5)), **tiny.params}
G = rng.normal(size=(2, 4))
loss = lambda p: float(np.sum(tiny(p["frames"]) * G))
loss(params)
report = check_gradients(loss, params, {"frames": tiny.backward(G), **tiny.grads}, title="VideoClassifier (GRU)")
print(report)

# %% [markdown]
# ## 4. Direction: the recurrent model against three order-blind controls
#
# `make("video", label="direction")` is the recipe of `minirnn train video`: fresh training videos every step, 1000
# held-out videos of held-out glyphs, `accuracy` and `shuffled_accuracy` (the same videos, frames in random order).
# The controls: softmax regression on the mean frame, and `FrameClassifier`, the same encoder and a linear map on
# the middle frame alone.

# %%
def train(label, cell="gru", T=None, steps=STEPS, seed=0):
    exp = make("video", cell=cell, T=T, label=label, seed=seed, n_test=N_TEST)
    fit(exp.model, Adam(exp.model, lr=3e-3), exp.train_step, steps, rng=exp.rng, clip_norm=1.0, progress=False)
    return exp, exp.evaluate(exp.model)

def with_controls(label):
    """Train the GRU on ``label``; its accuracy on ordered and shuffled frames, and the two controls'."""
    exp, scores = train(label)
    result = {"GRU, frames in order": scores["accuracy"], "GRU, shuffled frames": scores["shuffled_accuracy"],
              "mean frame (logistic)": exp.baseline[1],
              "single frame": single_frame_accuracy(label, steps=STEPS, n_test=N_TEST)}
    for name, value in result.items():
        print(f"{name:>24}: {value:.3f}")
    return result

direction = with_controls("direction")

# %% [markdown]
# ## 5. Digit: a label that every frame shows
#
# Here one frame suffices, so the single-frame classifier should do about as well as the whole recurrent model:
# recurrence has nothing to add when the label does not live in time.

# %%
digit = with_controls("digit")

# %% tags=["readme-figure"]
fig, (ax0, ax1) = plt.subplots(1, 2, figsize=(12, 3.8), gridspec_kw={"width_ratios": [1.25, 1]})
x, y = data.moving_digits(1, 10, label="direction", split="test", seed=1)
ax0.imshow(np.concatenate(list(x[:, 0]), axis=1), cmap="gray_r", vmin=0, vmax=1)
ax0.set(xticks=20 * np.arange(10) + 10, xticklabels=[f"t={t}" for t in range(10)], yticks=[],
        title="a held-out video: " + " then ".join(data.DIRECTIONS[y[0]]))
names = list(direction)
w = 0.38
pos = np.arange(len(names))
ax1.bar(pos - w / 2, [direction[n] for n in names], w, label="label: direction (chance 0.25)", color="tab:blue")
ax1.bar(pos + w / 2, [digit[n] for n in names], w, label="label: digit (chance 0.10)", color="tab:orange")
ax1.axhline(0.25, color="tab:blue", ls="--", lw=1)
ax1.axhline(0.10, color="tab:orange", ls="--", lw=1)
ax1.set_xticks(pos, [n.replace(", ", ",\n") for n in names], fontsize=9)
ax1.set(ylabel="held-out accuracy", ylim=(0, 1.05), title=f"one seed, {STEPS} steps each")
ax1.legend(fontsize=9, loc="upper right")
fig.tight_layout()
plt.show()

# %% [markdown]
# Direction: the GRU that reads the frames in order is (nearly) always right; the same trained model fed the same
# frames shuffled falls to chance, and so do both controls that never see the order. Digit: the single frame does
# about as well as the recurrent model. These are one seed; `python benchmarks/video.py` repeats them over five
# seeds (the README's table).
#
# ## 6. Memory: hold the digit through K frames of noise
#
# Now the digit appears once, in frame 0, on a 12x12 canvas; then $K$ frames of uniform noise. The last state must
# still carry the digit. We train each cell at two delays.

# %%
Ks = (1, 4) if SMALL else (1, 10)
memory = {}
for cell in ("rnn", "lstm", "gru"):
    for K in Ks:
        _, s = train("memory", cell=cell, T=K + 1, steps=STEPS if SMALL else 2000)
        memory[cell, K] = s["accuracy"]
        print(f"{cell:>4}, K={K:>2}: accuracy {s['accuracy']:.3f}")

fig, ax = plt.subplots(figsize=(6, 3.6))
for cell, color in (("rnn", "tab:red"), ("lstm", "tab:blue"), ("gru", "tab:green")):
    ax.plot(Ks, [memory[cell, K] for K in Ks], "o-", color=color, label=cell)
ax.axhline(0.1, color="gray", ls="--", lw=1, label="chance")
ax.set(xlabel="K, noise frames after the flash", ylabel="held-out accuracy", ylim=(0, 1),
       title=f"memory: one seed, {STEPS if SMALL else 2000} steps each")
ax.legend(fontsize=9)
plt.show()

# %% [markdown]
# With one noise frame every cell remembers; after ten, the answer depends on how far gradients reach back through
# the noise within the training budget: the benchmark (five seeds, 3000 steps) shows the spread, and the GRU's
# gated path is the one that learns it first. This is the vanishing-gradient story of notebook 4 in a new costume.
#
# ## Summary
#
# - LRCN = shared frame encoder + recurrent layer + linear map on the last state; BPTT sums the encoder's gradient
#   over all frames.
# - A label lives in time when the frames' order carries it: prove it with order-blind controls (mean frame,
#   shuffled frames, one frame) that stay at chance while the recurrent model succeeds.
# - When any frame shows the answer, a single-frame classifier is as good: do not reach for recurrence there.
#
# ## Exercises
#
# 1. Train the direction model with `cell="rnn"` and `cell="lstm"`. Which learns fastest? Is the difference larger
#    than the spread over three seeds?
# 2. Make the direction task *easier for the controls*: generate single-digit videos that move in one of four
#    directions (modify `moving_digits` or write your own generator). Show that the mean-frame control now reaches
#    about 50%, and explain why.
# 3. Evaluate the direction model on the frames played backwards (`x[::-1]`). What accuracy do you expect, and why?
# 4. In the memory task, move the flash to the last frame instead of the first. What happens to the accuracy
#    against K, and what does that say about where the difficulty lies?
# 5. Replace the `Linear` + tanh encoder by a small convolution: `minirnn.nn.Conv2d(1, 8, 3, padding=1)` (im2col,
#    with its own backward, checked against finite differences in `tests/nn/test_conv.py`), tanh, then the Linear.
#    Write the model's backward and check it with `gradcheck`. Does the digit accuracy improve? Why would
#    translation invariance help here?
