"""minirnn.init against torch.nn.init's guarantees and the chrono formula (Tallec & Ollivier 2018)."""
import numpy as np
import pytest
import torch

import minirnn
from minirnn import init


@pytest.mark.parametrize("shape", [(8, 8), (12, 3), (3, 12), (6, 2, 3)])
@pytest.mark.parametrize("gain", [1.0, 0.5, 2.0])
def test_orthogonal_gives_the_same_gram_matrix_as_torch(shape, gain):
    W = init.orthogonal_(np.empty(shape), gain=gain, rng=0)
    ref = torch.nn.init.orthogonal_(torch.empty(shape, dtype=torch.float64), gain=gain).numpy()
    rows, cols = shape[0], int(np.prod(shape[1:]))
    flat, tflat = W.reshape(rows, cols), ref.reshape(rows, cols)
    gram = (lambda A: A.T @ A) if rows >= cols else (lambda A: A @ A.T)
    np.testing.assert_allclose(gram(flat), gain ** 2 * np.eye(min(rows, cols)), atol=1e-12)
    np.testing.assert_allclose(gram(flat), gram(tflat), atol=1e-12)        # torch's guarantee, the same matrix


def test_orthogonal_fills_in_place_is_seeded_and_unbiased():
    W = np.empty((16, 16))
    out = init.orthogonal_(W, rng=3)
    assert out is W
    np.testing.assert_array_equal(W, init.orthogonal_(np.empty((16, 16)), rng=np.random.default_rng(3)))
    # Haar measure: the sign of each column is random, so the mean over many draws tends to 0 (without the
    # sign fix of Q R, diag(Q) would be biased negative by numpy's QR convention).
    diag = np.mean([np.diag(init.orthogonal_(np.empty((4, 4)), rng=s)) for s in range(2000)], axis=0)
    assert np.all(np.abs(diag) < 0.06), diag


def test_identity_matches_torch_eye_times_gain():
    for shape in [(3, 3), (2, 5), (5, 2)]:
        ref = 0.7 * torch.nn.init.eye_(torch.empty(shape, dtype=torch.float64)).numpy()
        np.testing.assert_array_equal(init.identity_(np.full(shape, 9.0), gain=0.7), ref)


def test_forget_bias_makes_the_first_step_keep_sigmoid_of_it_of_the_cell():
    """c_1 = f c_0 + i g with x = 0, h_0 = 0, c_0 = 1 and the other biases 0: c_1 = sigmoid(b_f) exactly."""
    lstm = minirnn.LSTM(3, 5, num_layers=2, bidirectional=True, seed=0)
    for name in lstm.params:
        if name.startswith("bias"):
            lstm.params[name][...] = 0.0
    init.forget_bias_(lstm, 2.0)
    for name in [n for n in lstm.params if n.startswith("bias_ih")]:
        total = lstm.params[name] + lstm.params[name.replace("ih", "hh")]
        np.testing.assert_array_equal(total[5:10], 2.0)
    single = init.forget_bias_(minirnn.LSTM(3, 5, seed=1, bias=True), 2.0)
    for name in ("bias_ih_l0", "bias_hh_l0"):
        single.params[name][:5] = single.params[name][10:] = 0.0
    _, (h1, c1) = single(np.zeros((1, 1, 3)), (np.zeros((1, 1, 5)), np.ones((1, 1, 5))))
    np.testing.assert_allclose(c1, 1 / (1 + np.exp(-2.0)), rtol=1e-14)


def test_chrono_draws_log_uniform_forget_biases_and_their_negative_input_biases():
    T_max = 50
    lstm = init.chrono_(minirnn.LSTM(2, 4000, seed=0), T_max, rng=0)
    H = 4000
    b_ih, b_hh = lstm.params["bias_ih_l0"], lstm.params["bias_hh_l0"]
    b_f, b_i = b_ih[H:2 * H], b_ih[:H]
    np.testing.assert_array_equal(b_i, -b_f)
    np.testing.assert_array_equal(b_hh[:2 * H], 0.0)
    u = np.exp(b_f)                                                # u ~ U(1, T_max - 1)
    assert u.min() >= 1 and u.max() <= T_max - 1
    np.testing.assert_allclose(np.quantile(u, [0.1, 0.5, 0.9]), 1 + (T_max - 2) * np.array([0.1, 0.5, 0.9]),
                               atol=1.0)                  # 4 standard errors of a quantile of 4000


def test_chrono_sets_the_gru_update_gate_and_refuses_the_rnn():
    gru = minirnn.GRU(2, 6, seed=0)
    before = gru.params["bias_ih_l0"].copy()
    init.chrono_(gru, 20, rng=1)
    b = gru.params["bias_ih_l0"]
    assert np.all((b[6:12] >= 0) & (b[6:12] <= np.log(19)))            # z block (gates r, z, n)
    np.testing.assert_array_equal(gru.params["bias_hh_l0"][6:12], 0.0)
    np.testing.assert_array_equal(b[:6], before[:6])
    np.testing.assert_array_equal(b[12:], before[12:])
    with pytest.raises(ValueError, match="gate"):
        init.chrono_(minirnn.RNN(2, 3, seed=0), 20)


def test_init_refuses_bad_input_with_a_sentence():
    with pytest.raises(TypeError, match="W must be a numpy.ndarray"):
        init.orthogonal_([[1.0, 0.0], [0.0, 1.0]])
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        init.orthogonal_(np.empty(3))
    with pytest.raises(TypeError, match="floating"):
        init.identity_(np.empty((2, 2), dtype=int))
    with pytest.raises(ValueError, match="T_max must be a number > 2"):
        init.chrono_(minirnn.LSTM(2, 3, seed=0), 2)
    with pytest.raises(ValueError, match="'f' gate"):
        init.forget_bias_(minirnn.GRU(2, 3, seed=0), 1.0)
    with pytest.raises(TypeError, match="rng must be"):
        init.orthogonal_(np.empty((2, 2)), rng="seed")
