# %% [markdown]
# # 7 · From PyTorch and Keras to minirnn, and back
#
# ## What you will learn
#
# - the six models of the classic "RNN, LSTM, GRU in PyTorch and Keras" tutorial, written as the tutorial writes
#   them, and their minirnn twins (`minirnn.models.tutorial_model`);
# - how the weights map: PyTorch's layout *is* minirnn's (the `state_dict` loads as is), while Keras transposes its
#   kernels, keeps one bias, and orders the GRU's gates differently;
# - how close the outputs and the gradients come, and why float64 PyTorch agrees to $10^{-16}$ but float32 Keras only
#   to $10^{-7}$;
# - variable-length batches (`pack_padded_sequence`, Keras' `Masking`), and the way back from minirnn to PyTorch.
#
# Needs PyTorch and Keras 3 (the test extra: `pip install ".[test]"`). Keras runs on its PyTorch backend here.

# %%
import os

# One BLAS thread: the matrices here are small, and on a busy 2-core machine OpenBLAS's threads spin and wait on each
# other, which made these notebooks up to 30x slower. This must run before NumPy is first imported.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
os.environ.setdefault("KERAS_BACKEND", "torch")         # Keras 3 on PyTorch: no TensorFlow needed
# The test suite sets MINIRNN_SMALL=1: the same code on tiny sizes, so that every notebook runs in seconds there.
SMALL = os.environ.get("MINIRNN_SMALL", "0") not in ("", "0")

%matplotlib inline
import keras
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from minirnn import interop
from minirnn.losses import softmax_cross_entropy
from minirnn.models import tutorial_model

torch.set_num_threads(1)
from minirnn.analysis import style  # noqa: E402

style.use()                                             # the house style: 150 dpi, text >= 10 pt, rendered math
np.set_printoptions(precision=4, linewidth=110)
print("sizes:", "small (MINIRNN_SMALL=1, for the tests)" if SMALL else "full")
print("torch", torch.__version__, "  keras", keras.__version__, "on", keras.backend.backend())

# %% [markdown]
# ## 1. The tutorial's PyTorch models
#
# Three classifiers with the same shape: a recurrent stack of 2 layers (input size 10, hidden 20, `batch_first`),
# zero initial states, and a linear layer on the output of the **last** time step, giving 3 class scores. We compute
# in float64 on both sides, so that any difference is a real one and not round-off.

# %%
torch.set_default_dtype(torch.float64)
input_size, hidden_size, num_layers, num_classes = 10, 20, 2, 3


class RNNModel(nn.Module):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__()
        self.hidden_size, self.num_layers = hidden_size, num_layers
        self.rnn = nn.RNN(input_size, hidden_size, num_layers, batch_first=True)
        self.fc = nn.Linear(hidden_size, num_classes)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        out, _ = self.rnn(x, h0)
        return self.fc(out[:, -1, :])


class LSTMModel(RNNModel):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__(input_size, hidden_size, num_layers, num_classes)
        self.rnn = nn.LSTM(input_size, hidden_size, num_layers, batch_first=True)

    def forward(self, x):
        h0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        c0 = torch.zeros(self.num_layers, x.size(0), self.hidden_size)
        out, _ = self.rnn(x, (h0, c0))
        return self.fc(out[:, -1, :])


class GRUModel(RNNModel):
    def __init__(self, input_size, hidden_size, num_layers, num_classes):
        super().__init__(input_size, hidden_size, num_layers, num_classes)
        self.rnn = nn.GRU(input_size, hidden_size, num_layers, batch_first=True)


torch.manual_seed(0)
torch_models = {cls.__name__: cls(input_size, hidden_size, num_layers, num_classes)
                for cls in (RNNModel, LSTMModel, GRUModel)}
for name, value in torch_models["LSTMModel"].state_dict().items():
    print(f"{name:<18} {tuple(value.shape)}")

# %% [markdown]
# ## 2. Their minirnn twins
#
# `tutorial_model(name, "torch")` builds a `minirnn.SequenceClassifier` with the same structure: a minirnn `RNN`,
# `LSTM` or `GRU` named `rnn` and a `Linear` named `fc`. Its parameters have PyTorch's names and shapes, so the
# original's `state_dict` loads without renaming or reshaping (tensors are converted to NumPy on the way in).
#
# We ask for `backend="numpy"`: the readable loops of `minirnn/cells`, the code you would read next to the equations.
# The compiled Numba loops (the default for small problems) give the same numbers to round-off; that is tested.

# %%
B, T = (3, 5) if SMALL else (8, 12)
rng = np.random.default_rng(0)
x = rng.normal(size=(B, T, input_size))                 # (batch, time, features): batch_first
labels = rng.integers(0, num_classes, size=B)

