"""Bidirectional merge modes (concat, sum, mul, ave) in the layer: finite differences of every tensor through stacked
bidirectional layers with padding on both backends, the merge of each layer against the directions' outputs, and the
arguments refused. (Keras parity of the modes: tests/interop/test_keras_variants.py.)"""
import numpy as np
import pytest

import gradcheck
import minirnn
from minirnn.nn.merge import merge, merge_backward

T, B, I, H = 4, 3, 3, 3
LENGTHS = np.array([4, 2, 1])


def layer_loss(layer, x, states, G, Gs):
    out, finals = layer(x, layer.pack_states(states), lengths=LENGTHS)
    return float(np.sum(out * G) + sum(np.sum(f * g) for f, g in zip(layer.unpack_states(finals), Gs)))


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("merge_mode", ["sum", "mul", "ave"])
@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
def test_merge_mode_layer_backward_matches_finite_differences(cls, merge_mode, backend):
    rng = np.random.default_rng(0)
    layer = cls(I, H, num_layers=2, bidirectional=True, merge_mode=merge_mode, seed=1, backend=backend)
    n = len(layer.cell.states)
    x = rng.normal(size=(T, B, I))
    states = [rng.normal(scale=0.5, size=(4, B, H)) for _ in range(n)]
    G, Gs = rng.normal(size=(T, B, H)), [rng.normal(size=(4, B, H)) for _ in range(n)]
    layer_loss(layer, x, states, G, Gs)
    dx, d0 = layer.backward(G, layer.pack_states(Gs))
    grads = dict(layer.grads)
    loss = lambda: layer_loss(layer, x, states, G, Gs)             # noqa: E731
    tensors = {"x": (x, dx), **{f"state{k}": (s, g) for k, (s, g) in enumerate(zip(states, layer.unpack_states(d0)))},
               **{name: (p, grads[name]) for name, p in layer.params.items()}}
    for name, (value, analytic) in tensors.items():
        numeric = gradcheck.numerical_gradient(loss, value)
        np.testing.assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8, err_msg=name)


@pytest.mark.parametrize("merge_mode", ["concat", "sum", "mul", "ave"])
def test_one_layer_output_is_the_merge_of_the_concatenated_directions(merge_mode):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(T, B, I))
    concat, _ = minirnn.GRU(I, H, bidirectional=True, seed=2)(x, lengths=LENGTHS)
    merged, _ = minirnn.GRU(I, H, bidirectional=True, seed=2, merge_mode=merge_mode)(x, lengths=LENGTHS)
    f, r = concat[..., :H], concat[..., H:]
    expected = {"concat": concat, "sum": f + r, "mul": f * r, "ave": (f + r) / 2}[merge_mode]
    np.testing.assert_allclose(merged, expected, rtol=0, atol=1e-15)


def test_stacked_merge_feeds_H_features_to_the_next_layer():
    lstm = minirnn.LSTM(I, H, num_layers=3, bidirectional=True, merge_mode="sum", seed=0)
    assert lstm.params["weight_ih_l1"].shape == (4 * H, H) and lstm.params["weight_ih_l2_reverse"].shape == (4 * H, H)
    assert lstm.output_size == H and repr(lstm) == "LSTM(3, 3, num_layers=3, bidirectional=True, merge_mode='sum')"
    out, _ = lstm(np.zeros((T, B, I)))
    assert out.shape == (T, B, H)
    with pytest.raises(ValueError, match=r"dout must have shape \(seq_len, batch, num_directions \* hidden_size\)"):
        lstm.backward(np.zeros((T, B, 2 * H)))
    assert minirnn.RNN(I, H, merge_mode="mul").output_size == H      # one direction: the mode changes nothing


def test_merge_backward_is_the_transpose_of_merge():
    """<merge(f, r), dy> differentiated by hand: each mode's backward against central differences."""
    rng = np.random.default_rng(3)
    f, r, dy = rng.normal(size=(2, 2, 3)), rng.normal(size=(2, 2, 3)), None
    for mode in ("concat", "sum", "mul", "ave"):
        dy = rng.normal(size=merge([f, r], mode).shape)
        df, dr = merge_backward(dy, [f, r], mode)
        loss = lambda: float(np.sum(merge([f, r], mode) * dy))     # noqa: E731
        np.testing.assert_allclose(df, gradcheck.numerical_gradient(loss, f), rtol=1e-6, atol=1e-8, err_msg=mode)
        np.testing.assert_allclose(dr, gradcheck.numerical_gradient(loss, r), rtol=1e-6, atol=1e-8, err_msg=mode)


@pytest.mark.parametrize("bad", ["max", None, "Sum", 2])
def test_bad_merge_mode_is_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"GRU: merge_mode must be one of \('concat', 'sum', 'mul', 'ave'\), got"):
        minirnn.GRU(I, H, bidirectional=True, merge_mode=bad)
