# %% [markdown]
# # 10 · Sequence to sequence, with attention
#
# ## What you will learn
#
# - how an encoder-decoder translates one sequence into another of a different length: the encoder reads the
#   source, the decoder writes the target one symbol at a time, each step fed the previous symbol;
# - attention (Bahdanau et al. 2015): at every output step the decoder takes a weighted mean of the encoder's states,
#   with weights it computes itself, so it can look each piece of the source up where it is;
# - what the weights of a trained model look like: on dates, the year's digits look at the year, the month at the
#   month's name;
# - why attention matters more as the output grows, measured over seeds (Bahdanau's figure, in miniature);
# - greedy decoding against beam search, and teacher forcing against free running (exposure bias).
#
# Everything runs on `minirnn.models.Seq2Seq`, whose backward pass (through decoder, attention and encoder) is written
# by hand and checked against finite differences in `tests/models/test_seq2seq.py`.

# %%
import os

# One BLAS thread: the matrices here are small, and on a busy 2-core machine OpenBLAS's threads spin and wait on each
# other. This must run before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds there.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np

import gradcheck
import minirnn
from minirnn.data import date_pairs, digit_pairs, encode_pairs
from minirnn.models import beam_search
from minirnn.nn import AdditiveAttention
from minirnn.nn.losses import softmax_cross_entropy
from minirnn.nn.optim import Adam
from minirnn.training.loop import fit
from minirnn.training.recipes_translate import exact_match, exact_match_by_length, translate

