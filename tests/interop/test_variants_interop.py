"""The cell variants of issue #18 through minirnn.interop: a Keras ``GRU(reset_after=False)`` and a PyTorch
``LSTM(proj_size=P)`` load, give the frameworks' outputs and gradients on the same weights, and export back; the
variants a framework does not have are refused with the reason.

Keras 3 multiplies float64 inputs in float32 (see tests/interop/test_interop.py), so Keras is compared at float32
round-off (1e-5); the 1e-10 float64 agreement of ``reset_after=False`` is against the equations in PyTorch
(tests/cells/test_variants_a.py). PyTorch's LSTM with projections is compared at 1e-10 (float64).
"""
import os

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import minirnn  # noqa: E402
from minirnn.interop import (classifier_from_keras, from_keras, from_torch, keras_weights_to_params,  # noqa: E402
                             to_keras, to_torch, to_torch_state_dict)

I, H, P, T, B = 4, 5, 3, 6, 3
LENGTHS = [6, 4, 1]
KERAS_TOL = dict(rtol=1e-5, atol=1e-5)


# -- Keras GRU(reset_after=False) ------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_keras_published_reset_after_false_case_is_reproduced(backend):
    """Keras' own test (keras/src/layers/rnn/gru_test.py, ``test_correctness``): GRU(3) with every kernel entry
    0.01, recurrent 0.02, bias 0.03, ``reset_after=False``, on arange(72) as (3, 6, 4); its final outputs."""
    expected = np.array([[0.51447755] * 3, [0.6426879] * 3, [0.40208298] * 3])
    sequence = np.arange(72).reshape((3, 6, 4)).astype("float32")
    gru = minirnn.GRU(4, 3, batch_first=True, reset_after=False, dtype=np.float32, backend=backend)
    gru.load_state_dict({"weight_ih_l0": np.full((9, 4), 0.01), "weight_hh_l0": np.full((9, 3), 0.02),
                         "bias_ih_l0": np.full(9, 0.03), "bias_hh_l0": np.zeros(9)})   # Keras' one bias: b_ih
    _, h_n = gru(sequence)
    np.testing.assert_allclose(h_n[0], expected, atol=1e-5, rtol=1e-5)
    keras_layer = keras.layers.GRU(3, reset_after=False, kernel_initializer=keras.initializers.Constant(0.01),
                                   recurrent_initializer=keras.initializers.Constant(0.02),
                                   bias_initializer=keras.initializers.Constant(0.03))
    keras_layer.build((None, None, 4))
    _, h_n = from_keras(keras_layer, backend=backend)(sequence)
    np.testing.assert_allclose(h_n[0], expected, atol=1e-5, rtol=1e-5)
    # With equal weights in every unit, (r * h) W_hn^T = r * (h W_hn^T): here the two GRUs differ only by where b_hn
    # sits, so this case pins the one-bias mapping (the random weights below tell the cells apart). Keras'
    # reset_after=True case of the same test (both biases 0.03, b_hn inside r) is PyTorch's cell:
    pytorch_gru = minirnn.GRU(4, 3, batch_first=True, dtype=np.float32, backend=backend)
    pytorch_gru.load_state_dict({**gru.state_dict(), "bias_hh_l0": np.full(9, 0.03, dtype=np.float32)})
    np.testing.assert_allclose(pytorch_gru(sequence)[1][0], [[0.5217289] * 3, [0.6371659] * 3, [0.39384964] * 3],
                               atol=1e-5, rtol=1e-5)


def keras_gru_model(arrangement, dtype, rng):
    """Built Keras GRU(reset_after=False) layers (return_sequences=True), with random weights (biases too)."""
    layers, input_size = [], I
    for _ in range(2 if arrangement == "stack" else 1):
        layer = keras.layers.GRU(H, reset_after=False, return_sequences=True, dtype=dtype)
        if arrangement == "bidirectional":
            layer = keras.layers.Bidirectional(layer, merge_mode="concat", dtype=dtype)
        layer.build((None, None, input_size))
        layer.set_weights([rng.uniform(-0.6, 0.6, size=w.shape).astype(dtype) for w in layer.get_weights()])
        layers.append(layer)
        input_size = 2 * H if arrangement == "bidirectional" else H
    return layers


