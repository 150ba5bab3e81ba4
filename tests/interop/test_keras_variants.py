"""Keras 3 (torch backend) is the reference for recurrent dropout with fixed masks and for Bidirectional merge modes:
the same weights (through from_keras), the same inputs, outputs and every gradient compared (torch autograd through
the Keras layer), float64 within 1e-10 and float32 within 1e-4 relative, on both backends.

Keras 3 on the torch backend runs float64 matrix products in float32: its type promotion maps float64 to float32
on every backend but TensorFlow (``BIT64_TO_BIT32_DTYPE`` in ``keras/src/backend/common/dtypes.py``, "to be aligned
with JAX's default"), so a float64 Keras layer agrees with any float64 computation only to ~1e-7. The fixture below
switches that one entry off for these tests, so the Keras reference computes its own equations in float64.
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from minirnn.interop import from_keras  # noqa: E402
from minirnn.interop.keras import keras_weights_to_params  # noqa: E402

B, T, I, H = 3, 5, 4, 3


@pytest.fixture(autouse=True)
def keras_float64_in_float64(monkeypatch):
    from keras.src.backend.common import dtypes
    monkeypatch.setitem(dtypes.BIT64_TO_BIT32_DTYPE, "float64", "float64")
TOL = {"float64": 1e-10, "float32": 1e-4}
GATE_BLOCKS = {"SimpleRNN": 1, "LSTM": 4, "GRU": 3}


def assert_close(ours, theirs, dtype, what):
    """|ours - theirs| <= tol * max|theirs| everywhere (relative to the tensor's scale)."""
    tol = TOL[dtype]
    np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * max(np.abs(theirs).max(), 1e-30), err_msg=what)


def built_keras(kind, dtype, rng, bidirectional=False, merge_mode="concat", layers=1, **kwargs):
    """Built Keras layers (each with return_sequences=True) with random weights and biases."""
    out, width = [], I
    for _ in range(layers):
        layer = getattr(keras.layers, kind)(H, return_sequences=True, dtype=dtype, **kwargs)
        if bidirectional:
            layer = keras.layers.Bidirectional(layer, merge_mode=merge_mode, dtype=dtype)
        layer.build((None, None, width))
        layer.set_weights([rng.uniform(-0.6, 0.6, w.shape).astype(w.dtype) for w in layer.get_weights()])
        out.append(layer)
        width = 2 * H if bidirectional and merge_mode == "concat" else H
    return out


def keras_run(layers, x, G, training=False):
    """Output (B, T, F) and torch-autograd gradients of L = sum(out * G): dx and each layer's get_weights() order."""
    xt = torch.tensor(x, requires_grad=True)
    h = xt
    for layer in layers:
        h = layer(h, training=training)
    (h * torch.tensor(G)).sum().backward()
    grads = [[v.value.grad.detach().numpy().copy() for v in layer.trainable_weights] for layer in layers]
    return h.detach().numpy(), xt.grad.numpy(), grads