plt.rcParams.update({"figure.dpi": 80, "axes.grid": True, "grid.alpha": 0.3, "font.size": 10})
np.set_printoptions(precision=3, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")

# %% [markdown]
# ## 1. The task: dates, as people write them
#
# `date_pairs` writes random dates between 1950 and 2049 in nine formats (English here; French, German and Spanish
# month names with `languages=`) and pairs each with its ISO form. A tenth of all days is held out: the test dates are
# days the model never saw, in any format.

# %%
for text, iso in date_pairs(8, seed=1):
    print(f"{text:>32}  ->  {iso}")

# %% [markdown]
# A batch is padded and time-major: the source ids `(S, B)` with their lengths, the decoder's inputs `<s> y` and the
# targets `y </s>`, one step later (teacher forcing: step t is fed the *true* symbol t-1).

# %%
exp = translate(attention="additive", data="dates", hidden=8 if SMALL else 32, seed=0, n_test=100 if SMALL else 1000)
model = exp.model
b = encode_pairs(date_pairs(2, seed=1), model.src_vocab, model.tgt_vocab)
print(model)
print("src", b["src"].shape, " tgt_in", b["tgt_in"].shape, " tgt_out", b["tgt_out"].shape)
print("tgt_in  of the first pair:", [model.tgt_vocab.token(i) for i in b["tgt_in"][:, 0]])
print("tgt_out of the first pair:", [model.tgt_vocab.token(i) for i in b["tgt_out"][:, 0]])

# %% [markdown]
# ## 2. Attention, one step
#
# The decoder's previous state $s$ is the query; the encoder's outputs $k_1 \dots k_S$ (forward and reverse GRU
# states side by side) are the keys. Additive attention scores each position with a one-hidden-layer network, and
# a softmax over the *real* positions turns scores into weights (padding gets exactly 0):
#
# $$e_j = v^\top \tanh(W_q s + W_k k_j + b), \qquad \alpha_j = \frac{\exp e_j}{\sum_{j'} \exp e_{j'}}, \qquad
# c = \sum_j \alpha_j k_j .$$
#
# The context $c$ goes into the decoder's next step and into the output layer. The backward pass is the chain rule
# through these three lines (`minirnn/nn/attention.py`), checked here entry by entry against central differences.

# %%
rng = np.random.default_rng(0)
attn = AdditiveAttention(6, 6, 5, seed=0)
q, keys = rng.normal(size=(2, 6)), rng.normal(size=(2, 4, 6))
mask = np.array([[True, True, True, True], [True, True, False, False]])     # the second source has 2 symbols
context, weights = attn(q, keys, mask)
print("weights:\n", weights)
G = rng.normal(size=context.shape)                                          # loss = sum(context * G)
dq, dkeys = attn.backward(G)
report = gradcheck.check_gradients(lambda p: float(np.sum(attn.step(p["q"], p["keys"], mask)[0] * G)),
                                   dict(attn.params, q=q, keys=keys), dict(attn.grads, q=dq, keys=dkeys))
print(report)

# %% [markdown]
# ## 3. Training on dates
#
# `minirnn train translate --attention additive` runs exactly this: fresh pairs every step, softmax cross-entropy
# on every target symbol and the final `</s>`, Adam, the gradient norm clipped to 1. The held-out score is
# *exact match*: the fraction of test sources whose greedy decoding is the whole ISO date, right to the last digit.

# %%
steps = 40 if SMALL else 300
history = fit(model, Adam(model, lr=3e-3), exp.train_step, steps, rng=exp.rng, evaluate=exp.evaluate,
              eval_every=max(1, steps // 6), clip_norm=1.0, progress=False)
for step, value in zip(history["eval_step"], history["eval"]["exact_match"]):
    print(f"step {step:>4}: exact match on held-out dates {value:.3f}")

# %% [markdown]
# ## 4. Where the model looks
#
# Each row is one output step, each column one source character; the shade is the attention weight the decoder
# used to write that output symbol. The four year digits look at the year, the month's digits at the month's name
# (or its number), the day's at the day.

# %%
def plot_attention(ax, model, text):
    """Draw the attention of ``model`` translating ``text`` (greedy) on ``ax``; returns the output."""
    output, weights = model.translate(text)
    rows = list(output) + ["</s>"]
    image = ax.imshow(weights[:len(rows)], cmap="Greys", vmin=0, vmax=1, aspect="auto")
    ax.set_xticks(range(len(text)), list(text), fontsize=9)
    ax.set_yticks(range(len(rows)), rows, fontsize=9)
    ax.grid(False)
    ax.set_title(f"{text!r} -> {output!r}", fontsize=10)
    return image


# %% tags=["readme-figure"]
fig, axes = plt.subplots(1, 2, figsize=(13, 4.2), gridspec_kw={"width_ratios": [23, 21]})
plot_attention(axes[0], model, "Saturday, March 3, 2001")
image = plot_attention(axes[1], model, "the 3rd of March 2001")
axes[0].set_ylabel("output symbol")
for ax in axes:
    ax.set_xlabel("source character")
fig.colorbar(image, ax=axes, label=r"attention weight $\alpha$", fraction=0.03)
fig.suptitle(f"Additive attention of a GRU encoder-decoder after {steps} steps "
             f"(held-out exact match {history['eval']['exact_match'][-1]:.3f})", fontsize=11)
plt.show()

# %% [markdown]
# ## 5. Where attention matters: outputs that grow with the input
#
# Reversing a string of digits needs every digit, in order. Without attention the decoder's only view of the source
# is the encoder's final state: a fixed-size vector that must hold every digit. With attention, it can look
# each digit up. One seed of each here (reverse 1..10 digits), trained the same way:

# %%
T_rev, steps_rev = (6, 30) if SMALL else (10, 300)
live, live_models = {}, {}
for attention in ("additive", "none"):
    e = translate(attention=attention, data="reverse", T=T_rev, hidden=8 if SMALL else 32, seed=0, n_test=200)
    fit(e.model, Adam(e.model, lr=3e-3), e.train_step, steps_rev, rng=e.rng, clip_norm=1.0, progress=False)
    pairs = digit_pairs(100 if SMALL else 1200, "reverse", 1, T_rev, seed=7)
    live[attention], live_models[attention] = exact_match_by_length(e.model, pairs), e.model
    print(f"attention={attention}: exact match {exact_match(e.model, pairs):.3f} after {steps_rev} steps")

# %% [markdown]
# Over five seeds and up to 16 digits, `benchmarks/translation.py --run reverse` measured the curves below (its
# results are committed in `benchmarks/results/translation.jsonl`; each run 600 steps of `minirnn train translate
# --data reverse --T 16`, scored on 2000 held-out strings). The bands span the five seeds, the lines are medians.

# %%
results = Path(minirnn.__file__).resolve().parents[1] / "benchmarks" / "results" / "translation.jsonl"
lines = results.read_text().splitlines() if results.exists() else []
rows = list({(r["data"], r["attention"], r["seed"]): r for r in map(json.loads, reversed(lines))}.values())
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
for attention, color in (("additive", "tab:blue"), ("dot", "tab:green"), ("none", "tab:red")):
    rs = [r for r in rows if r["data"] == "reverse" and r["attention"] == attention]
    if rs:
        lengths = sorted(int(k) for k in rs[0]["by_length"])
        v = np.array([[r["by_length"][str(L)] for L in lengths] for r in rs])     # (seeds, lengths)
        axes[1].plot(lengths, np.median(v, 0), color=color, label=f"{attention} ({len(rs)} seeds)")
        axes[1].fill_between(lengths, v.min(0), v.max(0), color=color, alpha=0.2)
    if attention in live:
        axes[0].plot(list(live[attention]), list(live[attention].values()), "o-", color=color, label=attention)
axes[0].set(title=f"this notebook: 1 seed, {steps_rev} steps", xlabel="digits in the source", ylabel="exact match")
axes[1].set(title="benchmarks/translation.py: median and range over seeds", xlabel="digits in the source")
for ax in axes:
    ax.set_ylim(-0.03, 1.03)
    ax.legend(fontsize=9)
plt.show()


# %% [markdown]
# Short strings fit in one state vector and both models reverse them; as the strings grow, the model without attention
# falls away and the one with attention stays near the top. That is the point of Bahdanau et al.'s Figure 2 (BLEU
# against sentence length), here on a task small enough to train in a minute.

# %% [markdown]
# ## 6. Greedy decoding against beam search
#
# Greedy decoding takes the most likely symbol at each step and never reconsiders. Beam search keeps the `k` most
# likely prefixes, and ranks finished outputs by their log-probability divided by their length (without that, a sum
# of negative numbers prefers short outputs). The date model is too sure of itself for the beam to matter; the
# reversal model without attention, which is often unsure, is where a beam can find a better output.

# %%
def beam_exact_match(model, pairs, k):
    right = 0
    for text, target in pairs:
        tokens, _, _ = beam_search(model, model.src_vocab.encode(text), beam=k, max_len=len(target) + 5)
        right += model.tgt_vocab.decode(tokens) == target
    return right / len(pairs)


test = date_pairs(30 if SMALL else 200, seed=123, part="test")
reverse_test = digit_pairs(30 if SMALL else 200, "reverse", 1, T_rev, seed=8)
for k in (1, 3, 5):
    print(f"beam {k}: exact match {beam_exact_match(model, test, k):.3f} on {len(test)} held-out dates, "
          + ", ".join(f"{beam_exact_match(m, reverse_test, k):.3f} on {len(reverse_test)} reversals ({a})"
                      for a, m in live_models.items()))

# %% [markdown]
# ## 7. Teacher forcing against free running
#
# Trained with teacher forcing, the decoder only ever saw *true* prefixes. At test time it reads its own outputs:
# one mistake and it is somewhere it never was during training (*exposure bias*). Run the same model on the same
# held-out batch both ways: the per-symbol accuracy under teacher forcing is the optimistic number; free running
# (`sampling_prob=1`: each step fed the previous step's argmax) is what decoding really gets. Scheduled sampling
# (`minirnn train translate --sampling 0.25`) trains on a mix of the two.

# %%
for name, m, pairs in [("dates", model, test)] + [(f"reverse, {a}", m, reverse_test) for a, m in live_models.items()]:
    batch = encode_pairs(pairs, m.src_vocab, m.tgt_vocab)
    for how, p in (("teacher forcing", 0.0), ("free running", 1.0)):
        logits = m(batch["src"], batch["src_lengths"], batch["tgt_in"], sampling_prob=p, rng=np.random.default_rng(0))
        loss, _ = softmax_cross_entropy(logits, batch["tgt_out"], batch["tgt_mask"])
        right = (logits.argmax(-1) == batch["tgt_out"]) | ~batch["tgt_mask"]
        print(f"{name:>18}, {how:>15}: loss {loss:.3f} nats/symbol, "
              f"symbols right {right[batch['tgt_mask']].mean():.3f}, whole outputs right {right.all(axis=0).mean():.3f}")

# %% [markdown]
# ## Summary
#
# - An encoder-decoder reads the source into states and writes the target step by step, fed its previous symbol.
# - Attention lets each output step take a learned weighted mean of *all* the encoder's states; its weights show
#   what the model reads, and it matters most when the output grows with the input.
# - Teacher forcing trains on true prefixes; decoding feeds back the model's own outputs (exposure bias). Beam search
#   keeps several prefixes; on an easy task greedy decoding is already as good.
#
# ## Exercises
#
# 1. Train the date model with `attention="dot"` and with `attention=None`. How many steps does each need to reach
#    95% exact match? Plot the attention map of the dot model: is it as sharp?
# 2. Compare greedy and beam search after only 100 training steps. Does the beam help more when the model is unsure?
#    Try `length_penalty=0` and a long date format: what goes wrong?
# 3. Train with all four languages (`translate(..., languages=("en", "fr", "de", "es"))`). Which characters does
#    "3. März 2001" attend to for the month?
# 4. Scheduled sampling: train the reversal model with `sampling=0.25` and `0.0` for the same steps, and compare
#    free-running exact match by length.
# 5. The task `data="sort"` also grows with the input. Does attention help as much there as on reversal? Why might a
#    model without attention do better on sorting than on reversing (what does it need to remember)?
