"""minirnn's RNN/LSTM/GRU layers agree with torch.nn.RNN/LSTM/GRU on the same weights: outputs, final states and the
gradients of the input, the initial states and every parameter (float64 to 1e-10, float32 to 1e-4 relative)."""
import itertools

import numpy as np
import pytest

import minirnn
from torch_reference import torch_forward_backward

I, H, T, B = 4, 5, 6, 3
CELLS = ["rnn_tanh", "rnn_relu", "lstm", "gru"]


def make_layer(cell, hidden=H, **kwargs):
    if cell.startswith("rnn"):
        return minirnn.RNN(I, hidden, nonlinearity=cell[4:], **kwargs)
    return {"lstm": minirnn.LSTM, "gru": minirnn.GRU}[cell](I, hidden, **kwargs)


def run_both(layer, rng, lengths=None, dtype=np.float64, Tn=T, Bn=B, with_states=True):
    """Forward + backward through minirnn and torch with random inputs and upstream gradients; returns pairs."""
    L, D, H = layer.num_layers, layer.num_directions, layer.hidden_size
    n_states = 2 if isinstance(layer, minirnn.LSTM) else 1
    x = rng.normal(size=(Bn, Tn, I) if layer.batch_first else (Tn, Bn, I)).astype(dtype)
    states = tuple(rng.normal(size=(L * D, Bn, H)).astype(dtype) for _ in range(n_states)) if with_states else None
    if n_states == 2:
        out, finals = layer(x, states, lengths=lengths)
    else:
        out, h_n = layer(x, None if states is None else states[0], lengths=lengths)
        finals = (h_n,)
    dout = rng.normal(size=out.shape).astype(dtype)
    dfinals = tuple(rng.normal(size=(L * D, Bn, H)).astype(dtype) for _ in range(n_states))
    if n_states == 2:
        dx, d0 = layer.backward(dout, dfinals)
    else:
        dx, dh0 = layer.backward(dout, dfinals[0])
        d0 = (dh0,)
    t_out, t_finals, t_dx, t_d0, t_grads = torch_forward_backward(layer, x, states, lengths, dout, dfinals)
    pairs = [("out", out, t_out), ("dx", dx, t_dx)]
    pairs += [(f"final{k}", a, b) for k, (a, b) in enumerate(zip(finals, t_finals))]
    if with_states:
        pairs += [(f"dstate{k}", a, b) for k, (a, b) in enumerate(zip(d0, t_d0))]
    pairs += [(name, layer.grads[name], t_grads[name]) for name in t_grads]
    assert set(layer.grads) == set(t_grads)
    return pairs


def assert_close(pairs, rtol, atol):
    for name, ours, theirs in pairs:
        assert ours.shape == theirs.shape, name
        np.testing.assert_allclose(ours, theirs, rtol=rtol, atol=atol, err_msg=name)


SWEEP = list(itertools.product(CELLS, [1, 2, 3], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("cell,num_layers,bidirectional,batch_first,with_lengths", SWEEP)
def test_layer_matches_torch_float64(cell, num_layers, bidirectional, batch_first, with_lengths):
    rng = np.random.default_rng(hash((cell, num_layers, bidirectional, batch_first, with_lengths)) % 2**32)
    layer = make_layer(cell, num_layers=num_layers, bidirectional=bidirectional, batch_first=batch_first,
                       seed=7, backend="numpy")
    lengths = np.array([T, 2, 4]) if with_lengths else None
    assert_close(run_both(layer, rng, lengths), rtol=0, atol=1e-10)


@pytest.mark.parametrize("backend", ["numba", "auto"])
@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("bidirectional,with_lengths", [(False, False), (True, True)])
def test_compiled_backends_match_torch_float64(cell, backend, bidirectional, with_lengths):
    rng = np.random.default_rng(3)
    layer = make_layer(cell, num_layers=2, bidirectional=bidirectional, seed=1, backend=backend)
    lengths = np.array([T, 1, 3]) if with_lengths else None
    assert_close(run_both(layer, rng, lengths), rtol=0, atol=1e-10)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cell", CELLS)
def test_layer_matches_torch_float32(cell, backend):
    rng = np.random.default_rng(4)
    layer = make_layer(cell, num_layers=2, bidirectional=True, seed=2, backend=backend, dtype=np.float32)
    pairs = run_both(layer, rng, np.array([T, 3, 5]), dtype=np.float32)
    for name, ours, _ in pairs:
        assert ours.dtype == np.float32, name
    assert_close(pairs, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("cell", CELLS)
@pytest.mark.parametrize("Tn,Bn,Hn", [(1, 3, 5), (6, 1, 5), (1, 1, 1), (4, 2, 1)])
def test_edge_sizes_match_torch(cell, Tn, Bn, Hn):
    rng = np.random.default_rng(5)
    for backend in ("numpy", "numba"):
        layer = make_layer(cell, hidden=Hn, num_layers=2, seed=3, backend=backend)
        assert_close(run_both(layer, rng, Tn=Tn, Bn=Bn), rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", CELLS)
def test_zero_initial_states_when_none(cell):
    rng = np.random.default_rng(6)
    layer = make_layer(cell, num_layers=2, seed=4, backend="numpy")
    assert_close(run_both(layer, rng, with_states=False), rtol=0, atol=1e-10)


@pytest.mark.parametrize("cell", CELLS)
def test_bias_false_matches_torch(cell):
    rng = np.random.default_rng(7)
    layer = make_layer(cell, bias=False, seed=5, backend="numpy")
    assert not any(name.startswith("bias") for name in layer.params)
    assert_close(run_both(layer, rng), rtol=0, atol=1e-10)
