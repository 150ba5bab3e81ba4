# %% [markdown]
# # 5 · A character-level language model
#
# ## What you will learn
#
# - how to turn text into a next-character prediction problem: a vocabulary, integer ids, parallel streams;
# - the model: an embedding, an LSTM and a linear read-out at every step (`minirnn.lm.CharLM`);
# - truncated backpropagation through time: carry the hidden state from chunk to chunk, cut the gradient;
# - how to judge the loss (bits per character, against a bigram baseline) and how temperature shapes the samples;
# - how to look inside: find a unit of the trained LSTM that tracks string literals or indentation, and draw it.
#
# This is Karpathy's *char-rnn* in miniature, trained in a few minutes on two CPU cores. Do not expect
# Shakespeare: expect the shapes of words, indentation and Python syntax to appear out of noise.

# %%
import os

# One BLAS thread: the matrices here are small, and on a busy 2-core machine OpenBLAS's threads spin and wait on each
# other, which made these notebooks up to 30x slower. This must run before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds there.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
import time

import matplotlib.pyplot as plt
import numpy as np

from minirnn import optim, tasks
from minirnn.data.code_features import code_features
from minirnn.experiments import bigram_loss
from minirnn.lm import CharLM
from minirnn.models.char_units import plot_unit_text, unit_activations, unit_correlations
from minirnn.losses import softmax_cross_entropy
from minirnn.train import fit, num_chunks, plot_history, stream_chunk

from minirnn.analysis import style  # noqa: E402

