"""Conv2d: a 2-D convolution (cross-correlation, as every deep-learning library computes it) with its
backward pass,
written with im2col: the patches become the rows of a matrix, and the convolution becomes one matrix product.

    conv = Conv2d(1, 8, 3, padding=1, seed=0)
    y = conv(x)                  # x (N, C, H, W) -> y (N, 8, H, W)
    dx = conv.backward(dy)       # fills conv.grads["weight"], conv.grads["bias"]

What this file does not hold: pooling, dilation, groups.
"""

from __future__ import annotations

import numpy as np

from .module import Module
from .validation import check_float_dtype, check_output_grad, check_size, require_finite

__all__ = ["Conv2d"]


class Conv2d(Module):
    """A 2-D convolution layer, as ``torch.nn.Conv2d`` (square kernel, one stride and padding for both axes).

        y[n, o, i, j] = b[o] + sum_{c, p, q} W[o, c, p, q] * xp[n, c, s*i + p, s*j + q]

    where xp is x with ``padding`` zeros on each side, s the stride, and Ho = (H + 2 pad - k) // s + 1 (same
    for Wo). With im2col, X (N*Ho*Wo, C*k*k) holds one patch per row and W2 = W.reshape(O, C*k*k):

        Y = X W2^T + b                    (N*Ho*Wo, O), then laid out as (N, O, Ho, Wo)
        dW2 = dY^T X,  db = sum_rows dY,  dX = dY W2,  and dx adds every entry of dX back where its patch
        came from.

    ``backward`` OVERWRITES ``grads``. Parameters start as in PyTorch: U(-1/sqrt(C k^2), 1/sqrt(C k^2)).

    Example:
        >>> conv = Conv2d(1, 4, 3, padding=1, seed=0)
        >>> conv
        Conv2d(1, 4, kernel_size=3, stride=1, padding=1)
        >>> y = conv(np.ones((2, 1, 6, 6)))
        >>> dx = conv.backward(np.ones_like(y))
        >>> y.shape, dx.shape, conv.grads["weight"].shape
        ((2, 4, 6, 6), (2, 1, 6, 6), (4, 1, 3, 3))
    """

    def __init__(
        self,
        in_channels,
        out_channels,
        kernel_size,
        stride=1,
        padding=0,
        bias=True,
        *,
        dtype=np.float64,
        seed=None,
    ):
        super().__init__()
        self.in_channels = check_size(in_channels, "in_channels")
        self.out_channels = check_size(out_channels, "out_channels")
        self.kernel_size = check_size(kernel_size, "kernel_size")
        self.stride = check_size(stride, "stride")
        if isinstance(padding, bool) or not isinstance(padding, (int, np.integer)) or padding < 0:
            raise ValueError(f"padding must be an integer >= 0, got {padding!r}")
        self.padding = int(padding)
        self.dtype = check_float_dtype(dtype)
        self.has_bias = bool(bias)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(self.in_channels * self.kernel_size**2)
        shape = (self.out_channels, self.in_channels, self.kernel_size, self.kernel_size)
        self._own_params["weight"] = rng.uniform(-bound, bound, shape).astype(self.dtype)
        self._own_grads["weight"] = np.zeros(shape, dtype=self.dtype)
        if self.has_bias:
            self._own_params["bias"] = rng.uniform(-bound, bound, self.out_channels).astype(self.dtype)
            self._own_grads["bias"] = np.zeros(self.out_channels, dtype=self.dtype)
        self._cache = None

    def output_size(self, height, width):
        """(Ho, Wo) for an input of (height, width)."""
        k, s, p = self.kernel_size, self.stride, self.padding
        return (height + 2 * p - k) // s + 1, (width + 2 * p - k) // s + 1

    def _check_input(self, x):
        x = np.asarray(x)
        if x.ndim != 4 or x.shape[1] != self.in_channels:
            raise ValueError(
                f"x must have shape (N, in_channels, H, W) = (N, {self.in_channels}, H, W), got {x.shape}"
            )
        if x.dtype != self.dtype:
            raise TypeError(f"x must have the layer's dtype {self.dtype}, got {x.dtype}")
        if min(self.output_size(*x.shape[2:])) < 1:
            raise ValueError(
                f"x's height and width plus padding must be at least kernel_size = "
                f"{self.kernel_size}, got {x.shape[2:]} with padding {self.padding}"
            )
        require_finite(x, "x")
        return x

    def __call__(self, x):
        """x (N, C, H, W) -> y (N, O, Ho, Wo). Keeps the patches for ``backward``."""
        x = self._check_input(x)
        N, C, H, W = x.shape
        k, s, p = self.kernel_size, self.stride, self.padding
        Ho, Wo = self.output_size(H, W)
        xp = np.pad(x, ((0, 0), (0, 0), (p, p), (p, p)))  # (N, C, H+2p, W+2p)
        windows = np.lib.stride_tricks.sliding_window_view(xp, (k, k), axis=(2, 3))[:, :, ::s, ::s]
        cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(N * Ho * Wo, C * k * k)  # (N*Ho*Wo, C*k*k), a copy
        y = cols @ self.weight.reshape(self.out_channels, -1).T  # (N*Ho*Wo, O)
        if self.has_bias:
            y += self.bias
        self._cache = (cols, x.shape)
        return y.reshape(N, Ho, Wo, self.out_channels).transpose(0, 3, 1, 2)  # (N, O, Ho, Wo)

    def backward(self, dy):
        """dy (N, O, Ho, Wo) -> dx (N, C, H, W); fills (overwrites) ``grads["weight"]`` and
        ``grads["bias"]``."""
        if self._cache is None:
            raise RuntimeError("Conv2d.backward called before a forward call")
        cols, (N, C, H, W) = self._cache
        k, s, p, O = self.kernel_size, self.stride, self.padding, self.out_channels
        Ho, Wo = self.output_size(H, W)
        dy = check_output_grad(dy, (N, O, Ho, Wo), self.dtype)
        d2 = dy.transpose(0, 2, 3, 1).reshape(-1, O)  # (N*Ho*Wo, O)
        self._own_grads["weight"][...] = (d2.T @ cols).reshape(self.weight.shape)  # (O, C, k, k)
        if self.has_bias:
            self._own_grads["bias"][...] = d2.sum(axis=0)
        dcols = (d2 @ self.weight.reshape(O, -1)).reshape(N, Ho, Wo, C, k, k)  # one gradient per patch entry
        dxp = np.zeros((N, C, H + 2 * p, W + 2 * p), dtype=self.dtype)
        for i in range(k):  # col2im: add each entry back
            for j in range(k):
                dxp[:, :, i : i + s * Ho : s, j : j + s * Wo : s] += dcols[:, :, :, :, i, j].transpose(
                    0, 3, 1, 2
                )
        return dxp[:, :, p : p + H, p : p + W]

    @property
    def weight(self):
        return self._own_params["weight"]

    @property
    def bias(self):
        return self._own_params.get("bias")

    def __repr__(self):
        extra = "" if self.has_bias else ", bias=False"
        return (
            f"Conv2d({self.in_channels}, {self.out_channels}, kernel_size={self.kernel_size}, "
            f"stride={self.stride}, padding={self.padding}{extra})"
        )
