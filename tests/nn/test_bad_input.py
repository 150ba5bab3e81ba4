"""The bad-input table: every public entry point, fed wrong ranks, sizes, dtypes, non-finite values, empty arrays, wrong
lengths and unknown options, raises a ValueError or TypeError whose message names the argument and what was expected,
before any compiled code runs. Valid read-only and non-contiguous inputs simply work.

One row per (entry point, bad input): ``(id, call, exception type, text the message must contain)``. The README's
"Errors" section summarises this table.
"""
from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest

import minirnn
from minirnn import data as tasks
from minirnn import interop
from minirnn.nn import losses, optim
from minirnn.training import loop as train
from minirnn.training.checkpoint import load_checkpoint, save_checkpoint
from minirnn.models import Forecaster
from minirnn.models import CharLM
from minirnn.models import SequenceClassifier
from minirnn.nn import Embedding, Linear

X = np.zeros((5, 2, 4))                                     # (T, B, I) for a layer with input_size 4, hidden 6


def gru(**kw):
    return minirnn.GRU(4, 6, seed=0, backend="numpy", **kw)


def lstm(**kw):
    return minirnn.LSTM(4, 6, seed=0, backend="numpy", **kw)


def after_forward(layer, x=X):
    layer(x)
    return layer


def lin():
    return Linear(4, 3, seed=0)


def classifier():
    return SequenceClassifier("gru", 4, 6, 3, seed=0, backend="numpy")


def char_lm():
    return CharLM("abc", 4, cell="gru", seed=0, backend="numpy")


def forecaster():
    return Forecaster("gru", 1, 4, horizon=2, seed=0, backend="numpy")


def ran(model, *args):
    model(*args)
    return model


