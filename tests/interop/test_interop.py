"""minirnn.interop moves weights in and out of PyTorch and Keras exactly: every mapping both ways, round trips, outputs
on the same weights, and the refusals (odd activations, go_backwards, ...) with clear messages. The variants
(proj_size, GRU reset_after=False, peepholes) are in test_variants_interop.py.

Keras note (measured): Keras 3's ``ops.matmul`` casts 64-bit inputs to 32-bit ("aligned with JAX's default"), so even a
float64 Keras layer multiplies in float32. Keras outputs are compared at float32 round-off (1e-5); weights exactly."""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import minirnn  # noqa: E402
from minirnn.interop import (from_keras, from_torch, to_keras, to_keras_weights, to_torch,  # noqa: E402
                             to_torch_state_dict)

I, H, T, B = 4, 5, 6, 3
LENGTHS = [6, 4, 1]
KERAS_TOL = dict(rtol=1e-5, atol=1e-5)


def torch_module(cell, dtype=torch.float64, **kwargs):
    if cell.startswith("rnn"):
        return torch.nn.RNN(I, H, nonlinearity=cell[4:], dtype=dtype, **kwargs)
    return {"lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](I, H, dtype=dtype, **kwargs)


def final_states(layer, x, lengths=None):
    """(out, h_n) of a minirnn layer with zero initial states."""
    out, finals = layer(x, None, lengths=lengths)
    return out, (finals[0] if isinstance(finals, tuple) else finals)


# -- PyTorch ----------------------------------------------------------------------------------------------------------
TORCH_CONFIGS = [dict(), dict(num_layers=2, bidirectional=True, batch_first=True), dict(num_layers=3, bias=False)]


@pytest.mark.parametrize("config", TORCH_CONFIGS, ids=["plain", "2layer_bidir_batchfirst", "3layer_nobias"])
@pytest.mark.parametrize("cell", ["rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_from_torch_module_reads_every_argument_and_weight_exactly(cell, config):
    torch.manual_seed(0)
    module = torch_module(cell, **config)
    layer = from_torch(module, backend="numpy")
    assert type(layer).__name__ == type(module).__name__
    for arg in ("input_size", "hidden_size", "num_layers", "bias", "batch_first", "bidirectional"):
        assert getattr(layer, arg) == getattr(module, arg), arg
    if cell.startswith("rnn"):
        assert layer.nonlinearity == module.nonlinearity
    state = module.state_dict()
    assert list(layer.params) == list(state)
    for name, value in state.items():
        assert np.array_equal(layer.params[name], value.numpy()), name
    # and back: the exported state_dict is the original, bit for bit, in the same order
    exported = to_torch_state_dict(layer)
    assert list(exported) == list(state)
    assert all(torch.equal(exported[k], state[k]) for k in state)
    # from the bare state_dict, sizes and cell inferred from the shapes
    kwargs = dict(batch_first=module.batch_first)
    if cell.startswith("rnn"):
        kwargs["nonlinearity"] = module.nonlinearity
    again = from_torch(state, backend="numpy", **kwargs)
    assert repr(again) == repr(layer)
    assert all(np.array_equal(again.params[k], v) for k, v in layer.params.items())
    # same function: outputs and final states agree with the torch module
    x = np.random.default_rng(1).normal(size=(B, T, I) if module.batch_first else (T, B, I))
    out, h_n = final_states(layer, x)
    t_out, t_finals = module(torch.tensor(x))
    t_h = t_finals[0] if isinstance(t_finals, tuple) else t_finals
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(h_n, t_h.detach().numpy(), rtol=0, atol=1e-13)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_to_torch_builds_the_twin_and_round_trip_is_exact(cell):
    layer = {"rnn": minirnn.RNN, "lstm": minirnn.LSTM, "gru": minirnn.GRU}[cell](
        I, H, num_layers=2, bidirectional=True, batch_first=True, seed=3, backend="numpy")
    module = to_torch(layer)
    assert repr(module).startswith(type(layer).__name__)
    back = from_torch(module, backend="numpy")
    assert repr(back) == repr(layer)
    assert all(np.array_equal(back.params[k], v) for k, v in layer.params.items())
    x = np.random.default_rng(2).normal(size=(B, T, I))
    out, h_n = final_states(layer, x, LENGTHS)
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(x), torch.tensor(LENGTHS), batch_first=True,
                                                     enforce_sorted=False)
    t_out, t_finals = module(packed)
    t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True, total_length=T)
    t_h = t_finals[0] if isinstance(t_finals, tuple) else t_finals
    np.testing.assert_allclose(out, t_out.detach().numpy(), rtol=0, atol=1e-13)
    np.testing.assert_allclose(h_n, t_h.detach().numpy(), rtol=0, atol=1e-13)


def test_from_torch_keeps_float32_and_strips_a_prefix():
    torch.manual_seed(0)
    module = torch_module("lstm", dtype=torch.float32, num_layers=2)
    layer = from_torch(module, backend="numpy")
    assert layer.dtype == np.float32
    whole_model = {f"rnn.{k}": v for k, v in module.state_dict().items()}
    whole_model["fc.weight"] = torch.zeros(3, H)
    part = from_torch(whole_model, prefix="rnn.", dtype=np.float64, backend="numpy")
    assert part.dtype == np.float64 and part.num_layers == 2
    assert np.array_equal(part.params["weight_hh_l1"], module.weight_hh_l1.detach().numpy().astype(np.float64))


def test_from_torch_refuses_what_does_not_map():
    with pytest.raises(ValueError, match="cell='gru' contradicts"):
        from_torch(torch.nn.LSTM(I, H), cell="gru")
    with pytest.raises(ValueError, match="gate factor 4"):
        from_torch(torch.nn.LSTM(I, H).state_dict(), cell="rnn")
    with pytest.raises(ValueError, match="cell must be one of"):
        from_torch(torch.nn.LSTM(I, H), cell="transformer")
    with pytest.raises(TypeError, match="module_or_state_dict"):
        from_torch(torch.nn.Linear(I, H))
    with pytest.raises(ValueError, match="expected 1 \\(RNN\\), 4 \\(LSTM\\) or 3 \\(GRU\\)"):
        from_torch({"weight_ih_l0": np.zeros((2 * H, I)), "weight_hh_l0": np.zeros((2 * H, H))})
    with pytest.raises(ValueError, match="not recurrent weights.*prefix"):
        from_torch({**torch.nn.GRU(I, H).state_dict(), "fc.weight": torch.zeros(3, H)})
    with pytest.raises(ValueError, match="weight_ih_l0"):
        from_torch({"rnn.weight_ih_l0": np.zeros((H, I))})
    with pytest.raises(ValueError, match="nonlinearity applies to an RNN only"):
        from_torch(torch.nn.GRU(I, H), nonlinearity="relu")
    with pytest.raises(ValueError, match=r"state_dict\[.weight_hh_l1.\] must have shape \(15, 5\), got \(15, 6\)"):
        bad = torch.nn.GRU(I, H, num_layers=2).state_dict()
        bad["weight_hh_l1"] = torch.zeros(3 * H, H + 1)
        from_torch(bad)
    with pytest.raises(TypeError, match="must be a minirnn RNN, LSTM or GRU"):
        to_torch_state_dict(minirnn.nn.Linear(3, 2))


# -- Keras ------------------------------------------------------------------------------------------------------------
def keras_cell(kind, dtype="float64", **kwargs):
    if kind == "SimpleRNN_relu":
        return keras.layers.SimpleRNN(H, activation="relu", dtype=dtype, **kwargs)
    return getattr(keras.layers, kind)(H, dtype=dtype, **kwargs)


def randomize(keras_layer, rng):
    """Random weights, biases included (Keras initialises biases to zero, which would hide a bias mix-up)."""
    keras_layer.set_weights([rng.uniform(-0.5, 0.5, w.shape).astype(w.dtype) for w in keras_layer.get_weights()])


def keras_stack(kind, arrangement, rng, dtype="float64"):
    """Built, randomised Keras layers: 'single', 'stacked' (2, the first with return_sequences) or 'bidirectional'."""
    if arrangement == "stacked":
        layers = [keras_cell(kind, dtype, return_sequences=True), keras_cell(kind, dtype)]
    elif arrangement == "bidirectional":
        layers = [keras.layers.Bidirectional(keras_cell(kind, dtype), dtype=dtype)]
    else:
        layers = [keras_cell(kind, dtype)]
    width = I
    for layer in layers:
        layer.build((None, None, width))
        randomize(layer, rng)
        width = H * (2 if arrangement == "bidirectional" else 1)
    return layers


def keras_last_output(layers, x, dtype="float64"):
    """Run Masking(0) + the layers on a padded batch x (B, T, I); the last layer's output (B, D*H) as NumPy."""
    h = keras.layers.Masking(0.0, dtype=dtype)(torch.tensor(x))
    for layer in layers:
        h = layer(h)
    return h.detach().numpy()


def padded_batch(rng, dtype=np.float64):
    x = rng.normal(size=(B, T, I)).astype(dtype)
    for b, n in enumerate(LENGTHS):
        x[b, n:] = 0
    return x


def last_layer_features(layer, x, lengths):
    _, h_n = final_states(layer, x, lengths)
    return np.concatenate(list(h_n[-layer.num_directions:]), axis=-1)


KERAS_KINDS = ["SimpleRNN", "SimpleRNN_relu", "LSTM", "GRU"]


@pytest.mark.parametrize("arrangement", ["single", "stacked", "bidirectional"])
@pytest.mark.parametrize("kind", KERAS_KINDS)
def test_from_keras_maps_weights_exactly_and_agrees_on_masked_batches(kind, arrangement):
    rng = np.random.default_rng(KERAS_KINDS.index(kind))
    layers = keras_stack(kind, arrangement, rng)
    layer = from_keras(layers if arrangement == "stacked" else layers[0], backend="numpy")
    expected_class = {"SimpleRNN": "RNN", "SimpleRNN_relu": "RNN", "LSTM": "LSTM", "GRU": "GRU"}[kind]
    assert type(layer).__name__ == expected_class
    assert (layer.num_layers, layer.bidirectional, layer.batch_first) == \
        (2 if arrangement == "stacked" else 1, arrangement == "bidirectional", True)
    assert layer.dtype == np.float64
    if kind == "SimpleRNN_relu":
        assert layer.nonlinearity == "relu"
    # keras -> minirnn -> keras is exact (Keras' single bias lands in bias_ih, bias_hh is zero)
    for keras_layer, weights in zip(layers, to_keras_weights(layer)):
        original = keras_layer.get_weights()
        assert len(weights) == len(original)
        for ours, theirs in zip(weights, original):
            assert ours.shape == theirs.shape and np.array_equal(ours, theirs)
    # the same function, on a padded batch with a Masking layer
    x = padded_batch(rng)
    np.testing.assert_allclose(last_layer_features(layer, x, LENGTHS), keras_last_output(layers, x), **KERAS_TOL)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_minirnn_to_keras_round_trip_is_exact_up_to_the_bias_merge(cell):
    rng = np.random.default_rng(5)
    layer = {"rnn": minirnn.RNN, "lstm": minirnn.LSTM, "gru": minirnn.GRU}[cell](
        I, H, num_layers=2, bidirectional=True, batch_first=True, seed=4, backend="numpy")
    keras_layers = to_keras(layer)
    assert [type(k).__name__ for k in keras_layers] == ["Bidirectional", "Bidirectional"]
    back = from_keras(keras_layers, backend="numpy")
    assert repr(back) == repr(layer)
    for name, value in layer.params.items():
        if cell == "gru" or name.startswith("weight"):
            assert np.array_equal(back.params[name], value), name           # exact
        elif name.startswith("bias_ih"):
            hh = name.replace("bias_ih", "bias_hh")
            assert np.array_equal(back.params[name], value + layer.params[hh]), name   # the merged bias
            assert not back.params[hh].any()
    x = padded_batch(rng)
    out, h_n = final_states(layer, x, LENGTHS)
    out2, h_n2 = final_states(back, x, LENGTHS)
    np.testing.assert_allclose(out2, out, rtol=0, atol=1e-14)
    np.testing.assert_allclose(h_n2, h_n, rtol=0, atol=1e-14)
    np.testing.assert_allclose(keras_last_output(keras_layers, x), last_layer_features(layer, x, LENGTHS),
                               **KERAS_TOL)


def test_to_keras_weights_fit_a_plain_keras_layer_without_bias():
    lstm = minirnn.LSTM(I, H, bias=False, seed=0, backend="numpy")
    (weights,) = to_keras_weights(lstm)
    assert [w.shape for w in weights] == [(I, 4 * H), (H, 4 * H)]
    k = keras.layers.LSTM(H, use_bias=False, dtype="float64")
    k.build((None, None, I))
    k.set_weights(weights)
    back = from_keras(k, backend="numpy")
    assert not back.bias and all(np.array_equal(back.params[n], v) for n, v in lstm.params.items())


def test_keras_masked_steps_repeat_the_last_real_output_where_minirnn_writes_zeros():
    """The documented difference: with return_sequences=True, Keras' outputs at masked steps copy the last real
    output (zero_output_for_mask=False, the default); minirnn (like pack_padded_sequence) writes zeros there. Real
    steps and final states agree."""
    rng = np.random.default_rng(7)
    k = keras_cell("GRU", return_sequences=True, return_state=True)
    k.build((None, None, I))
    randomize(k, rng)
    layer = from_keras(k, backend="numpy")
    x = padded_batch(rng)
    k_out, k_h = (t.detach().numpy() for t in k(keras.layers.Masking(0.0, dtype="float64")(torch.tensor(x))))
    out, h_n = final_states(layer, x, LENGTHS)
    for b, n in enumerate(LENGTHS):
        np.testing.assert_allclose(out[b, :n], k_out[b, :n], **KERAS_TOL)               # real steps agree
        assert not out[b, n:].any()                                                      # minirnn: zeros
        np.testing.assert_array_equal(k_out[b, n:], np.broadcast_to(k_out[b, n - 1], k_out[b, n:].shape))  # Keras
    np.testing.assert_allclose(h_n[0], k_h, **KERAS_TOL)


def test_from_keras_refuses_what_does_not_map():
    def built(layer):
        layer.build((None, None, I))
        return layer

    with pytest.raises(ValueError, match="activation='relu'.*standard cell"):
        from_keras(built(keras.layers.LSTM(H, activation="relu")))
    with pytest.raises(ValueError, match="recurrent_activation='hard_sigmoid'"):
        from_keras(built(keras.layers.GRU(H, recurrent_activation="hard_sigmoid")))
    with pytest.raises(ValueError, match="activation='sigmoid'.*'tanh' and 'relu'"):
        from_keras(built(keras.layers.SimpleRNN(H, activation="sigmoid")))
    with pytest.raises(ValueError, match="go_backwards=True"):
        from_keras(built(keras.layers.LSTM(H, go_backwards=True)))
    with pytest.raises(ValueError, match="merge_mode=None"):      # Keras' list of two outputs: no minirnn layer
        from_keras(built(keras.layers.Bidirectional(keras.layers.LSTM(H), merge_mode=None)))
    with pytest.raises(ValueError, match="no weights yet"):
        from_keras(keras.layers.LSTM(H))
    with pytest.raises(TypeError, match="keras_layer must be a Keras SimpleRNN, LSTM, GRU or Bidirectional"):
        from_keras(built(keras.layers.Dense(H)))
    with pytest.raises(ValueError, match=r"keras_layer\[1\] differs"):
        from_keras([built(keras.layers.LSTM(H, return_sequences=True)), built(keras.layers.GRU(H))])
    with pytest.raises(ValueError, match="non-empty list"):
        from_keras([])
    with pytest.raises(TypeError, match="must be a minirnn RNN, LSTM or GRU"):
        to_keras_weights("lstm")
