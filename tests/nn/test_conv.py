"""Conv2d: its im2col forward and hand-written backward against finite differences (the gradcheck package) and
against torch.nn.functional.conv2d with autograd, for strides and paddings; bad input named."""
from __future__ import annotations

import numpy as np
import pytest

from gradcheck import check_gradients
from minirnn.nn.conv import Conv2d

import torch  # noqa: E402  (the test extra has it: never skipped)


@pytest.mark.parametrize("stride, padding, bias", [(1, 0, True), (2, 1, True), (1, 2, False), (3, 0, True)])
def test_gradcheck_conv2d_weight_bias_and_input(stride, padding, bias):
    rng = np.random.default_rng(stride + 10 * padding)
    conv = Conv2d(2, 3, 3, stride=stride, padding=padding, bias=bias, seed=1)
    x = rng.normal(size=(2, 2, 7, 6))
    y = conv(x)
    G = rng.normal(size=y.shape)
    params = {"x": x, **conv.params}

    def loss(p):
        return float(np.sum(conv(p["x"]) * G))

    loss(params)
    report = check_gradients(loss, params, {"x": conv.backward(G), **conv.grads})
    assert report.passed, str(report)
    assert len(report.rows) == (3 if bias else 2)


@pytest.mark.parametrize("stride, padding", [(1, 1), (2, 0), (2, 2)])
def test_conv2d_matches_torch_forward_and_backward(stride, padding):
    rng = np.random.default_rng(3)
    conv = Conv2d(3, 4, 3, stride=stride, padding=padding, seed=2)
    x = rng.normal(size=(5, 3, 9, 8))
    y = conv(x)
    G = rng.normal(size=y.shape)
    dx = conv.backward(G)
    xt = torch.tensor(x, requires_grad=True)
    wt = torch.tensor(conv.weight, requires_grad=True)
    bt = torch.tensor(conv.bias, requires_grad=True)
    yt = torch.nn.functional.conv2d(xt, wt, bt, stride=stride, padding=padding)
    (yt * torch.from_numpy(G)).sum().backward()
    np.testing.assert_allclose(y, yt.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv.grads["weight"], wt.grad.numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(conv.grads["bias"], bt.grad.numpy(), rtol=0, atol=1e-12)


def test_conv2d_init_bounds_and_output_size_are_torch_s():
    conv = Conv2d(4, 6, 5, stride=2, padding=1, seed=0)
    bound = 1 / np.sqrt(4 * 25)
    assert np.abs(conv.weight).max() <= bound and np.abs(conv.weight).max() > 0.9 * bound
    assert conv.output_size(20, 13) == torch.nn.Conv2d(4, 6, 5, stride=2, padding=1)(
        torch.zeros(1, 4, 20, 13)).shape[2:]


def test_conv2d_bad_input_is_named():
    conv = Conv2d(2, 3, 3)
    expected = r"x must have shape \(N, in_channels, H, W\) = \(N, 2, H, W\), got \(1, 3, 5, 5\)"
    with pytest.raises(ValueError, match=expected):
        conv(np.zeros((1, 3, 5, 5)))
    with pytest.raises(TypeError, match="dtype float64, got float32"):
        conv(np.zeros((1, 2, 5, 5), dtype=np.float32))
    with pytest.raises(ValueError, match="at least kernel_size = 3"):
        conv(np.zeros((1, 2, 2, 5)))
    with pytest.raises(ValueError, match="padding must be an integer >= 0, got -1"):
        Conv2d(2, 3, 3, padding=-1)
    with pytest.raises(RuntimeError, match="before a forward call"):
        Conv2d(2, 3, 3).backward(np.zeros((1, 3, 1, 1)))
    conv(np.zeros((1, 2, 5, 5)))
    with pytest.raises(ValueError):
        conv.backward(np.zeros((1, 3, 2, 2)))