ROWS = [
    # -- layers: x -----------------------------------------------------------------------------------------------------
    ("layer x rank 1", lambda: gru()(np.zeros(4)), ValueError, "x must have 3 dimensions"),
    ("layer x rank 4", lambda: gru()(np.zeros((5, 2, 4, 1))), ValueError, "x must have 3 dimensions"),
    ("layer x feature size", lambda: gru()(np.zeros((5, 2, 3))), ValueError, "input_size = 4 features"),
    ("layer x empty T", lambda: gru()(np.zeros((0, 2, 4))), ValueError, "x must not be empty"),
    ("layer x empty B", lambda: gru()(np.zeros((5, 0, 4))), ValueError, "x must not be empty"),
    ("layer x int", lambda: gru()(X.astype(np.int64)), TypeError, "x must have dtype float64"),
    ("layer x float16", lambda: gru()(X.astype(np.float16)), TypeError, "x must have dtype float64"),
    ("layer x float32 into float64", lambda: gru()(X.astype(np.float32)), TypeError, "x.astype(np.float64)"),
    ("layer x complex", lambda: gru()(X.astype(np.complex128)), TypeError, "x must have dtype float64"),
    ("layer x object", lambda: gru()(X.astype(object)), TypeError, "x must have dtype float64"),
    ("layer x bool", lambda: gru()(X.astype(bool)), TypeError, "x must have dtype float64"),
    ("layer x list", lambda: gru()(X.tolist()), TypeError, "x must be a numpy.ndarray of float64, got list"),
    ("layer x NaN", lambda: gru()(np.full((5, 2, 4), np.nan)), ValueError, "x contains NaN or Inf"),
    ("layer x Inf", lambda: gru()(np.full((5, 2, 4), -np.inf)), ValueError, "x contains NaN or Inf"),
    # -- layers: states ------------------------------------------------------------------------------------------------
    ("layer h0 shape", lambda: gru()(X, np.zeros((1, 3, 6))), ValueError, "h0 must have shape (num_layers * "
     "num_directions, batch, hidden_size) = (1, 2, 6), got (1, 3, 6)"),
    ("layer h0 rank", lambda: gru()(X, np.zeros((2, 6))), ValueError, "h0 must have shape"),
    ("layer h0 int", lambda: gru()(X, np.zeros((1, 2, 6), int)), TypeError, "h0 must have dtype float64"),
    ("layer h0 NaN", lambda: gru()(X, np.full((1, 2, 6), np.nan)), ValueError, "h0 contains NaN or Inf"),
    ("lstm c0 shape", lambda: lstm()(X, (np.zeros((1, 2, 6)), np.zeros((1, 2, 5)))), ValueError,
     "c0 must have shape"),
    ("lstm c0 Inf", lambda: lstm()(X, (np.zeros((1, 2, 6)), np.full((1, 2, 6), np.inf))), ValueError,
     "c0 contains NaN or Inf"),
    ("lstm hx not a pair", lambda: lstm()(X, np.zeros((1, 2, 6))), TypeError, "hx must be a pair (h, c)"),
    # -- layers: lengths -----------------------------------------------------------------------------------------------
    ("layer lengths too long", lambda: gru()(X, lengths=[5, 6]), ValueError, "lengths must lie in 1..5"),
    ("layer lengths zero", lambda: gru()(X, lengths=[5, 0]), ValueError, "lengths must lie in 1..5"),
    ("layer lengths negative", lambda: gru()(X, lengths=[-1, 2]), ValueError, "lengths must lie in 1..5"),
    ("layer lengths count", lambda: gru()(X, lengths=[5]), ValueError, "lengths must have one entry per sequence"),
    ("layer lengths rank", lambda: gru()(X, lengths=[[5, 2]]), ValueError, "lengths must have one entry per sequence"),
    ("layer lengths float", lambda: gru()(X, lengths=[5.0, 2.0]), TypeError, "lengths must be integers"),
    ("layer lengths bool", lambda: gru()(X, lengths=[True, True]), TypeError, "lengths must be integers"),
    ("layer lengths object", lambda: gru()(X, lengths=np.array([5, None])), TypeError, "lengths must be integers"),
    # -- layers: backward ----------------------------------------------------------------------------------------------
    ("layer backward first", lambda: gru().backward(np.zeros((5, 2, 6))), RuntimeError, "before a forward"),
    ("layer dout shape", lambda: after_forward(gru()).backward(np.zeros((5, 2, 3))), ValueError,
     "dout must have shape (seq_len, batch, num_directions * hidden_size) = (5, 2, 6)"),
    ("layer dout float32", lambda: after_forward(gru()).backward(np.zeros((5, 2, 6), np.float32)), TypeError,
     "dout must have dtype float64"),
    ("layer dout NaN", lambda: after_forward(gru()).backward(np.full((5, 2, 6), np.nan)), ValueError,
     "dout contains NaN or Inf"),
    ("layer dh_n shape", lambda: after_forward(gru()).backward(np.zeros((5, 2, 6)), np.zeros((2, 2, 6))),
     ValueError, "dh_n must have shape"),
    ("lstm dc_n Inf", lambda: after_forward(lstm()).backward(np.zeros((5, 2, 6)), (np.zeros((1, 2, 6)),
                                                                                    np.full((1, 2, 6), np.inf))),
     ValueError, "dc_n contains NaN or Inf"),
    # -- layers: constructor and state_dict ----------------------------------------------------------------------------
    ("layer input_size 0", lambda: minirnn.RNN(0, 3), ValueError, "input_size must be a positive integer, got 0"),
    ("layer hidden_size float", lambda: minirnn.RNN(3, 2.0), ValueError, "hidden_size must be a positive integer"),
    ("layer num_layers bool", lambda: minirnn.RNN(3, 2, num_layers=True), ValueError,
     "num_layers must be a positive integer"),
    ("layer dropout 1", lambda: minirnn.RNN(3, 2, dropout=1.0), ValueError, "dropout must be a number in [0, 1)"),
    ("layer dropout NaN", lambda: minirnn.RNN(3, 2, dropout=float("nan")), ValueError, "dropout must be a number"),
    ("layer nonlinearity", lambda: minirnn.RNN(3, 2, nonlinearity="sigmoid"), ValueError,
     "nonlinearity must be one of ('tanh', 'relu'), got 'sigmoid'"),
    ("layer backend", lambda: minirnn.RNN(3, 2, backend="cuda"), ValueError,
     "backend must be one of ('auto', 'numpy', 'numba'), got 'cuda'"),
    ("layer dtype float16", lambda: minirnn.RNN(3, 2, dtype=np.float16), TypeError,
     "dtype must be np.float32 or np.float64, got float16"),
    ("layer dtype complex", lambda: minirnn.RNN(3, 2, dtype=np.complex128), TypeError, "dtype must be np.float32"),
    ("layer dtype unknown", lambda: minirnn.RNN(3, 2, dtype="foo"), TypeError, "dtype must be np.float32"),
    ("layer batch_first str", lambda: minirnn.RNN(3, 2, batch_first="yes"), TypeError,
     "batch_first must be True or False"),
    ("layer seed str", lambda: minirnn.RNN(3, 2, seed="a"), TypeError, "seed must be None or an integer >= 0"),
    ("layer seed float", lambda: minirnn.RNN(3, 2, seed=1.5), TypeError, "seed must be None or an integer >= 0"),
    ("layer unknown option", lambda: minirnn.RNN(3, 2, hiden=3), TypeError, "unexpected keyword argument 'hiden'"),
    ("layer state_dict shape", lambda: gru().load_state_dict(dict(gru().state_dict(), weight_hh_l0=np.zeros((18, 5)))),
     ValueError, "state_dict['weight_hh_l0'] must have shape (18, 6), got (18, 5)"),
    ("layer state_dict missing", lambda: gru().load_state_dict({}), ValueError, "missing"),
    ("layer state_dict NaN", lambda: gru().load_state_dict({k: v * np.nan for k, v in gru().state_dict().items()}),
     ValueError, "contains NaN or Inf"),
    ("layer state_dict complex", lambda: gru().load_state_dict({k: v.astype(complex)
                                                                for k, v in gru().state_dict().items()}),
     TypeError, "must be a real numeric array, got dtype complex128"),
    ("layer state_dict list", lambda: gru().load_state_dict([]), TypeError, "state must be a dict"),
    # -- Linear, Embedding ---------------------------------------------------------------------------------------------
    ("Linear x size", lambda: lin()(np.zeros((2, 5))), ValueError, "x must have shape (..., in_features) = (..., 4)"),
    ("Linear x int", lambda: lin()(np.zeros((2, 4), int)), TypeError, "x must be a floating array of dtype float64"),
    ("Linear x float16", lambda: lin()(np.zeros((2, 4), np.float16)), TypeError, "x must have the layer's dtype"),
    ("Linear x complex", lambda: lin()(np.zeros((2, 4), complex)), TypeError, "x must be a floating array"),
    ("Linear x empty", lambda: lin()(np.zeros((0, 4))), ValueError, "x must not be empty"),
    ("Linear x NaN", lambda: lin()(np.full((2, 4), np.nan)), ValueError, "x contains NaN or Inf"),
    ("Linear dy shape", lambda: ran(lin(), np.zeros((2, 4))).backward(np.zeros((2, 4))), ValueError,
     "dy must have the output's shape (2, 3)"),
    ("Linear dy int", lambda: ran(lin(), np.zeros((2, 4))).backward(np.zeros((2, 3), int)), TypeError,
     "dy must be a float32 or float64 array"),
    ("Linear dy complex", lambda: ran(lin(), np.zeros((2, 4))).backward(np.zeros((2, 3), complex)), TypeError,
     "dy must be a float32 or float64 array"),
    ("Linear dy NaN", lambda: ran(lin(), np.zeros((2, 4))).backward(np.full((2, 3), np.nan)), ValueError,
     "dy contains NaN or Inf"),
    ("Linear dtype unknown", lambda: Linear(2, 3, dtype="foo"), TypeError, "dtype must be float32 or float64"),
    ("Linear in_features 0", lambda: Linear(0, 3), ValueError, "in_features must be a positive integer"),
    ("Embedding idx float", lambda: Embedding(5, 3)(np.zeros(3)), TypeError, "idx must be an integer array"),
    ("Embedding idx range", lambda: Embedding(5, 3)(np.array([5])), ValueError,
     "idx must be in [0, num_embeddings) = [0, 5), got 5"),
    ("Embedding dy object", lambda: ran(Embedding(5, 3), np.array([1])).backward(np.zeros((1, 3), object)),
     TypeError, "dy must be a float32 or float64 array"),
    # -- models --------------------------------------------------------------------------------------------------------
    ("SequenceClassifier cell", lambda: SequenceClassifier("cnn", 4, 6, 3), ValueError,
     "cell must be one of ('rnn', 'lstm', 'gru'), got 'cnn'"),
    ("SequenceClassifier num_classes", lambda: SequenceClassifier("gru", 4, 6, 0), ValueError,
     "out_features must be a positive integer, got 0"),
    ("SequenceClassifier x float32", lambda: classifier()(np.zeros((2, 5, 4), np.float32)), TypeError,
     "x must have dtype float64"),
    ("SequenceClassifier lengths", lambda: classifier()(np.zeros((2, 5, 4)), lengths=[6, 1]), ValueError,
     "lengths must lie in 1..5"),
    ("SequenceClassifier dlogits shape", lambda: ran(classifier(), np.zeros((2, 5, 4))).backward(np.zeros((2, 4))),
     ValueError, "dlogits must have the output's shape (2, 3), got (2, 4)"),
    ("SequenceClassifier dlogits int", lambda: ran(classifier(), np.zeros((2, 5, 4))).backward(np.zeros((2, 3), int)),
     TypeError, "dlogits must be a float32 or float64 array"),
    ("SequenceClassifier dlogits NaN", lambda: ran(classifier(), np.zeros((2, 5, 4))).backward(
        np.full((2, 3), np.nan)), ValueError, "dlogits contains NaN or Inf"),
    ("CharLM vocab", lambda: CharLM("aab", 4), ValueError, "distinct single characters"),
    ("CharLM embed_dim", lambda: CharLM("ab", 4, embed_dim="a"), ValueError, "embed_dim must be a positive integer"),
    ("CharLM ids rank", lambda: char_lm()(np.zeros(3, int)), ValueError, "ids must have shape (T, B), got (3,)"),
    ("CharLM ids float", lambda: char_lm()(np.zeros((3, 2))), TypeError, "idx must be an integer array"),
    ("CharLM ids range", lambda: char_lm()(np.full((3, 2), 7)), ValueError, "idx must be in [0, num_embeddings)"),
    ("CharLM dlogits shape", lambda: ran(char_lm(), np.zeros((3, 2), int)).backward(np.zeros((3, 2, 5))),
     ValueError, "dlogits must have the output's shape (3, 2, 3)"),
    ("CharLM dlogits NaN", lambda: ran(char_lm(), np.zeros((3, 2), int)).backward(np.full((3, 2, 3), np.nan)),
     ValueError, "dlogits contains NaN or Inf"),
    ("CharLM sample prime", lambda: char_lm().sample("z", 3), ValueError, "character 'z', which is not in the vocab"),
    ("CharLM sample prime ids float", lambda: char_lm().sample([0.5], 3), TypeError,
     "prime must be a str or a sequence of integer ids"),
    ("CharLM sample temperature", lambda: char_lm().sample("a", 3, temperature=float("nan")), ValueError,
     "temperature must be a finite number >= 0"),
    ("CharLM sample length", lambda: char_lm().sample("a", -1), ValueError, "length must be an integer >= 0"),
    ("Forecaster x rank", lambda: forecaster()(np.zeros((5, 1))), ValueError,
     "x must have 3 dimensions (T, B, input_size)"),
    ("Forecaster x int", lambda: forecaster()(np.zeros((5, 2, 1), int)), TypeError, "x must have dtype float64"),
    ("Forecaster horizon", lambda: Forecaster("gru", 1, 4, horizon=0), ValueError,
     "horizon must be a positive integer, got 0"),
    ("Forecaster output_size", lambda: Forecaster("gru", 1, 4, output_size=0), ValueError,
     "output_size must be a positive integer, got 0"),
    ("Forecaster dy shape", lambda: ran(forecaster(), np.zeros((5, 2, 1))).backward(np.zeros((1, 2, 1))),
     ValueError, "dy must have shape (horizon, B, output_size) = (2, 2, 1)"),
    ("Forecaster dy int", lambda: ran(forecaster(), np.zeros((5, 2, 1))).backward(np.zeros((2, 2, 1), int)),
     TypeError, "dy must be a float32 or float64 array"),
    # -- losses --------------------------------------------------------------------------------------------------------
    ("cross-entropy logits int", lambda: losses.softmax_cross_entropy(np.zeros((2, 3), int), np.zeros(2, int)),
     TypeError, "logits must be a float32 or float64 array, got dtype int64"),
    ("cross-entropy logits float16", lambda: losses.softmax_cross_entropy(np.zeros((2, 3), np.float16),
                                                                          np.zeros(2, int)),
     TypeError, "logits must be a float32 or float64 array"),
    ("cross-entropy logits object", lambda: losses.softmax_cross_entropy(np.zeros((2, 3), object), np.zeros(2, int)),
     TypeError, "logits must be a float32 or float64 array"),
    ("cross-entropy logits NaN", lambda: losses.softmax_cross_entropy(np.full((2, 3), np.nan), np.zeros(2, int)),
     ValueError, "logits contains NaN or Inf"),
    ("cross-entropy logits rank", lambda: losses.softmax_cross_entropy(np.zeros(3), np.zeros((), int)), ValueError,
     "logits must have shape (N, C) or (T, B, C)"),
    ("cross-entropy logits empty", lambda: losses.softmax_cross_entropy(np.zeros((0, 3)), np.zeros(0, int)),
     ValueError, "logits must not be empty"),
    ("cross-entropy targets float", lambda: losses.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(2)), TypeError,
     "targets must be an integer array"),
    ("cross-entropy targets range", lambda: losses.softmax_cross_entropy(np.zeros((2, 3)), np.array([0, 3])),
     ValueError, "targets must be class indices in [0, C) = [0, 3), got 3"),
    ("cross-entropy targets shape", lambda: losses.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(3, int)),
     ValueError, "targets must have shape logits.shape[:-1] = (2,), got (3,)"),
    ("cross-entropy mask values", lambda: losses.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(2, int),
                                                                       mask=np.array([2, 1])),
     ValueError, "mask must contain only 0 and 1"),
    ("cross-entropy mask all zero", lambda: losses.softmax_cross_entropy(np.zeros((2, 3)), np.zeros(2, int),
                                                                         mask=np.zeros(2)),
     ValueError, "mask must keep at least one entry"),
    ("mse pred complex", lambda: losses.mse(np.zeros((2, 3), complex), np.zeros((2, 3))), TypeError,
     "pred must be a float32 or float64 array"),
    ("mse target NaN", lambda: losses.mse(np.zeros((2, 3)), np.full((2, 3), np.nan)), ValueError,
     "target contains NaN or Inf"),
    ("mse shapes", lambda: losses.mse(np.zeros((2, 3)), np.zeros((3, 2))), ValueError,
     "target must have the shape of pred (2, 3), got (3, 2)"),
    ("mse empty", lambda: losses.mse(np.zeros((0, 3)), np.zeros((0, 3))), ValueError, "pred must not be empty"),
    # -- optimizers and clipping ---------------------------------------------------------------------------------------
    ("SGD lr negative", lambda: optim.SGD(lin(), lr=-1), ValueError, "lr must be a finite number >= 0, got -1"),
    ("SGD lr NaN", lambda: optim.SGD(lin(), lr=float("nan")), ValueError, "lr must be a finite number >= 0"),
    ("SGD lr str", lambda: optim.SGD(lin(), lr="0.1"), ValueError, "lr must be a finite number >= 0, got '0.1'"),
    ("SGD module", lambda: optim.SGD([np.zeros(2)], lr=0.1), TypeError, "module must have `params` and `grads`"),
    ("SGD unknown option", lambda: optim.SGD(lin(), lr=0.1, momentun=0.9), TypeError,
     "unexpected keyword argument 'momentun'"),
    ("SGD nesterov", lambda: optim.SGD(lin(), lr=0.1, nesterov=True), ValueError, "nesterov=True needs momentum > 0"),
    ("Adam betas 1", lambda: optim.Adam(lin(), betas=(0.9, 1.0)), ValueError, "betas must be two numbers in [0, 1)"),
    ("Adam betas str", lambda: optim.Adam(lin(), betas="ab"), ValueError, "betas must be two numbers in [0, 1)"),
    ("Adam betas number", lambda: optim.Adam(lin(), betas=0.9), ValueError, "betas must be two numbers in [0, 1)"),
    ("Adagrad eps", lambda: optim.Adagrad(lin(), eps=-1), ValueError, "eps must be a finite number >= 0"),
    ("optimizer step NaN gradient", lambda: (lambda m: (m.grads["bias"].__setitem__(0, np.nan),
                                                        optim.SGD(m, lr=0.1).step()))(lin()),
     ValueError, "grads['bias'] contains NaN or Inf; no parameter was updated"),
    ("optimizer state of another kind", lambda: optim.SGD(lin(), lr=0.1).load_state_dict(optim.Adam(lin()).state_dict()),
     ValueError, "state['optimizer'] must be 'SGD', got 'Adam'"),
    ("optimizer state not a dict", lambda: optim.SGD(lin(), lr=0.1).load_state_dict(5), TypeError,
     "state must be a dict"),
    ("clip_grad_norm max_norm 0", lambda: optim.clip_grad_norm(lin(), 0), ValueError,
     "max_norm must be a number > 0, got 0"),
    ("clip_grad_value negative", lambda: optim.clip_grad_value(lin(), -1), ValueError,
     "clip_value must be a number > 0"),
    ("clip_grad_norm list of lists", lambda: optim.clip_grad_norm([[1.0]], 1.0), TypeError,
     "grads_or_module must be a Module, a dict of arrays or a list of arrays"),
    # -- tasks ---------------------------------------------------------------------------------------------------------
    ("adding_problem n", lambda: tasks.adding_problem(0, 10), ValueError, "n must be an integer >= 1, got 0"),
    ("adding_problem T", lambda: tasks.adding_problem(2, 1), ValueError, "T must be an integer >= 2, got 1"),
    ("adding_problem seed", lambda: tasks.adding_problem(2, 10, seed="a"), TypeError, "seed must be an int or None"),
    ("adding_problem seed and rng", lambda: tasks.adding_problem(2, 10, seed=1, rng=np.random.default_rng()),
     ValueError, "give seed or rng, not both"),
    ("copy_memory copy_len", lambda: tasks.copy_memory(2, 10, copy_len=0), ValueError,
     "copy_len must be an integer >= 1"),
    ("sine_series freqs NaN", lambda: tasks.sine_series(10, freqs=(float("nan"),)), ValueError,
     "freqs must be one or more frequencies in (0, 0.5]"),
    ("sine_series noise", lambda: tasks.sine_series(10, noise=-1.0), ValueError, "noise must be a standard deviation"),
    ("make_windows series NaN", lambda: tasks.make_windows(np.full(20, np.nan), 5), ValueError,
     "series contains NaN or Inf"),
    ("make_windows series complex", lambda: tasks.make_windows(np.zeros(20, complex), 5), TypeError,
     "series must be a real numeric array"),
    ("make_windows series rank", lambda: tasks.make_windows(np.zeros((3, 3, 3)), 1), ValueError,
     "series must have shape (L,) or (L, F)"),
    ("make_windows too short", lambda: tasks.make_windows(np.zeros(3), 5), ValueError,
     "series must have at least window + horizon = 6 steps, got 3"),
    ("nino_sst region", lambda: tasks.nino_sst("9"), ValueError, "region must be one of"),
    ("Vocab decode range", lambda: tasks.Vocab("ab").decode([5]), ValueError, "ids must be integers in [0, 2)"),
    ("batchify ids float", lambda: tasks.batchify(np.zeros(10), 2), TypeError, "ids must be integer symbol ids"),
    ("batchify batch_size", lambda: tasks.batchify(np.arange(10), 0), ValueError,
     "batch_size must be an integer >= 1"),
    ("train_val_split fraction", lambda: tasks.train_val_split(np.arange(10), 1.0), ValueError,
     "val_fraction must be in (0, 1)"),
    # -- interop -------------------------------------------------------------------------------------------------------
    ("from_torch list", lambda: interop.from_torch([1]), TypeError,
     "module_or_state_dict must be a torch.nn.RNN/LSTM/GRU or a state_dict"),
    ("from_torch missing keys", lambda: interop.from_torch({"weight_ih_l0": np.zeros((9, 2))}), ValueError,
     "state_dict must hold PyTorch recurrent weights 'weight_ih_l0' and 'weight_hh_l0'"),
    ("from_torch int weights", lambda: interop.from_torch({"weight_ih_l0": np.zeros((9, 2), int),
                                                           "weight_hh_l0": np.zeros((9, 3), int)}),
     TypeError, "must be a float32 or float64 array, got dtype int64"),
    ("from_torch cell", lambda: interop.from_torch({"weight_ih_l0": np.zeros((9, 2)), "weight_hh_l0": np.zeros((9, 3))},
                                                   cell="cnn"),
     ValueError, "cell must be one of 'rnn', 'lstm', 'gru'"),
    ("to_torch_state_dict Linear", lambda: interop.to_torch_state_dict(lin()), TypeError,
     "layer must be a minirnn RNN, LSTM or GRU layer, got Linear"),
    ("to_keras_weights int", lambda: interop.to_keras_weights(5), TypeError, "layer must be a minirnn RNN"),
    ("from_keras minirnn layer", lambda: interop.from_keras(gru()), TypeError,
     "keras_layer must be a Keras SimpleRNN, LSTM, GRU or Bidirectional layer, got GRU"),
    ("from_keras empty list", lambda: interop.from_keras([]), ValueError, "non-empty list"),
    ("classifier_from_keras int", lambda: interop.classifier_from_keras(5), TypeError,
     "keras_model must be a Keras Model or Sequential"),
    # -- loading weights and optimizer state -----------------------------------------------------------------------------
    ("load_state_dict 1e39 into float32", lambda: _load_f32({"weight_hh_l0": 1e39}), ValueError,
     "state_dict['weight_hh_l0'] holds values that do not fit float32"),
    ("optimizer state lr NaN", lambda: _load_adam(lr=float("nan")), ValueError,
     "state['lr'] must be a finite number >= 0, got nan"),
    ("optimizer state lr text", lambda: _load_adam(lr="fast"), ValueError, "state['lr'] must be a finite number"),
    ("optimizer state step -3", lambda: _load_adam(step=-3), ValueError,
     "state['step'] must be an integer >= 0, got -3"),
    ("optimizer state beta2 1", lambda: _load_adam(beta2=1.0), ValueError, "state['beta2'] must be a number in [0, 1)"),
    ("optimizer state nesterov text", lambda: _load_sgd(nesterov="yes"), ValueError,
     "state['nesterov'] must be True or False"),
    ("optimizer state buffer Inf", lambda: _load_adam(**{"exp_avg:weight": np.full((3, 4), np.inf)}), ValueError,
     "state['exp_avg:weight'] must hold finite numbers"),
]


