"""Recurrent dropout in the layers: one inverted-dropout mask (B, H) per sequence, layer and direction, training only,
seeded; finite differences of every tensor with the masks held fixed; the arguments refused. (The same masks in
Keras give Keras' numbers: tests/interop/test_keras_variants.py.)"""
import numpy as np
import pytest

import gradcheck
import minirnn

T, B, I, H = 4, 3, 3, 3


@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
def test_recurrent_dropout_acts_in_training_only_and_is_seeded(cls):
    x = np.random.default_rng(0).normal(size=(T, B, I))
    plain = cls(I, H, seed=5)(x)[0]
    a, b = cls(I, H, seed=5, recurrent_dropout=0.5), cls(I, H, seed=5, recurrent_dropout=0.5)
    out_a, out_b = a(x)[0], b(x)[0]
    np.testing.assert_array_equal(out_a, out_b)                      # same seed, same masks
    assert np.abs(out_a - plain).max() > 1e-2                        # training: dropped
    assert np.abs(a(x)[0] - out_a).max() > 1e-6                      # a new mask for each forward pass
    a.eval()
    np.testing.assert_array_equal(a(x)[0], plain)                    # evaluation: the plain layer exactly
    assert out_a[0].tolist() == cls(I, H, seed=5, recurrent_dropout=0.5)(x)[0][0].tolist()


def test_masks_are_zero_or_inverse_keep_rate_and_drop_the_requested_fraction():
    layer = minirnn.LSTM(I, 200, bidirectional=True, recurrent_dropout=0.3, seed=0)
    drawn = []
    original = layer._recurrent_mask
    layer._recurrent_mask = lambda B_: drawn.append(original(B_)) or drawn[-1]
    layer(np.zeros((2, 64, I)))
    assert len(drawn) == 2 and all(m.shape == (64, 200) for m in drawn)    # one per direction, (B, H)
    for m in drawn:
        assert set(np.unique(m).tolist()) == {0.0, 1 / 0.7}
        assert abs((m == 0).mean() - 0.3) < 0.01                     # 12800 draws: 4 standard deviations
    assert np.abs(drawn[0] - drawn[1]).max() > 0                      # the directions draw their own


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("cls", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
def test_layer_with_fixed_recurrent_masks_matches_finite_differences(cls, backend):
    rng = np.random.default_rng(1)
    layer = cls(I, H, num_layers=2, bidirectional=True, recurrent_dropout=0.4, seed=2, backend=backend)
    masks = [((rng.random((B, H)) >= 0.4) / 0.6) for _ in range(4)]
    layer._recurrent_mask = lambda B_, pending=[]: (pending.extend(masks) if not pending else None) or pending.pop(0)
    x, lengths = rng.normal(size=(T, B, I)), np.array([4, 2, 1])
    G = rng.normal(size=(T, B, 2 * H))

    def loss():
        return float(np.sum(layer(x, lengths=lengths)[0] * G))

    loss()
    dx, _ = layer.backward(G)
    grads = dict(layer.grads)
    np.testing.assert_allclose(dx, gradcheck.numerical_gradient(loss, x), rtol=1e-6, atol=1e-8)
    for name, p in layer.params.items():
        np.testing.assert_allclose(grads[name], gradcheck.numerical_gradient(loss, p), rtol=1e-6, atol=1e-8,
                                   err_msg=name)


@pytest.mark.parametrize("bad", [1.0, -0.1, True, "0.5"])
def test_bad_recurrent_dropout_is_refused_naming_the_argument(bad):
    with pytest.raises(ValueError, match=r"LSTM: recurrent_dropout must be a number in \[0, 1\), got"):
        minirnn.LSTM(I, H, recurrent_dropout=bad)


def test_bad_layer_norm_is_refused_naming_the_argument():
    with pytest.raises(TypeError, match="GRU: layer_norm must be True or False, got 'yes'"):
        minirnn.GRU(I, H, layer_norm="yes")