def keras_directions(layers):
    """[(suffix, keras GRU of that layer/direction)] in minirnn's parameter order."""
    out = []
    for k, layer in enumerate(layers):
        if isinstance(layer, keras.layers.Bidirectional):
            out += [(f"l{k}", layer.forward_layer), (f"l{k}_reverse", layer.backward_layer)]
        else:
            out.append((f"l{k}", layer))
    return out


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("arrangement", ["single", "stack", "bidirectional"])
def test_from_keras_reset_after_false_matches_keras_with_every_gradient(arrangement, dtype, backend):
    """Outputs, dx and the gradient of every Keras weight (by autograd through Keras on the torch backend)."""
    rng = np.random.default_rng(0)
    layers = keras_gru_model(arrangement, dtype, rng)
    gru = from_keras(layers if len(layers) > 1 else layers[0], backend=backend)
    assert gru.cell.name == "gru_reset_before" and gru.dtype == np.dtype(dtype)
    x = rng.normal(size=(B, T, I)).astype(dtype)
    out, _ = gru(x)
    dout = rng.normal(size=out.shape).astype(dtype)
    dx, _ = gru.backward(dout)

    xt = torch.tensor(x, requires_grad=True)
    k_out = xt
    for layer in layers:
        k_out = layer(k_out)
    (k_out * torch.tensor(dout)).sum().backward()
    np.testing.assert_allclose(out, k_out.detach().numpy(), **KERAS_TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), **KERAS_TOL)
    for suffix, direction in keras_directions(layers):
        k_grads = [w.value.grad.numpy() for w in direction.trainable_weights]    # kernel, recurrent, bias
        mapped = keras_weights_to_params(gru.cell, k_grads, H, True, suffix)      # into PyTorch's layout
        for base in ("weight_ih", "weight_hh", "bias_ih"):
            np.testing.assert_allclose(gru.grads[f"{base}_{suffix}"], mapped[f"{base}_{suffix}"], **KERAS_TOL)
        np.testing.assert_allclose(gru.grads[f"bias_hh_{suffix}"], mapped[f"bias_ih_{suffix}"], **KERAS_TOL)


def test_to_keras_builds_reset_after_false_layers_with_the_same_outputs():
    gru = minirnn.GRU(I, H, num_layers=2, bidirectional=True, batch_first=True, reset_after=False, seed=3)
    keras_layers = to_keras(gru, return_sequences=True)
    assert [type(k).__name__ for k in keras_layers] == ["Bidirectional", "Bidirectional"]
    assert all(not k.forward_layer.get_config()["reset_after"] for k in keras_layers)
    assert [w.shape for w in keras_layers[0].forward_layer.get_weights()] == [(I, 3 * H), (H, 3 * H), (3 * H,)]
    x = np.random.default_rng(1).normal(size=(B, T, I))
    k_out = torch.tensor(x)
    for layer in keras_layers:
        k_out = layer(k_out)
    np.testing.assert_allclose(gru(x)[0], k_out.detach().numpy(), **KERAS_TOL)
    back = from_keras(keras_layers)
    assert back.cell.name == "gru_reset_before"
    np.testing.assert_allclose(back(x)[0], gru(x)[0], rtol=1e-12, atol=1e-12)   # b_ih + b_hh: the same function


def test_classifier_from_keras_refuses_a_reset_after_false_gru_with_the_reason():
    model = keras.Sequential([keras.Input((None, I)), keras.layers.GRU(H, reset_after=False), keras.layers.Dense(2)])
    with pytest.raises(ValueError, match="GRU \\(reset before\\).*interop.from_keras"):
        classifier_from_keras(model)