def _load_f32(values):
    """Load a float64 state_dict into a float32 LSTM with entry [0, 0] of some tensors set to ``values``."""
    layer = minirnn.LSTM(4, 6, seed=0, dtype=np.float32, backend="numpy")
    state = {k: v.astype(np.float64) for k, v in layer.state_dict().items()}
    for name, value in values.items():
        state[name][0, 0] = value
    before = layer.state_dict()
    try:
        layer.load_state_dict(state)
    finally:
        assert all(np.array_equal(before[k], v) for k, v in layer.params.items())   # nothing changed


def _load_adam(**changes):
    model = lin()
    opt = optim.Adam(model, lr=1e-3)
    model(np.ones((2, 4)))
    model.backward(np.ones((2, 3)))
    opt.step()
    state = dict(opt.state_dict(), **changes)
    before = opt.state_dict()
    try:
        opt.load_state_dict(state)
    finally:
        after = opt.state_dict()
        assert all(np.array_equal(np.asarray(before[k]), np.asarray(after[k])) for k in before)


def _load_sgd(**changes):
    model = lin()
    opt = optim.SGD(model, lr=0.1, momentum=0.9)
    opt.load_state_dict(dict(opt.state_dict(), **changes))


@pytest.mark.parametrize("call,error,message", [row[1:] for row in ROWS], ids=[row[0] for row in ROWS])
def test_bad_input_raises_a_clear_error(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_the_table_has_one_row_per_id():
    ids = [row[0] for row in ROWS]
    assert len(ids) == len(set(ids))


def test_bad_input_to_the_numba_backend_fails_before_compiled_code(monkeypatch):
    """Validation runs first: with the kernels made unusable, a bad x still gets the same clear error."""
    from minirnn import kernels

    def no_kernel(*args, **kwargs):
        raise AssertionError("a compiled kernel was called")

    monkeypatch.setattr(kernels.gru, "forward", no_kernel)
    layer = minirnn.GRU(4, 6, seed=0, backend="numba")
    for bad, error in [(X.astype(np.int64), TypeError), (np.full((5, 2, 4), np.nan), ValueError),
                       (np.zeros((0, 2, 4)), ValueError)]:
        with pytest.raises(error, match="GRU: x"):
            layer(bad)
    with pytest.raises(ValueError, match="lengths must lie in"):
        layer(X, lengths=[9, 1])


# -- valid read-only and non-contiguous inputs simply work ---------------------------------------------------------------
def _readonly(a):
    a = a.copy()
    a.flags.writeable = False
    return a


@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_read_only_and_non_contiguous_valid_inputs_work_everywhere(backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 5, 4))
    strided = np.asfortranarray(x)[:, ::1, :]
    model = SequenceClassifier("lstm", 4, 6, 3, seed=0, backend=backend)
    expected = model(x, lengths=[5, 2])
    np.testing.assert_array_equal(model(_readonly(strided), lengths=_readonly(np.array([5, 2]))), expected)
    d = model.backward(_readonly(np.ones((2, 3))))
    model(x, lengths=[5, 2])                                   # one backward per forward
    np.testing.assert_array_equal(d, model.backward(np.ones((2, 3))))
    lm = CharLM("abc", 4, cell="gru", seed=0, backend=backend)
    ids = rng.integers(0, 3, size=(4, 2))
    logits, _ = lm(ids)
    np.testing.assert_array_equal(lm(_readonly(ids.T.copy().T))[0], logits)
    lm.backward(_readonly(np.asfortranarray(np.ones_like(logits))))
    loss, dlogits = losses.softmax_cross_entropy(_readonly(np.asfortranarray(logits)), _readonly(ids))
    assert np.isfinite(loss) and dlogits.flags.writeable
    l2, dpred = losses.mse(_readonly(x[:, ::2]), _readonly(np.zeros_like(x[:, ::2])))
    assert np.isfinite(l2) and dpred.shape == (2, 3, 4)
    f = Forecaster("gru", 1, 4, seed=0, backend=backend)
    series = tasks.sine_series(40, seed=0)
    X_w, _ = tasks.make_windows(_readonly(series), 8)
    f(_readonly(X_w[:, ::2]))


