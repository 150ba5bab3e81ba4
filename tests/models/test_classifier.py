"""SequenceClassifier and the tutorial's six models: the same logits and gradients (input and every weight) as the
PyTorch originals (float64, 1e-10) and the Keras originals (Keras 3 multiplies in float32 even for float64 layers:
1e-5), with and without variable lengths; finite-difference checks of a 2-layer bidirectional LSTM with lengths and of
the classifier; bad input."""
import os
import pathlib
import sys

os.environ.setdefault("KERAS_BACKEND", "torch")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

import minirnn  # noqa: E402
from gradcheck import check_gradients  # noqa: E402
from minirnn.interop import _keras_weights_to_params, classifier_from_keras  # noqa: E402
from minirnn.models import SequenceClassifier, tutorial_model  # noqa: E402

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[2] / "examples"))
import tutorial_models  # noqa: E402

NAMES = tutorial_models.NAMES
B, T = 4, 7
LENGTHS = [7, 5, 2, 6]
TORCH_TOL = dict(rtol=0, atol=1e-10)
KERAS_TOL = dict(rtol=1e-5, atol=1e-5)


def batch(rng, lengths, dtype=np.float64, size=10):
    x = rng.normal(size=(B, T, size))
    return tutorial_models.pad(x, lengths).astype(dtype) if lengths is not None else x.astype(dtype)


def assert_pairs(pairs, tol):
    worst = 0.0
    for name, ours, theirs in pairs:
        assert ours.shape == theirs.shape, name
        np.testing.assert_allclose(ours, theirs, err_msg=name, **tol)
        worst = max(worst, float(np.abs(ours - theirs).max()))
    return worst


# -- PyTorch originals ------------------------------------------------------------------------------------------------
def torch_pairs(original, ours, x, lengths, G):
    xt = torch.tensor(x, requires_grad=True)
    logits_t = original(xt, lengths)
    (logits_t * torch.tensor(G)).sum().backward()
    logits = ours(x, lengths=lengths)
    dx = ours.backward(G)
    named = dict(original.named_parameters())
    assert set(named) == set(ours.grads)
    pairs = [("logits", logits, logits_t.detach().numpy()), ("dx", dx, xt.grad.numpy())]
    return pairs + [(n, ours.grads[n], p.grad.numpy()) for n, p in named.items()]


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", NAMES)
def test_tutorial_model_matches_the_pytorch_original(name, with_lengths):
    torch.manual_seed(NAMES.index(name))
    original = tutorial_models.torch_model(name, dtype=torch.float64)
    ours = tutorial_model(name, "torch", backend="numpy")
    ours.load_state_dict(original.state_dict())                    # the torch state_dict loads as is
    rng = np.random.default_rng(0)
    lengths = LENGTHS if with_lengths else None
    x, G = batch(rng, lengths), rng.normal(size=(B, 3))
    assert_pairs(torch_pairs(original, ours, x, lengths, G), TORCH_TOL)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_bidirectional_classifier_matches_pytorch_h_n_of_both_directions(cell):
    name = {"rnn": "RNNModel", "lstm": "LSTMModel", "gru": "GRUModel"}[cell]
    torch.manual_seed(1)
    original = tutorial_models.torch_model(name, input_size=3, hidden_size=4, dtype=torch.float64, bidirectional=True)
    ours = SequenceClassifier(cell, 3, 4, 3, num_layers=2, bidirectional=True, backend="numpy")
    ours.load_state_dict(original.state_dict())
    rng = np.random.default_rng(1)
    x, G = batch(rng, LENGTHS, size=3), rng.normal(size=(B, 3))
    assert_pairs(torch_pairs(original, ours, x, LENGTHS, G), TORCH_TOL)


# -- Keras originals --------------------------------------------------------------------------------------------------
RECURRENT = ("SimpleRNN", "LSTM", "GRU", "Bidirectional")