style.use()                                             # the house style: 150 dpi, text >= 10 pt, rendered math
np.set_printoptions(linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")

# %% [markdown]
# ## 1. The corpus
#
# `tasks.char_corpus()` reads a few modules of the Python standard library that this interpreter ships with (prose
# docstrings and code, about 200 kB): offline, the same on every run. The **vocabulary** is the set of distinct
# characters, each with an integer id. The last 10% is held out, unshuffled: the model is judged on text it never saw.

# %%
text = tasks.char_corpus(max_chars=20_000 if SMALL else None)
vocab = tasks.Vocab.from_text(text)
train_text, test_text = tasks.train_val_split(text, 0.1)
train_ids, test_ids = vocab.encode(train_text), vocab.encode(test_text)
print(f"{len(text):,} characters, vocabulary of {len(vocab)}: {''.join(vocab.chars[:60])!r} ...")
print(f"training {len(train_ids):,} ids, held out {len(test_ids):,}")
print("\n" + text[3000:3400])

# %% [markdown]
# ## 2. The task: predict the next character
#
# At every position the model sees the characters so far and outputs a probability for each of the $V$ characters
# that could come next; the loss is the cross-entropy, $-\ln p(\text{true next character})$, averaged over positions,
# in **nats per character**. Two numbers to beat:
#
# - guessing uniformly: $\ln V$;
# - a **bigram** model, which predicts from the previous character alone by counting pairs in the training text. An
#   RNN must beat it to show that it uses more than one character of context.

# %%
V = len(vocab)
uniform = np.log(V)
bigram = bigram_loss(train_ids, test_ids, V)
LN2 = np.log(2)                                         # nats / ln 2 = bits
print(f"uniform guessing: {uniform:.3f} nats = {uniform / LN2:.2f} bits per character   "
      f"bigram counts (add-one): {bigram:.3f} nats = {bigram / LN2:.2f} bits per character")

# %% [markdown]
# ## 3. Parallel streams and truncated BPTT
#
# Backpropagating through 180,000 steps at once is neither possible nor useful. Instead the training text is cut into
# $B$ equally long **streams** laid side by side (`tasks.batchify`: column $b$ is the $b$-th piece of the text), and
# read in chunks of $T$ steps. The input chunk is `data[s:s+T]`, the target the same shifted by one step.
#
# The hidden state at the end of a chunk becomes the initial state of the next chunk of the same streams, so the
# model can carry context across the boundary; but the backward pass stops there: the carried state is a plain array,
# the previous chunk's cache is gone. That is **truncated BPTT**: context flows forward indefinitely, gradient flows
# back at most $T$ steps.

# %%
B, T = (8, 16) if SMALL else (16, 32)
data = tasks.batchify(train_ids, B)                     # (L, B): B parallel streams
x, y, first = stream_chunk(data, 0, T)                  # (T, B) inputs and (T, B) targets, one step later
print("data", data.shape, "  chunk x", x.shape, " y", y.shape, "  chunks per pass:", num_chunks(len(data), T))
print("stream 0, inputs :", repr(vocab.decode(x[:, 0])))
print("stream 0, targets:", repr(vocab.decode(y[:, 0])))

# %% [markdown]
# ## 4. The model
#
# $$e_t = E[x_t], \qquad (h_t, c_t) = \mathrm{LSTM}(e_t, h_{t-1}, c_{t-1}), \qquad
#   \text{logits}_t = h_t W^\top + b, \qquad p(x_{t+1}) = \mathrm{softmax}(\text{logits}_t).$$
#
# The embedding $E$ (`(V, 32)`) gives each character a learned vector; the LSTM (notebook 3) reads them; a linear map
# gives $V$ logits at every step. Before training its loss is close to $\ln V$, and its samples are noise.

# %%
H = 32 if SMALL else 128
model = CharLM(vocab, H, cell="lstm", embed_dim=32, seed=0)
print(model, f"  {model.num_parameters():,} parameters")
logits, state = model(x)                                # (T, B, V), and the state (h_n, c_n)
print("logits", logits.shape, "  h_n", state[0].shape, "  c_n", state[1].shape)
print(f"loss before training {softmax_cross_entropy(logits, y)[0]:.3f}  (ln V = {uniform:.3f})")
print("untrained sample:", repr(model.sample("def ", 60, temperature=1.0, seed=0)))

# %% [markdown]
# ## 5. Training
#
# One training step: take the next chunk, run it from the carried state (zeros when the streams start over), compute
# the cross-entropy and its gradient with respect to the logits, and backpropagate through fc, the LSTM and the
# embedding. `minirnn.train.fit` does the rest: gradient clipping (norm 1), the Adam update, the history and a
# held-out evaluation every so often.

# %%
def train_step(model, rng, step, carry):
    x, y, first = stream_chunk(data, step, T)
    logits, state = model(x, None if first else carry)  # the carried state enters; no gradient will flow back into it
    loss, dlogits = softmax_cross_entropy(logits, y)
    model.backward(dlogits)                             # BPTT over these T steps only
    return loss, float(np.mean(logits.argmax(-1) == y)), state


test_streams = tasks.batchify(test_ids, 8)              # the held-out text as 8 streams, read once from start to end


def evaluate(model):
    total, count, state = 0.0, 0, None
    for s in range(0, len(test_streams) - 1, 256):
        x, y = test_streams[s:s + 256], test_streams[s + 1:s + 257]
        logits, state = model(x[:len(y)], state)
        total += softmax_cross_entropy(logits, y)[0] * y.size
        count += y.size
    return {"test_loss": total / count}


steps = 20 if SMALL else 3000                        # full size: about 8 passes over the training text
start = time.perf_counter()
history = fit(model, optim.Adam(model, lr=5e-3), train_step, steps, rng=np.random.default_rng(0),
              evaluate=evaluate, eval_every=max(1, steps // 4), clip_norm=1.0, progress=False)
print(f"{steps} steps in {time.perf_counter() - start:.0f} s, {steps * B * T / len(train_ids):.1f} passes over the "
      f"training text; held-out loss {history['eval']['test_loss'][-1]:.3f} nats = "
      f"{history['eval']['test_loss'][-1] / LN2:.2f} bits per character (bigram {bigram / LN2:.2f}, uniform "
      f"{uniform / LN2:.2f} bits)")

# %% tags=["readme-figure"]
fig, ax = plt.subplots(figsize=(9, 4.4))
w = max(1, steps // 40)
train_bits = np.convolve(np.asarray(history["loss"]) / LN2, np.ones(w) / w, mode="valid")
ax.plot(np.arange(w, len(history["loss"]) + 1), train_bits, color=style.color("lstm"), lw=1.2, alpha=0.5,
        label=f"training loss ({w}-step mean)")
ax.plot(history["eval_step"], np.asarray(history["eval"]["test_loss"]) / LN2, "o-", color=style.color("lstm"),
        lw=2.5, label="held-out loss")
ax.axhline(bigram / LN2, color="0.3", ls="--", label=f"bigram counts: {bigram / LN2:.2f} bits/char")
ax.axhline(uniform / LN2, color="0.3", ls=":", label=f"uniform, $\\log_2 V$: {uniform / LN2:.2f} bits/char")
ax.set(xlabel="training step", ylabel="cross-entropy (bits per character)",
       title=f"Character LSTM (H = {H}) on the standard-library corpus")
ax.legend(loc="upper right")
plt.show()

# %% [markdown]
# Compare the printed held-out loss with the bigram line: below it, the LSTM is using more than one character of
# context. In the full-size run the held-out curve is below the bigram line from its first point (step 750) on; at
# the tests' small size (20 steps) it does not get there. Over 5 seeds the held-out loss is lowest near step 2000
# and rises a little by step 3000 (section 7): after about five passes over the text the model begins to overfit.
#
# ## 6. Sampling, and temperature
#
# To generate text, feed a prime, draw the next character from $p = \mathrm{softmax}(\text{logits} / \tau)$, feed it
# back in, repeat. The **temperature** $\tau$ reshapes the distribution without changing its order: $\tau < 1$
# sharpens it towards the most likely character (safe and repetitive), $\tau > 1$ flattens it (surprising, then
# garbled), $\tau \to 0$ always takes the most likely one.

# %%
prime = "def "
model.eval()
logits, _ = model(vocab.encode(prime)[:, None])         # (len(prime), 1, V)
z = logits[-1, 0]
top = np.argsort(z)[::-1][:12]
fig, axes = plt.subplots(1, 3, figsize=(13, 3.2), sharey=True)
for ax, tau in zip(axes, (0.5, 1.0, 1.5)):
    p = np.exp((z - z.max()) / tau)
    p /= p.sum()
    ax.bar([repr(vocab.chars[k])[1:-1] or " " for k in top], p[top], color="tab:blue")
    ax.set_title(f"next character after {prime!r}, temperature {tau:g}", fontsize=10)
    ax.grid(True, axis="y", alpha=0.3)
axes[0].set_ylabel("probability")
fig.tight_layout()
plt.show()

for tau in (0.0, 0.5, 0.8, 1.2):
    sample = model.sample("class ", 240, temperature=tau, seed=1)
    print(f"--- temperature {tau:g} " + "-" * 60 + "\nclass " + sample + "\n")

# %% [markdown]
# At temperature 0 the model falls into a loop of its favourite phrase; around 0.5 to 0.8 it writes plausible-looking
# keywords, names and indentation; above 1 the rare characters come in and it degrades into noise. The samples
# improve visibly with more training (exercise 1).

# %% [markdown]
# ## 7. A neuron that tracks the code's structure
#
# The corpus is Python source, which has structure a next-character model profits from knowing: whether it is
# inside a string literal, and how deeply the current line is indented. Run the trained LSTM over held-out text from
# a zero state, record every unit's hidden state $h_t[k]$ and cell state $c_t[k]$ after each character
# (`unit_activations`), and correlate each with two features of the text (`minirnn.data.code_features`):
#
# - **in string**: 1 on every character of a string literal, quotes included, else 0. Triple-quoted strings
#   (`'''` or `"""`, so every docstring) span lines; a short `'...'` or `"..."` ends at its closing quote or at the
#   end of the line; a backslash escapes the next character; a quote inside a `#` comment opens nothing. (The tests
#   check this scanner against Python's own `tokenize` on `textwrap.py`.) The scanner reads the whole corpus from
#   its start, and the held-out part is sliced from the result, so the held-out text starts in the right state.
# - **indentation**: the number of leading spaces of the current line read so far (0 at the newline).
#
# The statistic is Pearson's $r$ between a unit and the feature over the held-out characters
# (`unit_correlations`). As a control, the same search on the *untrained* model (same seed) shows how large $|r|$
# the best of $2H$ random units reaches by chance.

# %%
in_string_all, indentation_all = code_features(text)   # the whole corpus from its start, then the held-out slice
n0 = len(train_text)
probe = test_text[:2000 if SMALL else 10_000]
feats = {"in string": in_string_all[n0:n0 + len(probe)], "indentation": indentation_all[n0:n0 + len(probe)]}
untrained = CharLM(vocab, H, cell="lstm", embed_dim=32, seed=0)
acts = {"trained": unit_activations(model, probe), "untrained": unit_activations(untrained, probe)}  # (N, H) each
best = {}                                               # (feature, model, state) -> (unit, r)
for name, feat in feats.items():
    for who in ("trained", "untrained"):
        for state in ("h", "c"):
            r = unit_correlations(acts[who][state], feat)   # (H,)
            k = int(np.argmax(np.abs(r)))
            best[name, who, state] = (k, float(r[k]))
print(f"best unit over {len(probe):,} held-out characters (Pearson r):")
print(f"{'feature':<12} {'state':<6} {'trained':>16} {'untrained':>16}")
for name in feats:
    for state in ("h", "c"):
        (k, r), (ku, ru) = best[name, "trained", state], best[name, "untrained", state]
        print(f"{name:<12} {state + '_t':<6} {f'unit {k}: {r:+.2f}':>16} {f'unit {ku}: {ru:+.2f}':>16}")

# %% [markdown]
# The figure below draws, for each feature, the trained model's best unit (from $h$ or $c$, whichever correlates
# more) over a stretch of the held-out code: every character on a background coloured by the unit's value after
# reading it, red above zero, blue below.

# %%
lines = probe.split("\n")
first, last = (0, 16) if SMALL else (20, 56)            # the stretch drawn: lines 20-55 of the held-out text
start = sum(len(line) + 1 for line in lines[:first])
shown = "\n".join(lines[first:last])
for name in feats:
    state = max(("h", "c"), key=lambda s: abs(best[name, "trained", s][1]))
    k, r = best[name, "trained", state]
    ru = max(abs(best[name, "untrained", s][1]) for s in ("h", "c"))
    plot_unit_text(shown, acts["trained"][state][start:start + len(shown), k], label=f"${state}_t[{k}]$",
                   title=f"{name}: unit {k} of ${state}_t$, r = {r:+.2f} over {len(probe):,} held-out characters "
                         f"(best untrained unit: |r| = {ru:.2f})")
    plt.show()

# %%
fig, axes = plt.subplots(2, 1, figsize=(11, 6.0), sharex=True)
pos = np.arange(min(len(probe), 4000))                  # a longer stretch: the first 4,000 held-out characters
for ax, (name, feat) in zip(axes, feats.items()):
    state = max(("h", "c"), key=lambda s: abs(best[name, "trained", s][1]))
    k, r = best[name, "trained", state]
    f = feat[pos]
    ax.fill_between(pos, 0, f / max(1.0, f.max()), step="mid", color="0.85", label=f"{name} (scaled to [0, 1])")
    a = acts["trained"][state][pos, k]
    ax.plot(pos, a / np.max(np.abs(a)), color=style.color("lstm"), lw=1.5,
            label=f"${state}_t[{k}]$ / max $|{state}_t[{k}]|$: r = {r:+.2f}")
    ax.set_ylabel("scaled value")
    ax.legend(loc="lower right", bbox_to_anchor=(1.0, 1.0), ncol=2, fontsize=10, frameon=False)
axes[-1].set_xlabel("character position in the held-out text")
fig.suptitle("The feature (grey) and the trained model's best unit (line), scaled")
fig.tight_layout()
plt.show()

# %% [markdown]
# Read the printed table against its control column: a unit of the trained model counts only if its $|r|$ is far
# above the best untrained one. In the full-size run (3000 steps, seed 0) the hidden states $h_t$ show nothing of the
# kind (their best $|r|$ is within 0.15 of the control's); the **cell states** $c_t$ do, one cell per feature, and the
# drawings show what each does:
#
# - **Indentation**: the best cell ($r = +0.50$, best untrained unit 0.21) counts spaces. It climbs with every
#   leading space of a line, higher the deeper the line is indented (the `obj = ...` lines under `if`/`else`), and
#   fades over the rest of the line. It also climbs on runs of spaces inside a line (the aligned columns of the
#   comments): it tracks "spaces read lately", of which the indentation is the largest part. A cell, not $h_t$, can
#   hold such a count: $c_t$ is not squashed by a tanh.
# - **In string**: the best cell ($r = -0.48$, control 0.10) does **not** switch at the quotes: it drifts down as
#   text is read and jumps back up now and then, and it sinks deepest inside the long class docstring. Most string
#   characters here are docstring prose, so a slow drift that is deeper in prose than in code correlates with "in
#   string". A correlation is not a quote detector; Karpathy, Johnson & Fei-Fei (2015) found theirs in much larger
#   LSTMs trained far longer.
#
# Over 5 seeds (`python benchmarks/char_units.py`: this setup, 3000 steps, the first 10,000 held-out characters;
# results in `benchmarks/results/char_units.jsonl`), the best indentation cell reaches $|r|$ = 0.39 to 0.50
# (median 0.45) against 0.16 to 0.21 for the best untrained unit, at least twice the control's in all 5 seeds and
# $|r| \geq 0.4$ in 3 of 5. It is there early (median 0.51 at step 500) and does not sharpen with more steps (0.45
# at step 3000), while the held-out loss is lowest near step 2000 (median 2.50 bits per character) and rises a little
# after, to 2.57: the model begins to overfit. The best "in string" cell reaches 0.24 to 0.48 (median 0.38, control
# 0.08 to 0.13); the best $h_t$ units 0.13 to 0.29 for either feature, against controls up to 0.20.
#
# ## Summary
#
# - A character LM predicts the next id at every step; its loss is the mean cross-entropy in nats per character,
#   judged against $\ln V$ and a bigram model on held-out text.
# - Truncated BPTT: the state is carried from chunk to chunk, the gradient is cut at the boundary.
# - Temperature trades safety for variety when sampling.
# - To find what a unit tracks, correlate it with a feature of the text and compare with the same search on an
#   untrained model; then draw it over the text, because a correlation alone can come from a slow drift.
#
# ## Exercises
#
# 1. Train for 2000 steps (a few minutes) and compare the samples at temperature 0.5 with the ones above. What
#    appears first: words, indentation, or matching brackets?
# 2. Replace `cell="lstm"` with `"gru"` and `"rnn"`. Which reaches the lowest held-out loss for the same number of
#    steps? For the same wall-clock time?
# 3. Change the truncation length $T$ to 8 and to 128 at a fixed number of characters seen (`steps * B * T`). How does
#    the held-out loss change, and why can a model trained with $T = 8$ still use context longer than 8 characters?
# 4. Implement the bigram model yourself from `np.add.at` counts and check your number against `bigram_loss`. Then
#    sample from it: how does its text compare with the LSTM's?
# 5. Train on your own text: `tasks.char_corpus(path="some_file.txt")`.
# 6. Rerun section 7 with H = 256, or with the learning rate decayed over the run. Does a unit of $c_t$ now switch
#    at the quotes? Then correlate the units with a feature of your own: the column (position in the line), or the
#    depth of open brackets.