# -- checkpoints ---------------------------------------------------------------------------------------------------------
@pytest.fixture
def saved(tmp_path):
    model = Linear(3, 2, seed=0)
    return save_checkpoint(tmp_path / "ck.npz", model, meta={"step": 1}), tmp_path


CHECKPOINT_ROWS = [
    ("save model", lambda p, d: save_checkpoint(d / "x.npz", 5), TypeError, "model must be a minirnn Module"),
    ("save optimizer", lambda p, d: save_checkpoint(d / "x.npz", lin(), optimizer=5), TypeError,
     "optimizer must be a minirnn optimizer"),
    ("save meta", lambda p, d: save_checkpoint(d / "x.npz", lin(), meta={"a": object()}), TypeError,
     "meta must be JSON-serialisable"),
    ("save object array", lambda p, d: save_checkpoint(d / "x.npz", lin(), arrays={"a": np.array([None])}), TypeError,
     "array a must be a numeric array"),
    ("save path", lambda p, d: save_checkpoint(5, lin()), TypeError, "path must be a str or os.PathLike"),
    ("save rng", lambda p, d: save_checkpoint(d / "x.npz", lin(), rng=5), TypeError,
     "rng must be a numpy.random.Generator"),
    ("load text file", lambda p, d: (d.joinpath("t.npz").write_text("hello"), load_checkpoint(d / "t.npz", lin())),
     ValueError, "is not a readable .npz file (truncated or corrupted?)"),
    ("load folder", lambda p, d: load_checkpoint(d, lin()), ValueError, "is a folder, not a checkpoint file"),
    ("load other shapes", lambda p, d: load_checkpoint(p, Linear(3, 3)), ValueError,
     "holds a Linear(3, 2, bias=True), which cannot be loaded into a Linear(3, 3, bias=True)"),
    ("load model", lambda p, d: load_checkpoint(p, 5), TypeError, "model must be a minirnn Module"),
    ("load rng", lambda p, d: load_checkpoint(p, Linear(3, 2), rng=5), TypeError,
     "rng must be a numpy.random.Generator or None"),
    ("load path", lambda p, d: load_checkpoint(None, lin()), TypeError, "path must be a str or os.PathLike"),
    ("load optimizer not saved", lambda p, d: load_checkpoint(p, Linear(3, 2), optim.SGD(Linear(3, 2), lr=0.1)),
     ValueError, "has no optimizer state, but an optimizer was given"),
]