def keras_grads_by_minirnn_name(model):
    """Gradients of a Keras classifier (after a torch backward) under minirnn's names and layouts."""
    grads = {}
    recurrent = [lay for lay in model.layers if type(lay).__name__ in RECURRENT]
    for k, layer in enumerate(recurrent):
        directions = [layer.forward_layer, layer.backward_layer] if type(layer).__name__ == "Bidirectional" else [layer]
        for d, direction in enumerate(directions):
            kind = {"SimpleRNN": "rnn", "LSTM": "lstm", "GRU": "gru"}[type(direction).__name__]
            g = [w.value.grad.numpy() for w in direction.trainable_weights]
            suffix = f"l{k}" + ("_reverse" if d else "")
            mapped = _keras_weights_to_params(kind, g, direction.units, True, suffix)
            if kind != "gru":   # one Keras bias stands for b_ih + b_hh: both have its gradient
                mapped[f"bias_hh_{suffix}"] = mapped[f"bias_ih_{suffix}"]
            grads.update({f"rnn.{n}": v for n, v in mapped.items()})
    dense = model.layers[-1]
    grads["fc.weight"] = dense.kernel.value.grad.numpy().T
    grads["fc.bias"] = dense.bias.value.grad.numpy()
    return grads


def keras_pairs(model, x, lengths, G):
    """Keras (float32, on torch autograd) against its minirnn twin in float64 on the same weights."""
    ours = classifier_from_keras(model, dtype=np.float64, backend="numpy")
    xt = torch.tensor(x.astype(np.float32), requires_grad=True)
    logits_k = model(xt)
    (logits_k * torch.tensor(G, dtype=torch.float32)).sum().backward()
    logits = ours(x, lengths=lengths)
    dx = ours.backward(G)
    theirs = keras_grads_by_minirnn_name(model)
    assert set(theirs) == set(ours.grads)
    pairs = [("logits", logits, logits_k.detach().numpy()), ("dx", dx, xt.grad.numpy())]
    return pairs + [(n, ours.grads[n], theirs[n]) for n in ours.grads]


