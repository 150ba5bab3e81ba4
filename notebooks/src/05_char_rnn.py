# %% [markdown]
# # 5 · A character-level language model
#
# ## What you will learn
#
# - how to turn text into a next-character prediction problem: a vocabulary, integer ids, parallel streams;
# - the model: an embedding, an LSTM and a linear read-out at every step (`minirnn.lm.CharLM`);
# - truncated backpropagation through time: carry the hidden state from chunk to chunk, cut the gradient;
# - how to judge the loss (bits per character, against a bigram baseline) and how temperature shapes the samples.
#
# This is Karpathy's *char-rnn* in miniature, trained in well under a minute on two CPU cores. Do not expect
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
from minirnn.experiments import bigram_loss
from minirnn.lm import CharLM
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


steps = 20 if SMALL else 400
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
# The held-out loss falls below the bigram baseline within the first hundred steps or so: the LSTM is using more than
# one character of context. The run is short, about one pass over the training text, and the curve is still
# falling: a longer run (or a bigger model) keeps improving.
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
# The corpus is Python source, which has structure a next-character model profits from knowing: whether we are
# inside a string literal, and how deeply the current line is indented. Run the trained LSTM over held-out text,
# record every hidden unit $h_t[k]$, and correlate each unit with two features of the text: **in string** (1 between
# an opening and a closing quote on the same line, else 0) and **indentation** (the number of leading spaces of the
# current line). As a control, the same search on the *untrained* model (same seed) shows how large a correlation
# the best of $H$ random units reaches by chance.

# %%
def features(chars):
    """in_string (0/1) and indentation (leading spaces of the current line) for every character."""
    in_str, indent = np.zeros(len(chars)), np.zeros(len(chars))
    quote, lead, counting = None, 0, True
    for i, ch in enumerate(chars):
        if ch == "\n":
            quote, lead, counting = None, 0, True
        elif counting and ch == " ":
            lead += 1
        else:
            counting = False
        closing = quote is not None and ch == quote
        if quote is None and ch in "'\"":
            quote = ch
        in_str[i] = float(quote is not None)
        if closing:
            quote = None                                # the closing quote still belongs to the string
        indent[i] = lead
    return in_str, indent


def hidden_states(m, chars):
    """h_t of the LSTM over the text, (T, H)."""
    out, _ = m.rnn(m.embed(vocab.encode(chars)[:, None]))  # (T, 1, H)
    return out[:, 0]


probe = test_text[:800 if SMALL else 6000]
in_str, indent = features(probe)
untrained = CharLM(vocab, H, cell="lstm", embed_dim=32, seed=0)
found = {}
for name, feat in (("in string", in_str), ("indentation", indent)):
    for who, m in (("trained", model), ("untrained", untrained)):
        hs = hidden_states(m, probe)
        hs_c, f_c = hs - hs.mean(0), feat - feat.mean()
        r = (hs_c * f_c[:, None]).sum(0) / np.sqrt((hs_c ** 2).sum(0) * (f_c ** 2).sum() + 1e-300)
        k = int(np.argmax(np.abs(r)))
        found[name, who] = (k, r[k], hs[:, k])
        print(f"{name:<12} {who:<10} best unit {k:>3}: correlation {r[k]:+.2f} over {len(probe):,} held-out "
              "characters")

# %%
shown = slice(0, 240 if SMALL else 480)
fig, axes = plt.subplots(2, 1, figsize=(11, 6.0), sharex=True)
for ax, (name, feat) in zip(axes, (("in string", in_str), ("indentation", indent))):
    k, r, act = found[name, "trained"]
    pos = np.arange(len(probe))[shown]
    ax.fill_between(pos, 0, feat[shown] / max(1.0, feat[shown].max()), step="mid", color="0.85",
                    label=f"{name} (scaled to [0, 1])")
    ax.plot(pos, act[shown], color=style.color("lstm"), lw=1.5,
            label=f"unit {k}: correlation {r:+.2f} (best untrained unit: {found[name, 'untrained'][1]:+.2f})")
    ax.set_ylabel(f"$h_t[{k}]$")
    ax.legend(loc="lower left", fontsize=10)
axes[-1].set_xlabel("character position in the held-out text")
fig.suptitle("The best candidate units of the trained character LSTM (no better than chance here)")
fig.tight_layout()
plt.show()
print(repr(probe[shown][:300]))

# %% [markdown]
# Read the printed correlations: a unit of the trained model whose correlation with a feature is far above the best
# unit of the untrained one has learned that feature; one that is not, has not. In the full-size run (400 steps,
# about one pass over the text) the best trained units reach +0.17 (in string) and +0.21 (indentation), and the best
# *untrained* units reach 0.21 in size for both: **no unit tracks strings or indentation better than chance yet**.
# The figure shows what the best candidates do. Karpathy, Johnson & Fei-Fei (2015) found such units in much larger
# LSTMs trained for far longer on the Linux source; exercise 6 asks you to look again after a longer run.
#
# ## Summary
#
# - A character LM predicts the next id at every step; its loss is the mean cross-entropy in nats per character,
#   judged against $\ln V$ and a bigram model on held-out text.
# - Truncated BPTT: the state is carried from chunk to chunk, the gradient is cut at the boundary.
# - Temperature trades safety for variety when sampling.
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
# 6. Train the character model for 3000 steps (or with H = 256) and rerun section 7. Does a unit now beat the
#    untrained control for strings or indentation? Try the cell state $c_t$ instead of $h_t$.