results = {}
for name, original in torch_models.items():
    ours = tutorial_model(name, "torch", backend="numpy")
    ours.load_state_dict(original.state_dict())
    # forward on both sides
    x_torch = torch.tensor(x, requires_grad=True)
    theirs = original(x_torch)
    logits = ours(x)
    # backward on both sides: the same cross-entropy loss, autograd against minirnn's hand-written BPTT
    torch.nn.functional.cross_entropy(theirs, torch.tensor(labels)).backward()
    _, dlogits = softmax_cross_entropy(logits, labels)
    dx = ours.backward(dlogits)
    grad_diff = max(np.abs(ours.grads[k] - p.grad.numpy()).max() for k, p in original.named_parameters())
    results[f"PyTorch {name}"] = {"logits": np.abs(logits - theirs.detach().numpy()).max(), "grads": grad_diff,
                                  "dx": np.abs(dx - x_torch.grad.numpy()).max()}
    print(f"{repr(ours):<52} max |logits diff| {results[f'PyTorch {name}']['logits']:.1e}   "
          f"max |grad diff| {grad_diff:.1e}   max |dx diff| {results[f'PyTorch {name}']['dx']:.1e}")

# %% [markdown]
# Logits agree to the last bits of float64, and so do the gradients of every parameter and of the input: minirnn's
# hand-written BPTT computes what PyTorch's autograd computes.
#
# ## 3. The tutorial's Keras models
#
# The Keras versions of the tutorial differ in structure: the `RNNModel` stacks two `SimpleRNN` layers (the first
# with `return_sequences=True`), while `LSTMModel` and `GRUModel` have **one** recurrent layer. The last recurrent
# layer returns only its final output, which the `Dense` layer reads.

# %%
def keras_model(name):
    inputs = keras.Input((None, input_size))
    if name == "RNNModel":
        h = keras.layers.SimpleRNN(hidden_size, return_sequences=True)(inputs)
        h = keras.layers.SimpleRNN(hidden_size)(h)
    elif name == "LSTMModel":
        h = keras.layers.LSTM(hidden_size)(inputs)
    else:
        h = keras.layers.GRU(hidden_size)(inputs)       # reset_after=True, Keras' default: PyTorch's GRU
    return keras.Model(inputs, keras.layers.Dense(num_classes)(h), name=name)


keras.utils.set_random_seed(0)
keras_models = {name: keras_model(name) for name in ("RNNModel", "LSTMModel", "GRUModel")}
for layer in keras_models["GRUModel"].layers[1:]:
    print(type(layer).__name__, [(w.path.split("/")[-1], tuple(w.shape)) for w in layer.weights])

# %% [markdown]
# Keras stores its weights differently, and `minirnn.interop` converts:
#
# | | Keras | minirnn / PyTorch |
# |---|---|---|
# | input weights | `kernel` `(I, G·H)`, used as `x @ kernel` | `weight_ih_l0` `(G·H, I)` = `kernel.T` |
# | recurrent weights | `recurrent_kernel` `(H, G·H)` | `weight_hh_l0` `(G·H, H)` = `recurrent_kernel.T` |
# | biases | SimpleRNN, LSTM: one `bias`; GRU: `(2, 3H)` | `bias_ih_l0`, `bias_hh_l0` (for one Keras bias: `b_hh = 0`) |
# | gate order | LSTM `i, f, c, o`; GRU `z, r, h` | LSTM `i, f, g, o`; GRU `r, z, n` (blocks swapped) |
#
# `interop.classifier_from_keras(model)` reads the recurrent stack and the `Dense` layer and returns a
# `SequenceClassifier` with those weights. Keras computes in float32, so the twin is float32 too.

# %%
for name, original in keras_models.items():
    ours = interop.classifier_from_keras(original, backend="numpy")
    x32 = x.astype(np.float32)
    theirs = keras.ops.convert_to_numpy(original(x32))
    logits = ours(x32)
    results[f"Keras {name}"] = {"logits": np.abs(logits - theirs).max()}
    print(f"{repr(ours):<70} max |logits diff| {results[f'Keras {name}']['logits']:.1e}   "
          f"(largest logit {np.abs(theirs).max():.2f})")

# %% tags=["readme-figure"]
fig, ax = plt.subplots(figsize=(10, 4))
names = list(results)
for i, name in enumerate(names):
    r = results[name]
    ax.bar(i - 0.2, max(r["logits"], 1e-18), width=0.4, color="tab:blue", label="logits" if i == 0 else None)
    if "grads" in r:
        ax.bar(i + 0.2, max(r["grads"], 1e-18), width=0.4, color="tab:orange",
               label="gradients of all parameters (vs autograd)" if i == 0 else None)
    else:                                                   # said on the figure, not left out silently
        ax.text(i + 0.2, 2e-18, "gradients\nnot compared", rotation=90, ha="center", va="bottom", fontsize=9,
                color="0.35")
ax.axhline(np.finfo(np.float64).eps, color="tab:blue", ls=":", lw=1, label="float64 machine epsilon")
ax.axhline(np.finfo(np.float32).eps, color="tab:red", ls=":", lw=1, label="float32 machine epsilon")
ax.set_yscale("log")
ax.set_ylim(1e-18, 1e-4)
ax.set_xticks(range(len(names)), [n.replace(" ", "\n") for n in names])
ax.set_ylabel("largest absolute difference")
ax.set_title("The tutorial's six models rebuilt in minirnn: difference to the original\n"
             "(Keras models: forward pass only, float32)")
