"""Linear and Embedding against PyTorch autograd on the same weights, in float64."""
import numpy as np
import pytest
import torch

from minirnn.nn import Embedding, Linear

TOL = 1e-10


def _t(a):
    return torch.tensor(a, dtype=torch.float64, requires_grad=True)


@pytest.mark.parametrize("bias", [True, False])
def test_linear_forward_and_backward_match_torch_autograd(bias):
    rng = np.random.default_rng(0)
    lin = Linear(7, 5, bias=bias, seed=1)
    x = rng.standard_normal((4, 3, 7))                       # (T, B, in)
    G = rng.standard_normal((4, 3, 5))                       # scalarise L = sum(y * G)
    y = lin(x)
    dx = lin.backward(G)

    W, xt = _t(lin.weight), _t(x)
    b = _t(lin.bias) if bias else None
    yt = torch.nn.functional.linear(xt, W, b)
    (yt * torch.from_numpy(G)).sum().backward()

    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(lin.grads["weight"], W.grad.numpy(), rtol=0, atol=TOL)
    if bias:
        np.testing.assert_allclose(lin.grads["bias"], b.grad.numpy(), rtol=0, atol=TOL)
    else:
        assert "bias" not in lin.params and "bias" not in lin.grads


def test_linear_loads_a_torch_state_dict_and_gives_the_same_output():
    torch.manual_seed(0)
    ref = torch.nn.Linear(6, 4).double()
    lin = Linear(6, 4, seed=123)
    lin.load_state_dict({k: v.detach().numpy() for k, v in ref.state_dict().items()})
    x = np.random.default_rng(1).standard_normal((10, 6))
    np.testing.assert_allclose(lin(x), ref(torch.from_numpy(x)).detach().numpy(), rtol=0, atol=TOL)


def test_linear_backward_overwrites_rather_than_accumulates():
    lin = Linear(3, 2, seed=0)
    x = np.arange(6.0).reshape(2, 3)
    lin(x)
    lin.backward(np.ones((2, 2)))
    first = lin.grads["weight"].copy()
    held = lin.grads["weight"]                               # a reference taken before the second backward
    lin(x)
    lin.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(lin.grads["weight"], first)
    np.testing.assert_array_equal(first, [[3.0, 5.0, 7.0], [3.0, 5.0, 7.0]])   # column sums of x
    assert held is lin.grads["weight"]                       # written in place


def test_linear_init_is_pytorch_uniform_and_seeded():
    lin = Linear(400, 300, seed=0)
    bound = 1 / np.sqrt(400)
    w = lin.weight
    assert np.abs(w).max() <= bound and np.abs(lin.bias).max() <= bound
    assert abs(w.var() - bound ** 2 / 3) < 0.03 * bound ** 2 / 3        # Var U(-b, b) = b^2 / 3
    assert abs(w.mean()) < 0.01 * bound
    np.testing.assert_array_equal(Linear(400, 300, seed=0).weight, w)
    assert not np.array_equal(Linear(400, 300, seed=1).weight, w)


def test_linear_float32_keeps_float32():
    lin = Linear(4, 3, dtype=np.float32, seed=0)
    x = np.ones((2, 4), np.float32)
    y = lin(x)
    assert y.dtype == np.float32 and lin.weight.dtype == np.float32
    assert lin.backward(np.ones((2, 3), np.float32)).dtype == np.float32
    ref = x.astype(np.float64) @ lin.weight.T.astype(np.float64) + lin.bias
    np.testing.assert_allclose(y, ref, rtol=1e-6)


def test_embedding_forward_and_backward_match_torch_with_repeated_indices():
    rng = np.random.default_rng(0)
    emb = Embedding(11, 5, seed=2)
    idx = np.array([[1, 2, 1], [10, 1, 0]])                  # 1 appears three times
    G = rng.standard_normal((2, 3, 5))
    y = emb(idx)
    assert emb.backward(G) is None

    W = _t(emb.weight)
    yt = torch.nn.functional.embedding(torch.from_numpy(idx), W)
    (yt * torch.from_numpy(G)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(emb.grads["weight"], W.grad.numpy(), rtol=0, atol=TOL)
    np.testing.assert_allclose(emb.grads["weight"][1], G[0, 0] + G[0, 2] + G[1, 1], rtol=0, atol=TOL)
    assert np.all(emb.grads["weight"][3:10] == 0)


def test_embedding_backward_overwrites_and_init_is_standard_normal():
    emb = Embedding(2000, 50, seed=0)
    assert abs(emb.weight.mean()) < 0.01 and abs(emb.weight.std() - 1) < 0.01
    emb(np.array([3]))
    emb.backward(np.ones((1, 50)))
    emb(np.array([4]))
    emb.backward(np.ones((1, 50)))
    assert emb.grads["weight"][3].sum() == 0 and emb.grads["weight"][4].sum() == 50


def test_reprs():
    assert repr(Linear(20, 3)) == "Linear(20, 3, bias=True)"
    assert repr(Linear(20, 3, bias=False)) == "Linear(20, 3, bias=False)"
    assert repr(Embedding(10, 4)) == "Embedding(10, 4)"


@pytest.mark.parametrize("x, error, words", [
    (np.ones((2, 6)), ValueError, ["in_features", "5", "(2, 6)"]),
    (np.ones((2, 5), dtype=np.int64), TypeError, ["x", "float64", "int64"]),
    (np.ones((2, 5), dtype=np.complex128), TypeError, ["x", "complex128"]),
    (np.array([[object()] * 5]), TypeError, ["x", "object"]),
    (np.ones((2, 5), dtype=np.float32), TypeError, ["x", "float64", "float32"]),
])
def test_linear_rejects_bad_input_naming_what_was_expected(x, error, words):
    with pytest.raises(error) as info:
        Linear(5, 3)(x)
    for w in words:
        assert w in str(info.value)


def test_linear_rejects_bad_dy_and_backward_before_forward():
    lin = Linear(5, 3)
    with pytest.raises(RuntimeError):
        lin.backward(np.ones((2, 3)))
    lin(np.ones((2, 5)))
    with pytest.raises(ValueError, match=r"\(2, 3\)"):
        lin.backward(np.ones((2, 4)))


@pytest.mark.parametrize("args", [(0, 3), (3, 0), (2.5, 3), (True, 3)])
def test_constructors_reject_bad_sizes(args):
    with pytest.raises(ValueError):
        Linear(*args)
    with pytest.raises(ValueError):
        Embedding(*args)


def test_constructors_reject_bad_dtype():
    with pytest.raises(TypeError, match="float16"):
        Linear(2, 2, dtype=np.float16)
    with pytest.raises(TypeError, match="int64"):
        Embedding(2, 2, dtype=np.int64)


def test_embedding_rejects_float_and_out_of_range_indices():
    emb = Embedding(4, 2)
    with pytest.raises(TypeError, match="float64"):
        emb(np.array([0.0, 1.0]))
    with pytest.raises(ValueError, match=r"\[0, 4\).*got 4"):
        emb(np.array([0, 4]))
    with pytest.raises(ValueError, match="got -1"):
        emb(np.array([-1, 2]))
    emb(np.array([0, 1]))
    with pytest.raises(ValueError, match=r"\(2, 2\)"):
        emb.backward(np.ones((2, 3)))