def minirnn_grads_as_keras(layer, kind, layers):
    """The minirnn layer's gradients in Keras' get_weights() layout, one list per Keras layer. A single Keras bias b
    stands for b_ih + b_hh, so its gradient is minirnn's d b_ih (= d b_hh), not their sum."""
    from minirnn.cells import registry
    from minirnn.interop.keras import _params_to_keras_weights
    cell = registry.get({"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[kind])
    grads = dict(layer.grads)
    if cell.keras_biases == 1:
        grads.update({k: np.zeros_like(v) for k, v in grads.items() if k.startswith("bias_hh")})
    out = []
    for k in range(len(layers)):
        weights = []
        for d in range(layer.num_directions):
            suffix = f"l{k}" + ("_reverse" if d == 1 else "")
            weights += _params_to_keras_weights(cell, grads, H, True, suffix)
        out.append(weights)
    return out


def fixed_masks(rng, count, dtype, p=0.4):
    """``count`` inverted-dropout masks (B, H): 0 or 1/(1-p)."""
    return [((rng.random((B, H)) >= p) / (1 - p)).astype(dtype) for _ in range(count)]


def use_masks_in_keras(layers, masks, kind):
    """Every Keras cell (forward, then backward layer, layer by layer) uses its fixed mask for all gate blocks."""
    cells = []
    for layer in layers:
        cells += [layer.forward_layer.cell, layer.backward_layer.cell] if hasattr(layer, "forward_layer") \
            else [layer.cell]
    for cell, mask in zip(cells, masks):
        m = torch.tensor(mask)
        value = m if kind == "SimpleRNN" else [m] * GATE_BLOCKS[kind]
        cell.get_recurrent_dropout_mask = lambda step_input, value=value: value


def use_masks_in_minirnn(layer, masks):
    """The layer draws the given masks, in its order (layer by layer, forward then reverse)."""
    queue = list(masks)
    layer._recurrent_mask = lambda B_: queue.pop(0)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_recurrent_dropout_with_fixed_masks_matches_keras(kind, bidirectional, dtype, backend):
    rng = np.random.default_rng(["SimpleRNN", "LSTM", "GRU"].index(kind) + 10 * bidirectional)
    layers = built_keras(kind, dtype, rng, bidirectional=bidirectional, layers=2, recurrent_dropout=0.4,
                         **({"reset_after": True} if kind == "GRU" else {}))
    layer = from_keras(layers, backend=backend)
    assert layer.recurrent_dropout == pytest.approx(0.4)
    masks = fixed_masks(rng, 2 * layer.num_directions, dtype)
    x = rng.normal(size=(B, T, I)).astype(dtype)
    G = rng.normal(size=(B, T, layer.output_size)).astype(dtype)
    use_masks_in_keras(layers, masks, kind)
    out_k, dx_k, grads_k = keras_run(layers, x, G, training=True)
    use_masks_in_minirnn(layer, masks)
    layer.train()
    out, _ = layer(x)
    dx, _ = layer.backward(G)
    assert_close(out, out_k, dtype, "out")
    assert_close(dx, dx_k, dtype, "dx")
    for k, (ours, theirs) in enumerate(zip(minirnn_grads_as_keras(layer, kind, layers), grads_k)):
        for n, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, dtype, f"layer {k} weight {n}")
    # the masks mattered: without them (evaluation) the output is different
    del layer._recurrent_mask
    layer.eval()
    assert np.abs(layer(x)[0] - out).max() > 1e-3


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
@pytest.mark.parametrize("kind", ["SimpleRNN", "LSTM", "GRU"])
def test_bidirectional_merge_modes_match_keras_with_all_gradients(kind, merge_mode, dtype, backend):
    rng = np.random.default_rng(["concat", "sum", "mul", "ave"].index(merge_mode))
    layers = built_keras(kind, dtype, rng, bidirectional=True, merge_mode=merge_mode, layers=2)
    layer = from_keras(layers, backend=backend)
    assert (layer.merge_mode, layer.output_size) == (merge_mode, 2 * H if merge_mode == "concat" else H)
    x = rng.normal(size=(B, T, I)).astype(dtype)
    G = rng.normal(size=(B, T, layer.output_size)).astype(dtype)
    out_k, dx_k, grads_k = keras_run(layers, x, G)
    out, _ = layer(x)
    dx, _ = layer.backward(G)
    assert_close(out, out_k, dtype, "out")
    assert_close(dx, dx_k, dtype, "dx")
    for k, (ours, theirs) in enumerate(zip(minirnn_grads_as_keras(layer, kind, layers), grads_k)):
        for n, (a, b) in enumerate(zip(ours, theirs)):
            assert_close(a, b, dtype, f"layer {k} weight {n}")


@pytest.mark.parametrize("merge_mode", ["sum", "mul", "ave"])
def test_merge_modes_on_padded_batches_match_keras_final_features(merge_mode):
    """With Masking, Keras' Bidirectional(return_sequences=False) merges the two directions' final states; minirnn's
    h_n rows merged the same way are those numbers (lengths instead of a mask)."""
    from minirnn.nn.merge import merge
    rng = np.random.default_rng(7)
    keras_layer = built_keras("LSTM", "float64", rng, bidirectional=True, merge_mode=merge_mode)[0]
    lengths = np.array([5, 3, 1])
    x = rng.normal(size=(B, T, I))
    for b, n in enumerate(lengths):
        x[b, n:] = 0
    last = keras.layers.Bidirectional(keras.layers.LSTM(H, dtype="float64"), merge_mode=merge_mode, dtype="float64")
    last.build((None, None, I))
    last.set_weights(keras_layer.get_weights())
    expected = last(keras.layers.Masking(0.0, dtype="float64")(torch.tensor(x))).detach().numpy()
    layer = from_keras(keras_layer, backend="numba")
    _, (h_n, _) = layer(x, lengths=lengths)
    ours = merge([h_n[0][None], h_n[1][None]], merge_mode)[0]
    assert_close(ours, expected, "float64", "final features")


def test_to_keras_keeps_merge_mode_and_recurrent_dropout():
    import minirnn
    from minirnn.interop import to_keras
    layer = minirnn.GRU(I, H, num_layers=2, bidirectional=True, merge_mode="ave", recurrent_dropout=0.25, seed=0,
                        batch_first=True)
    keras_layers = to_keras(layer, return_sequences=True)
    assert [k.get_config()["merge_mode"] for k in keras_layers] == ["ave", "ave"]
    assert keras_layers[0].forward_layer.get_config()["recurrent_dropout"] == 0.25
    x = np.random.default_rng(0).normal(size=(B, T, I))
    layer.eval()
    expected = x
    for k in keras_layers:
        expected = k(torch.tensor(expected)).detach().numpy()
    assert_close(layer(x)[0], expected, "float64", "out")


def test_layer_norm_and_non_concat_merges_are_refused_where_the_framework_has_none():
    import minirnn
    from minirnn.interop import to_keras, to_torch
    with pytest.raises(ValueError, match="layer_norm=True; keras has no built-in"):
        to_keras(minirnn.LSTM(I, H, layer_norm=True))
    with pytest.raises(ValueError, match="layer_norm=True; torch has no built-in"):
        to_torch(minirnn.GRU(I, H, layer_norm=True))
    with pytest.raises(ValueError, match="merge_mode='sum'; PyTorch"):
        to_torch(minirnn.LSTM(I, H, bidirectional=True, merge_mode="sum"))


def test_keras_weights_to_params_is_unchanged_by_recurrent_dropout():
    """recurrent_dropout changes no weight: the parameters read from a Keras layer with and without it agree."""
    rng = np.random.default_rng(3)
    a = built_keras("LSTM", "float64", rng, recurrent_dropout=0.5)[0]
    params = keras_weights_to_params("lstm", a.get_weights(), H, True, "l0")
    assert sorted(params) == ["bias_hh_l0", "bias_ih_l0", "weight_hh_l0", "weight_ih_l0"]
    np.testing.assert_array_equal(from_keras(a).params["weight_hh_l0"], params["weight_hh_l0"])