ax.legend(loc="upper left")
ax.grid(True, axis="y", alpha=0.3)
plt.show()

# %% [markdown]
# PyTorch in float64 and minirnn agree to a few units of float64 round-off (about $10^{-16}$); Keras and minirnn in
# float32 agree to a few units of float32 round-off (about $10^{-7}$): they add the same numbers in different orders,
# and in float32 that shows. Neither is a disagreement about the math.
#
# ## 4. Variable-length batches
#
# Real batches hold sequences of different lengths, padded with zeros. PyTorch packs them
# (`pack_padded_sequence`) so that each sequence stops at its own last step; minirnn's layers take `lengths=` with
# the same meaning: `h_n` is each sequence's state after its last real step, outputs at padded steps are zero, and
# padded inputs get zero gradient. `SequenceClassifier` then reads each sequence's last *real* step.

# %%
lengths = rng.integers(2, T + 1, size=B)
x_pad = x.copy()
for b, n in enumerate(lengths):
    x_pad[b, n:] = 0.0                                  # padding
lstm_torch = torch_models["LSTMModel"]
packed = nn.utils.rnn.pack_padded_sequence(torch.tensor(x_pad), torch.tensor(lengths), batch_first=True,
                                           enforce_sorted=False)
_, (h_n, _) = lstm_torch.rnn(packed)                    # h_n (num_layers, B, H): each sequence's own last step
theirs = lstm_torch.fc(h_n[-1]).detach().numpy()
ours = tutorial_model("LSTMModel", "torch", backend="numpy")
ours.load_state_dict(lstm_torch.state_dict())
print("lengths", lengths.tolist())
print("max |logits diff| with packed sequences:", np.abs(ours(x_pad, lengths=lengths) - theirs).max())

# %% [markdown]
# Keras expresses the same with a `Masking` layer; final states agree with PyTorch and minirnn, but at masked steps a
# Keras layer with `return_sequences=True` repeats the last real output where PyTorch and minirnn write zeros (see
# `minirnn/interop.py`).
#
# ## 5. And back: from minirnn to PyTorch
#
# A layer trained in minirnn goes to PyTorch with `interop.to_torch` (a `torch.nn` module) or
# `interop.to_torch_state_dict`, and to Keras with `interop.to_keras` / `to_keras_weights`.

# %%
from minirnn import GRU

gru = GRU(input_size, hidden_size, num_layers=2, batch_first=True, seed=1, backend="numpy")
gru_torch = interop.to_torch(gru)
print(gru, "->", gru_torch)
out_ours, h_ours = gru(x)
out_theirs, h_theirs = gru_torch(torch.tensor(x))
print("max |out diff|", np.abs(out_ours - out_theirs.detach().numpy()).max(),
      "  max |h_n diff|", np.abs(h_ours - h_theirs.detach().numpy()).max())

# %% [markdown]
# ## Summary
#
# - PyTorch's `state_dict` is minirnn's parameter dict: same names, shapes and gate order; a tutorial model loads
#   with `load_state_dict` and agrees to $10^{-16}$ in float64, gradients included.
# - Keras transposes kernels, keeps one bias (two for the GRU) and orders the GRU's gates `z, r, h`;
#   `interop.classifier_from_keras` handles it, and float32 round-off ($10^{-7}$) is all that remains.
# - `lengths=` is `pack_padded_sequence`; `interop.to_torch`/`to_keras` go back.
#
# ## Exercises
#
# 1. Make the PyTorch models bidirectional (`bidirectional=True`, `fc = nn.Linear(2 * hidden_size, ...)`) and read
#    the final states with `torch.cat([h_n[-2], h_n[-1]], dim=1)`. Port them with
#    `tutorial_model(...)` replaced by `SequenceClassifier(cell, 10, 20, 3, num_layers=2, bidirectional=True)`. Do
#    they agree?
# 2. Build a Keras `GRU(hidden_size, reset_after=False)` and pass it to `interop.from_keras`: which cell does the
#    minirnn layer run (`layer.cell.title`)? Write out both GRU variants' candidate equations and explain why no
#    PyTorch weights reproduce the other one, and why they agree when every unit has the same weights.
# 3. Redo section 2 in float32 (`torch.set_default_dtype(torch.float32)`, `tutorial_model(..., dtype=np.float32)`).
#    How large are the differences now, and how do they grow with the sequence length $T$?
# 4. Train a `SequenceClassifier` in minirnn on `minirnn.experiments.make("classify")` (a few hundred steps), export
#    its weights with `interop.to_torch_state_dict(model.rnn)` and the `fc` weights by hand into the tutorial's
#    PyTorch model, and check that both predict the same classes on the test set.
# 5. Add a `keras.layers.Masking(0.0)` layer in front of the Keras `RNNModel` and compare its logits on `x_pad` with
#    minirnn's `ours(x_pad, lengths=lengths)`. Then look at the first `SimpleRNN`'s outputs at padded steps.
