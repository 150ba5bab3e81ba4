"""The layer interface: shapes, unbatched input, state dicts from torch, dropout, repr, and clear errors on bad input."""
import numpy as np
import pytest
import torch

import minirnn
from torch_reference import torch_twin


def test_shapes_and_constructor_attributes():
    lstm = minirnn.LSTM(10, 20, num_layers=2, batch_first=True, bidirectional=True, seed=0, backend="numpy")
    assert (lstm.input_size, lstm.hidden_size, lstm.num_layers) == (10, 20, 2)
    assert lstm.batch_first and lstm.bidirectional and lstm.bias and lstm.dropout == 0.0
    out, (h_n, c_n) = lstm(np.zeros((3, 7, 10)))
    assert out.shape == (3, 7, 40) and h_n.shape == (4, 3, 20) and c_n.shape == (4, 3, 20)
    assert lstm.params["weight_ih_l1_reverse"].shape == (80, 40)
    assert sorted(lstm.params) == sorted(dict(torch.nn.LSTM(10, 20, 2, bidirectional=True).named_parameters()))


def test_default_init_is_uniform_in_plus_minus_one_over_sqrt_hidden():
    gru = minirnn.GRU(30, 100, seed=0)
    values = np.concatenate([p.ravel() for p in gru.params.values()])
    assert np.abs(values).max() <= 0.1
    assert abs(values.std() - 0.1 / np.sqrt(3)) < 0.002          # std of U(-a, a) is a / sqrt(3)
    np.testing.assert_array_equal(minirnn.GRU(30, 100, seed=0).params["weight_hh_l0"], gru.params["weight_hh_l0"])
    assert not np.array_equal(minirnn.GRU(30, 100, seed=1).params["weight_hh_l0"], gru.params["weight_hh_l0"])


@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
def test_torch_state_dict_loads_as_is_and_outputs_agree(cls):
    torch.manual_seed(0)
    module = getattr(torch.nn, cls.__name__)(4, 6, num_layers=2, dtype=torch.float64)
    layer = cls(4, 6, num_layers=2, backend="numpy")
    layer.load_state_dict({k: v.detach().numpy() for k, v in module.state_dict().items()})
    x = np.random.default_rng(0).normal(size=(5, 2, 4))
    out = layer(x)[0]
    np.testing.assert_allclose(out, module(torch.tensor(x))[0].detach().numpy(), rtol=0, atol=1e-12)


@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
def test_unbatched_input_matches_torch(cls):
    layer = cls(4, 6, num_layers=2, bidirectional=True, batch_first=True, seed=1, backend="numpy")
    module = torch_twin(layer)
    x = np.random.default_rng(1).normal(size=(5, 4))
    out, finals = layer(x)
    t_out, t_finals = module(torch.tensor(x))
    np.testing.assert_allclose(out, t_out.detach().numpy(), atol=1e-12)
    h_n = finals[0] if isinstance(layer, minirnn.LSTM) else finals
    t_h = t_finals[0] if isinstance(layer, minirnn.LSTM) else t_finals
    assert h_n.shape == (4, 6)
    np.testing.assert_allclose(h_n, t_h.detach().numpy(), atol=1e-12)
    dx, _ = layer.backward(np.ones_like(out))
    xt = torch.tensor(x, requires_grad=True)
    module(xt)[0].sum().backward()
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)


def test_dropout_is_inverted_seeded_and_off_in_eval():
    p = 0.4
    layer = minirnn.RNN(3, 50, num_layers=2, dropout=p, seed=0, backend="numpy")
    x = np.random.default_rng(0).normal(size=(4, 2, 3))
    out_train = layer(x)[0]
    mask = layer._cache["dropout"][1]                                # (T, B, H) applied to layer 1's input
    assert set(np.unique(mask)) == {0.0, 1 / (1 - p)}
    assert abs((mask == 0).mean() - p) < 0.05
    # Reference: the two layers run one by one, the mask applied by hand.
    first = minirnn.RNN(3, 50, backend="numpy")
    second = minirnn.RNN(50, 50, backend="numpy")
    first.load_state_dict({k: v for k, v in layer.params.items() if k.endswith("l0")})
    second.load_state_dict({k.replace("l1", "l0"): v for k, v in layer.params.items() if k.endswith("l1")})
    expected = second(first(x)[0] * mask)[0]
    np.testing.assert_allclose(out_train, expected, atol=1e-14)
    dout = np.random.default_rng(1).normal(size=out_train.shape)
    dx = layer.backward(dout)[0]
    np.testing.assert_allclose(dx, first.backward(second.backward(dout)[0] * mask)[0], atol=1e-13)
    # Same seed, same masks; eval mode has no dropout.
    again = minirnn.RNN(3, 50, num_layers=2, dropout=p, seed=0, backend="numpy")
    np.testing.assert_array_equal(again(x)[0], out_train)
    layer.eval()
    np.testing.assert_allclose(layer(x)[0], second(first(x)[0])[0], atol=1e-14)


def test_repr_reads_like_the_constructor():
    assert repr(minirnn.LSTM(10, 20, num_layers=2, batch_first=True)) == "LSTM(10, 20, num_layers=2, batch_first=True)"
    assert repr(minirnn.RNN(3, 4, nonlinearity="relu")) == "RNN(3, 4, nonlinearity='relu')"
    assert repr(minirnn.GRU(3, 4, dtype=np.float32)) == "GRU(3, 4, dtype=np.float32)"


def test_readonly_and_noncontiguous_inputs_work():
    layer = minirnn.GRU(4, 3, seed=0, backend="numpy")
    x = np.random.default_rng(0).normal(size=(4, 6, 2)).transpose(1, 2, 0)    # (6, 2, 4), not contiguous
    expected = layer(np.ascontiguousarray(x))[0]
    x.flags.writeable = False
    np.testing.assert_array_equal(layer(x)[0], expected)