# -- PyTorch LSTM(proj_size=P) ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32])
def test_from_torch_loads_a_proj_size_lstm_with_the_same_outputs_and_gradients(dtype, backend):
    torch.manual_seed(0)
    module = torch.nn.LSTM(I, H, num_layers=2, bidirectional=True, batch_first=True, proj_size=P, dtype=dtype)
    layer = from_torch(module, backend=backend)
    assert repr(layer).endswith("proj_size=3)" if dtype == torch.float64 else "proj_size=3, dtype=np.float32)")
    from_dict = from_torch(module.state_dict(), batch_first=True, backend=backend)
    assert (from_dict.proj_size, from_dict.cell.name) == (P, "lstm_proj")
    np_dtype = np.float64 if dtype == torch.float64 else np.float32
    rng = np.random.default_rng(1)
    x = rng.normal(size=(B, T, I)).astype(np_dtype)
    h0 = rng.normal(size=(4, B, P)).astype(np_dtype)
    c0 = rng.normal(size=(4, B, H)).astype(np_dtype)
    tol = dict(rtol=1e-10, atol=1e-10) if dtype == torch.float64 else dict(rtol=1e-4, atol=1e-5)
    for ours in (layer, from_dict):
        out, (h_n, c_n) = ours(x, (h0, c0), lengths=LENGTHS)
        xt, h0t, c0t = (torch.tensor(a, requires_grad=True) for a in (x, h0, c0))
        packed = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(LENGTHS), batch_first=True,
                                                         enforce_sorted=False)
        t_out, (t_h, t_c) = module(packed, (h0t, c0t))
        t_out, _ = torch.nn.utils.rnn.pad_packed_sequence(t_out, batch_first=True, total_length=T)
        assert out.shape == (B, T, 2 * P) and h_n.shape == (4, B, P) and c_n.shape == (4, B, H)
        for a, e in ((out, t_out), (h_n, t_h), (c_n, t_c)):
            np.testing.assert_allclose(a, e.detach().numpy(), **tol)
        upstream = [rng.normal(size=a.shape).astype(np_dtype) for a in (out, h_n, c_n)]
        module.zero_grad()
        sum((t * torch.tensor(u)).sum() for t, u in zip((t_out, t_h, t_c), upstream)).backward()
        dx, (dh0, dc0) = ours.backward(upstream[0], (upstream[1], upstream[2]))
        for a, e in ((dx, xt), (dh0, h0t), (dc0, c0t)):
            np.testing.assert_allclose(a, e.grad.numpy(), **tol)
        for name, parameter in module.named_parameters():
            np.testing.assert_allclose(ours.grads[name], parameter.grad.numpy(), **tol, err_msg=name)


def test_to_torch_builds_a_proj_size_lstm():
    layer = minirnn.LSTM(I, H, num_layers=2, bidirectional=True, proj_size=P, seed=0)
    module = to_torch(layer)
    assert (module.proj_size, module.hidden_size, tuple(module.weight_hr_l1_reverse.shape)) == (P, H, (P, H))
    x = np.random.default_rng(2).normal(size=(T, B, I))
    out, (h_n, c_n) = layer(x)
    t_out, (t_h, t_c) = module(torch.tensor(x))
    for a, e in ((out, t_out), (h_n, t_h), (c_n, t_c)):
        np.testing.assert_allclose(a, e.detach().numpy(), rtol=1e-12, atol=1e-12)


def test_a_peephole_lstm_round_trips_as_a_state_dict():
    layer = minirnn.LSTM(I, H, num_layers=2, peepholes=True, seed=0)
    state = to_torch_state_dict(layer)
    assert [k for k in state if "_c" in k] == ["weight_ci_l0", "weight_cf_l0", "weight_co_l0",
                                               "weight_ci_l1", "weight_cf_l1", "weight_co_l1"]
    back = from_torch(state)
    assert back.peepholes and back.cell.name == "lstm_peephole"
    x = np.random.default_rng(3).normal(size=(T, B, I))
    np.testing.assert_array_equal(back(x)[0], layer(x)[0])


def test_interop_refuses_the_variants_a_framework_does_not_have():
    with pytest.raises(ValueError, match="LSTM \\(peepholes\\), which PyTorch does not have"):
        to_torch(minirnn.LSTM(I, H, peepholes=True))
    with pytest.raises(ValueError, match="GRU \\(reset before\\), which PyTorch does not have"):
        to_torch(minirnn.GRU(I, H, reset_after=False))
    with pytest.raises(ValueError, match="LSTM \\(projections\\), which Keras does not have"):
        to_keras(minirnn.LSTM(I, H, proj_size=2))
    with pytest.raises(ValueError, match="LSTM \\(peepholes\\), which Keras does not have"):
        to_keras(minirnn.LSTM(I, H, peepholes=True))
    gru_with_hr = {"weight_ih_l0": np.zeros((15, I)), "weight_hh_l0": np.zeros((15, 2)),
                   "weight_hr_l0": np.zeros((2, H))}
    with pytest.raises(ValueError, match="only an LSTM has"):
        from_torch(gru_with_hr)