@pytest.mark.parametrize("call,error,message", [row[1:] for row in CHECKPOINT_ROWS],
                         ids=[row[0] for row in CHECKPOINT_ROWS])
def test_bad_checkpoint_calls_raise_a_clear_error(saved, call, error, message):
    path, folder = saved
    with pytest.raises(error) as info:
        call(path, folder)
    assert message in str(info.value)


def test_missing_checkpoint_is_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_checkpoint(tmp_path / "missing.npz", lin())


# -- the training loop -------------------------------------------------------------------------------------------------
def _fit(**kw):
    model = lin()
    args = dict(model=model, optimizer=optim.SGD(model, lr=0.1), train_step=lambda m, r, s, c: (0.0, 0.0, None),
                steps=2, rng=np.random.default_rng(0), progress=False)
    args.update(kw)
    return train.fit(args.pop("model"), args.pop("optimizer"), args.pop("train_step"), args.pop("steps"), **args)


FIT_ROWS = [
    ("fit steps", lambda: _fit(steps=-1), ValueError, "steps must be an integer >= 0, got -1"),
    ("fit steps float", lambda: _fit(steps=2.5), ValueError, "steps must be an integer >= 0"),
    ("fit rng", lambda: _fit(rng=0), TypeError, "rng must be a numpy.random.Generator, got int"),
    ("fit clip_norm", lambda: _fit(clip_norm=-1), ValueError, "clip_norm must be a number > 0 or None"),
    ("fit clip_norm inf", lambda: _fit(clip_norm=float("inf")), ValueError, "clip_norm must be a number > 0"),
    ("fit checkpoint_every without path", lambda: _fit(checkpoint_every=1), ValueError,
     "checkpoint_path must be given with resume=True or checkpoint_every > 0"),
    ("fit train_step", lambda: _fit(train_step=5), TypeError, "train_step must be a function"),
    ("fit train_step result", lambda: _fit(train_step=lambda m, r, s, c: (0.0, 0.0)), TypeError,
     "train_step must return (loss, metric, carry)"),
    ("fit unknown option", lambda: _fit(clip=1.0), TypeError, "unexpected keyword argument 'clip'"),
]