# -- bad input: every message names the argument and what was expected ------------------------------------------------
X = np.zeros((5, 2, 4))
BAD_CALLS = [
    (lambda l: l(X[0, :, :3]), ValueError, "input_size = 4"),                    # unbatched (2, 3)
    (lambda l: l(np.zeros((5, 2, 3))), ValueError, "input_size = 4"),
    (lambda l: l(np.zeros((5, 2, 4, 1))), ValueError, "3 dimensions"),
    (lambda l: l(np.zeros((0, 2, 4))), ValueError, "must not be empty"),
    (lambda l: l(X.astype(np.float32)), TypeError, "dtype float64"),
    (lambda l: l(X.astype(np.int64)), TypeError, "dtype float64"),
    (lambda l: l(X.astype(np.complex128)), TypeError, "dtype float64"),
    (lambda l: l(X.astype(object)), TypeError, "dtype float64"),
    (lambda l: l(X.tolist()), TypeError, "numpy.ndarray"),
    (lambda l: l(np.full((5, 2, 4), np.nan)), ValueError, "NaN or Inf"),
    (lambda l: l(X, np.zeros((1, 3, 6))), ValueError, "h0 must have shape (num_layers * num_directions, batch, "
                                                       "hidden_size) = (1, 2, 6), got (1, 3, 6)"),
    (lambda l: l(X, np.zeros((1, 2, 6), np.float32)), TypeError, "h0 must have dtype float64"),
    (lambda l: l(X, lengths=[5, 6]), ValueError, "lengths must lie in 1..5"),
    (lambda l: l(X, lengths=[5, 0]), ValueError, "lengths must lie in 1..5"),
    (lambda l: l(X, lengths=[5]), ValueError, "lengths must have one entry per sequence"),
    (lambda l: l(X, lengths=[5.0, 2.0]), TypeError, "lengths must be integers"),
    (lambda l: l.backward(np.zeros((5, 2, 6))), RuntimeError, "before a forward"),
]


@pytest.mark.parametrize("call,error,message", BAD_CALLS)
def test_bad_input_raises_a_clear_error(call, error, message):
    layer = minirnn.GRU(4, 6, seed=0)
    with pytest.raises(error) as info:
        call(layer)
    assert message in str(info.value)


def test_bad_backward_input_and_lstm_states():
    lstm = minirnn.LSTM(4, 6, seed=0)
    with pytest.raises(ValueError, match=r"c0 must have shape .* = \(1, 2, 6\), got \(1, 2, 5\)"):
        lstm(X, (np.zeros((1, 2, 6)), np.zeros((1, 2, 5))))
    with pytest.raises(TypeError, match="hx must be a pair"):
        lstm(X, np.zeros((1, 2, 6)))
    out, _ = lstm(X)
    with pytest.raises(ValueError, match=r"dout must have shape \(seq_len, batch, num_directions \* hidden_size\)"):
        lstm.backward(out[:, :, :3])
    with pytest.raises(ValueError, match="dc_n must have shape"):
        lstm.backward(out, (np.zeros((1, 2, 6)), np.zeros((2, 2, 6))))


@pytest.mark.parametrize("kwargs,error,message", [
    (dict(nonlinearity="sigmoid"), ValueError, "nonlinearity must be one of ('tanh', 'relu'), got 'sigmoid'"),
    (dict(backend="cuda"), ValueError, "backend must be one of ('auto', 'numpy', 'numba'), got 'cuda'"),
    (dict(dtype=np.float16), TypeError, "dtype must be np.float32 or np.float64, got float16"),
    (dict(dropout=1.0), ValueError, "dropout must be a number in [0, 1)"),
    (dict(num_layers=0), ValueError, "num_layers must be a positive integer, got 0"),
    (dict(batch_first="yes"), TypeError, "batch_first must be True or False"),
])
def test_bad_constructor_arguments(kwargs, error, message):
    with pytest.raises(error) as info:
        minirnn.RNN(4, 6, **kwargs)
    assert message in str(info.value)


def test_load_state_dict_refuses_wrong_shapes_and_changes_nothing():
    layer = minirnn.LSTM(4, 6, seed=0)
    before = layer.state_dict()
    bad = dict(before, weight_hh_l0=np.zeros((24, 5)))
    with pytest.raises(ValueError, match=r"state_dict\['weight_hh_l0'\] must have shape \(24, 6\), got \(24, 5\)"):
        layer.load_state_dict(bad)
    for name, value in layer.state_dict().items():
        np.testing.assert_array_equal(value, before[name])
    with pytest.raises(ValueError, match="missing"):
        layer.load_state_dict({"weight_ih_l0": before["weight_ih_l0"]})


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
def test_one_backward_per_forward_on_every_backend(cls, backend):
    """As torch without retain_graph: the compiled backward writes its gradients over the saved gates, so a second
    backward of the same forward is refused (on both backends alike); a new forward gives the same gradients again."""
    layer = cls(4, 6, num_layers=2, bidirectional=True, seed=0, backend=backend)
    x = np.random.default_rng(0).normal(size=(5, 2, 4))
    dout = np.random.default_rng(1).normal(size=(5, 2, 12))
    layer(x)
    dx = layer.backward(dout)[0]
    first = {k: g.copy() for k, g in layer.grads.items()}
    with pytest.raises(RuntimeError, match="backward was already called for the last forward pass"):
        layer.backward(dout)
    layer(x)
    np.testing.assert_array_equal(layer.backward(dout)[0], dx)
    for key, g in layer.grads.items():
        np.testing.assert_array_equal(g, first[key])