@pytest.mark.parametrize("with_lengths", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", NAMES)
def test_tutorial_model_matches_the_keras_original(name, with_lengths):
    keras.utils.set_random_seed(NAMES.index(name))
    model = tutorial_models.keras_model(name)                        # float32, Keras' default
    rng = np.random.default_rng(2)
    for layer in model.layers:                                       # random biases too (Keras starts them at 0)
        if layer.weights:
            layer.set_weights([rng.uniform(-0.3, 0.3, w.shape).astype(np.float32) for w in layer.get_weights()])
    lengths = LENGTHS if with_lengths else None
    x = batch(rng, lengths).astype(np.float32).astype(np.float64)   # the same numbers for both
    G = rng.normal(size=(B, 3)).astype(np.float32).astype(np.float64)
    ours_twin = tutorial_model(name, "keras")
    pairs = keras_pairs(model, x, lengths, G)
    assert {n for n, _, _ in pairs[2:]} == set(ours_twin.params)      # tutorial_model builds the same architecture
    assert_pairs(pairs, KERAS_TOL)


def test_bidirectional_classifier_matches_keras_bidirectional_on_masked_batches():
    keras.utils.set_random_seed(3)
    model = tutorial_models.keras_model("LSTMModel", input_size=3, hidden_size=4, bidirectional=True)
    rng = np.random.default_rng(3)
    x = batch(rng, LENGTHS, size=3).astype(np.float32).astype(np.float64)
    G = rng.normal(size=(B, 3)).astype(np.float32).astype(np.float64)
    assert_pairs(keras_pairs(model, x, LENGTHS, G), KERAS_TOL)


# -- finite differences -----------------------------------------------------------------------------------------------
def test_gradcheck_two_layer_bidirectional_lstm_with_lengths():
    rng = np.random.default_rng(4)
    lstm = minirnn.LSTM(2, 3, num_layers=2, bidirectional=True, seed=4, backend="numpy")
    Tn, Bn, lengths = 4, 3, [4, 2, 1]
    inputs = {"x": rng.normal(size=(Tn, Bn, 2)), "h0": rng.normal(size=(4, Bn, 3)), "c0": rng.normal(size=(4, Bn, 3))}
    G, Gh, Gc = rng.normal(size=(Tn, Bn, 6)), rng.normal(size=(4, Bn, 3)), rng.normal(size=(4, Bn, 3))
    params = {**inputs, **lstm.params}                                # the layer's own arrays: perturbed in place

    def loss(p):
        out, (h_n, c_n) = lstm(p["x"], (p["h0"], p["c0"]), lengths=lengths)
        return float(np.sum(out * G) + np.sum(h_n * Gh) + np.sum(c_n * Gc))

    loss(params)
    dx, (dh0, dc0) = lstm.backward(G, (Gh, Gc))
    grads = {"x": dx, "h0": dh0, "c0": dc0, **lstm.grads}
    report = check_gradients(loss, params, grads)
    assert report.passed, str(report)
    assert len(report.rows) == 3 + 16


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradcheck_sequence_classifier_with_lengths(cell):
    rng = np.random.default_rng(5)
    model = SequenceClassifier(cell, 2, 3, 2, num_layers=2, bidirectional=(cell == "lstm"), seed=5, backend="numpy")
    lengths = [4, 2, 3]
    x = rng.normal(size=(3, 4, 2))
    G = rng.normal(size=(3, 2))
    params = {"x": x, **model.params}

    def loss(p):
        return float(np.sum(model(p["x"], lengths=lengths) * G))

    loss(params)
    grads = {"x": model.backward(G), **model.grads}
    report = check_gradients(loss, params, grads)
    assert report.passed, str(report)
    assert not grads["x"][1, 2:].any()                                # padded steps get no gradient


# -- the module itself ------------------------------------------------------------------------------------------------
def test_classifier_names_repr_modes_and_float32():
    model = SequenceClassifier("gru", 10, 20, 3, num_layers=2, bidirectional=True, dropout=0.5, seed=0,
                               dtype=np.float32, backend="numpy")
    assert repr(model) == "SequenceClassifier('gru', 10, 20, 3, num_layers=2, bidirectional=True, dropout=0.5, " \
                          "dtype=np.float32)"
    assert list(model.params)[:2] == ["rnn.weight_ih_l0", "rnn.weight_hh_l0"]
    assert list(model.params)[-2:] == ["fc.weight", "fc.bias"] and model.params["fc.weight"].shape == (3, 40)
    assert model.eval() is model and not model.rnn.training
    x = np.random.default_rng(0).normal(size=(2, 5, 10)).astype(np.float32)
    logits = model(x, lengths=[5, 3])
    assert logits.dtype == np.float32 and logits.shape == (2, 3)
    assert model.backward(np.ones((2, 3), np.float32)).dtype == np.float32
    same = SequenceClassifier("gru", 10, 20, 3, num_layers=2, bidirectional=True, dropout=0.5, seed=0,
                              dtype=np.float32, backend="numpy")
    assert all(np.array_equal(same.params[k], v) for k, v in model.params.items())   # seeded
    unbatched = model(x[0])
    np.testing.assert_allclose(unbatched, model(x[:1])[0], rtol=1e-6)
    assert tutorial_model("RNNModel", "keras").rnn.num_layers == 2
    assert tutorial_model("LSTMModel", "keras").rnn.num_layers == 1
    assert tutorial_model("GRUModel", "torch", num_layers=3).rnn.num_layers == 3


def test_classifier_bad_input_names_the_argument():
    with pytest.raises(ValueError, match="cell must be one of"):
        SequenceClassifier("transformer", 10, 20, 3)
    with pytest.raises(ValueError, match="nonlinearity applies to cell='rnn' only"):
        SequenceClassifier("lstm", 10, 20, 3, nonlinearity="relu")
    with pytest.raises(ValueError, match="out_features must be a positive integer"):
        SequenceClassifier("lstm", 10, 20, 0)
    with pytest.raises(ValueError, match="name must be one of"):
        tutorial_model("CNNModel")
    with pytest.raises(ValueError, match="framework must be one of"):
        tutorial_model("RNNModel", "jax")
    model = SequenceClassifier("rnn", 10, 20, 3, backend="numpy")
    with pytest.raises(RuntimeError, match="before a forward"):
        model.backward(np.zeros((2, 3)))
    with pytest.raises(ValueError, match="input_size = 10"):
        model(np.zeros((2, 5, 4)))
    with pytest.raises(ValueError, match="lengths must lie in 1..5"):
        model(np.zeros((2, 5, 10)), lengths=[6, 1])
    model(np.zeros((2, 5, 10)))
    with pytest.raises(ValueError, match="dlogits must have the output's shape"):
        model.backward(np.zeros((2, 4)))
    with pytest.raises(ValueError, match="missing"):
        model.load_state_dict({"fc.weight": np.zeros((3, 20))})
    with pytest.raises(ValueError, match="Dense"):
        classifier_from_keras(keras.Sequential([keras.Input((None, 10)), keras.layers.LSTM(4)]))
    with pytest.raises(TypeError, match="keras_model must be"):
        classifier_from_keras(model)