@pytest.mark.parametrize("call,error,message", [row[1:] for row in FIT_ROWS], ids=[row[0] for row in FIT_ROWS])
def test_bad_fit_arguments_raise_a_clear_error(call, error, message):
    with pytest.raises(error) as info:
        call()
    assert message in str(info.value)


def test_a_loss_refusing_nan_logits_stops_training_with_the_step():
    model = lin()

    def step_fn(m, rng, step, carry):
        x = rng.normal(size=(4, 4))
        if step == 2:
            m.weight[...] = np.inf                       # the model now produces Inf/NaN logits
        logits = m(x)
        loss, d = losses.softmax_cross_entropy(logits, np.zeros(4, int))
        m.backward(d)
        return loss, float("nan"), None

    with pytest.raises(train.NonFiniteError, match=r"step 3: logits contains NaN or Inf.*no checkpoint was written"):
        train.fit(model, optim.SGD(model, lr=0.1), step_fn, 5, rng=np.random.default_rng(0), progress=False)


# -- the command line ------------------------------------------------------------------------------------------------------
CLI_ROWS = [
    ("train steps", ["minirnn", "train", "adding", "--steps", "-1"], "--steps must be a positive integer, got -1"),
    ("train hidden", ["minirnn", "train", "adding", "--hidden", "0"], "--hidden must be a positive integer, got 0"),
    ("train lr", ["minirnn", "train", "adding", "--lr", "nan"], "--lr must be a positive number, got nan"),
    ("train clip", ["minirnn", "train", "adding", "--clip", "-1"], "--clip must be a number >= 0"),
    ("train cell", ["minirnn", "train", "adding", "--cell", "cnn"], "argument --cell: invalid choice: 'cnn'"),
    ("train task", ["minirnn", "train", "sorting"], "invalid choice: 'sorting'"),
    ("train unknown option", ["minirnn", "train", "adding", "--bogus"], "unrecognized arguments: --bogus"),
    ("sample missing", ["minirnn", "sample", "{tmp}/missing.npz"], "error: checkpoint '{tmp}/missing.npz' does not exist"),
    ("sample not a checkpoint", ["minirnn", "sample", "{tmp}/text.npz"], "is not a readable .npz file"),
    ("sample length", ["minirnn", "sample", "{tmp}/missing.npz", "--length", "-1"], "--length must be >= 0, got -1"),
    ("assignment cell", ["minirnn", "assignment", "new", "cnn", "--out", "{tmp}/hw"], "invalid choice: 'cnn'"),
    ("assignment grade missing folder", ["minirnn", "assignment", "grade", "{tmp}/nowhere"],
     "folder must be an existing directory"),
    ("unknown command", ["minirnn", "frobnicate"], "invalid choice: 'frobnicate'"),
    ("gradcheck target", ["gradcheck", "--target", "nosuch:f"], "--target: cannot import module 'nosuch'"),
    ("gradcheck eps", ["gradcheck", "--target", "gradcheck.example:loss_and_grads", "--eps", "-1"],
     "eps must be a positive finite number, got -1.0"),
    ("train adding T 1", ["minirnn", "train", "adding", "--T", "1", "--out", "{tmp}/r"],
     "minirnn train: --T must be at least 2 for the adding task"),
    ("train classify T 1", ["minirnn", "train", "classify", "--T", "1", "--out", "{tmp}/r"],
     "--T must be at least 2 for the classify task"),
    ("train forecast T 1000", ["minirnn", "train", "forecast", "--T", "1000", "--out", "{tmp}/r"],
     "--T must be at most 585 for forecast"),
    ("train hidden 1e11", ["minirnn", "train", "adding", "--hidden", "100000000000", "--out", "{tmp}/r"],
     "GB of memory"),
    ("train batch 1e11", ["minirnn", "train", "adding", "--batch", "100000000000", "--out", "{tmp}/r"],
     "GB of memory"),
    ("train resume nothing", ["minirnn", "train", "copy", "--resume", "--out", "{tmp}/r"],
     "there is no run to resume in"),
    ("train out is a file", ["minirnn", "train", "copy", "--out", "{tmp}/text.npz"], "is a file, not a folder"),
    ("train out under a file", ["minirnn", "train", "copy", "--out", "{tmp}/text.npz/run"], "cannot be created"),
    ("sample temperature 1e-320", ["minirnn", "sample", "{tmp}/text.npz", "--temperature", "1e-320"],
     "--temperature must be 0 (greedy) or a finite number >= 1e-06"),
    ("assignment grade json folder", ["minirnn", "assignment", "grade", "{tmp}", "--json", "{tmp}/no/g.json"],
     "the folder {tmp}/no does not exist"),
    ("gradcheck json folder", ["gradcheck", "--target", "gradcheck.example:loss_and_grads", "--json",
                               "{tmp}/no/r.json"], "the folder '{tmp}/no' does not exist"),
    ("minirnn gradcheck json folder", ["minirnn", "gradcheck", "--json", "{tmp}/no/r.json"],
     "the folder '{tmp}/no' does not exist"),
    ("vanishing T 0", ["minirnn", "vanishing", "--T", "0", "--out", "{tmp}/v"],
     "minirnn vanishing: --T must be an integer >= 2, got 0"),
    ("demo out under a file", ["minirnn", "demo", "--out", "{tmp}/text.npz/demo"], "minirnn demo: --out"),
]
_MAIN = {"minirnn": "from minirnn.cli import main", "gradcheck": "from gradcheck.cli import main"}


@pytest.mark.parametrize("argv,message", [row[1:] for row in CLI_ROWS], ids=[row[0] for row in CLI_ROWS])
def test_bad_command_lines_exit_with_a_sentence_and_no_traceback(tmp_path, argv, message):
    (tmp_path / "text.npz").write_text("hello")
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code = f"import sys; {_MAIN[argv[0]]}; sys.argv[0] = {argv[0]!r}; sys.exit(main({argv[1:]!r}))"
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run([sys.executable, "-c", code], cwd=str(tmp_path), capture_output=True, text=True,
                            timeout=120, env=dict(os.environ, PYTHONPATH=root))
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert "Traceback" not in output, output
    assert message.replace("{tmp}", str(tmp_path)) in output, output
