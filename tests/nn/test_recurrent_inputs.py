"""What a layer keeps of its caller's arrays, what it refuses, and the readable backend on demand."""
import numpy as np
import pytest
import torch

import minirnn
from minirnn.cells import registry


@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_changing_x_after_the_forward_does_not_change_the_gradients(cls, backend):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(6, 3, 4))
    layer = cls(4, 5, seed=0, backend=backend)
    out, _ = layer(x)
    x[...] = 0                                                    # the caller reuses its buffer
    layer.backward(np.ones_like(out))
    # reference: torch on the original input
    x0 = torch.tensor(np.random.default_rng(0).normal(size=(6, 3, 4)), requires_grad=True)
    twin = getattr(torch.nn, layer.cell.torch_class)(4, 5, dtype=torch.float64)
    twin.load_state_dict({k: torch.tensor(v) for k, v in layer.params.items()})
    twin(x0)[0].sum().backward()
    for name, p in twin.named_parameters():
        np.testing.assert_allclose(layer.grads[name], p.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_a_masked_array_is_refused_with_a_sentence():
    x = np.ma.masked_invalid(np.array([[[1.0, np.nan]], [[0.5, 0.2]]]))
    with pytest.raises(TypeError, match="LSTM: x must be a plain numpy.ndarray, got a masked array"):
        minirnn.LSTM(2, 3)(x)
    gru = minirnn.GRU(2, 3)
    with pytest.raises(TypeError, match="GRU: h0 must be a plain numpy.ndarray"):
        gru(np.zeros((2, 1, 2)), np.ma.zeros((1, 1, 3)))


@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
def test_use_backend_numpy_runs_the_readable_cells(cls, monkeypatch):
    calls = []
    module = registry.get(cls.cell.name).implementation("numpy")
    original = module.forward

    def spy(*args, **kwargs):
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(module, "forward", spy)
    layer = cls(3, 4, seed=0)
    x = np.zeros((5, 2, 3))
    layer(x)
    assert calls == []                                            # auto is the compiled loop
    with minirnn.use_backend("numpy"):
        layer(x)
    assert calls == [1]
    layer(x)
    assert calls == [1]                                           # and back after the block
    with pytest.raises(ValueError, match="backend must be 'numpy' or 'numba'"):
        with minirnn.use_backend("fast"):
            pass


def test_gates_of_the_last_forward_by_name_match_the_equations():
    lstm = minirnn.LSTM(3, 4, seed=0)
    x = np.random.default_rng(0).normal(size=(5, 2, 3))
    lstm(x)
    gates = lstm.gates()
    p = lstm.params
    a0 = x[0] @ p["weight_ih_l0"].T + p["bias_ih_l0"] + p["bias_hh_l0"]       # h_{-1} = 0
    sig = lambda v: 1 / (1 + np.exp(-v))                                      # noqa: E731
    np.testing.assert_allclose(gates["f"][0], sig(a0[:, 4:8]), rtol=1e-12)
    np.testing.assert_allclose(gates["g"][0], np.tanh(a0[:, 8:12]), rtol=1e-12)
    assert set(minirnn.GRU(3, 4).cell.gates) == {"r", "z", "n"}
