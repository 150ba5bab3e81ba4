"""Linear and Embedding: the two non-recurrent layers around the recurrent ones, with their backward
passes."""

from __future__ import annotations

import numpy as np

from .module import Module
from .validation import check_float_dtype, check_output_grad, check_size, require_finite
from ..kernels.threads import linear_work, uses_blas


class Linear(Module):
    """An affine map on the last axis, as ``torch.nn.Linear``.

        y = x W^T + b        x (..., in), W (out, in), b (out,), y (..., out)

    Backward, for dy = dL/dy of shape (..., out), with every leading axis flattened into one of length N:

        dx = dy W            (..., in)
        dW = dy^T x          (out, in)     summed over the N rows
        db = sum_N dy        (out,)

    ``backward`` OVERWRITES ``grads`` (it does not add to them): each call holds the gradient of the last
    forward only. To accumulate over several forwards, add the arrays yourself. The arrays are written in
    place, so references taken before stay valid.

    Parameters are initialised as PyTorch does: every entry of ``weight`` and ``bias`` is U(-1/sqrt(in),
        1/sqrt(in)).

    Example:
        >>> lin = Linear(20, 3, seed=0)
        >>> lin
        Linear(20, 3, bias=True)
        >>> y = lin(np.ones((5, 4, 20)))           # (T, B, in) -> (T, B, out)
        >>> y.shape
        (5, 4, 3)
        >>> dx = lin.backward(np.ones_like(y))
        >>> dx.shape, lin.grads["weight"].shape
        ((5, 4, 20), (3, 20))
    """

    def __init__(
        self, in_features: int, out_features: int, bias: bool = True, *, dtype=np.float64, seed=None
    ):
        super().__init__()
        self.in_features = check_size(in_features, "in_features")
        self.out_features = check_size(out_features, "out_features")
        self.dtype = check_float_dtype(dtype)
        self.has_bias = bool(bias)
        rng = np.random.default_rng(seed)
        bound = 1.0 / np.sqrt(self.in_features)
        self._own_params["weight"] = rng.uniform(-bound, bound, (self.out_features, self.in_features)).astype(
            self.dtype
        )
        self._own_grads["weight"] = np.zeros_like(self._own_params["weight"])
        if self.has_bias:
            self._own_params["bias"] = rng.uniform(-bound, bound, self.out_features).astype(self.dtype)
            self._own_grads["bias"] = np.zeros_like(self._own_params["bias"])
        self._cache = None

    @property
    def weight(self) -> np.ndarray:
        return self._own_params["weight"]

    @property
    def bias(self):
        return self._own_params.get("bias")

    @uses_blas(linear_work)  # BLAS threads by call size
    def __call__(self, x) -> np.ndarray:
        """x (..., in_features) of the layer's dtype -> y (..., out_features). Keeps x for ``backward``."""
        x = np.asarray(x)
        if x.dtype != self.dtype:
            if not np.issubdtype(x.dtype, np.floating):
                raise TypeError(f"x must be a floating array of dtype {self.dtype}, got dtype {x.dtype}")
            raise TypeError(
                f"x must have the layer's dtype {self.dtype}, got {x.dtype} "
                f"(convert with x.astype(np.{self.dtype}) or build the layer with dtype=np.{x.dtype})"
            )
        if x.ndim < 1 or x.shape[-1] != self.in_features:
            raise ValueError(
                f"x must have shape (..., in_features) = (..., {self.in_features}), got {x.shape}"
            )
        if x.size == 0:
            raise ValueError(f"x must not be empty, got shape {x.shape}")
        require_finite(x, "x")
        y = (
            x.reshape(-1, self.in_features) @ self.weight.T
        )  # (N, out): one 2-D GEMM (a 3-D matmul is one per row)
        if self.has_bias:
            y += self.bias
        self._cache = x
        return y.reshape(x.shape[:-1] + (self.out_features,))  # (..., out)

    @uses_blas(linear_work)
    def backward(self, dy) -> np.ndarray:
        """dy (..., out_features), the gradient of the loss w.r.t. the last output -> dx (..., in_features).

        Fills (overwrites) ``grads["weight"]`` and ``grads["bias"]``.
        """
        if self._cache is None:
            raise RuntimeError("Linear.backward called before a forward call")
        x = self._cache
        dy = check_output_grad(dy, x.shape[:-1] + (self.out_features,), self.dtype)
        dy2 = dy.reshape(-1, self.out_features)  # (N, out)
        x2 = x.reshape(-1, self.in_features)  # (N, in)
        self._own_grads["weight"][...] = dy2.T @ x2  # (out, in)
        if self.has_bias:
            self._own_grads["bias"][...] = dy2.sum(axis=0)  # (out,)
        return (dy2 @ self.weight).reshape(x.shape).astype(self.dtype, copy=False)  # (..., in)

    def __repr__(self) -> str:
        return f"Linear({self.in_features}, {self.out_features}, bias={self.has_bias})"


class Embedding(Module):
    """A lookup table, as ``torch.nn.Embedding``: row ``idx`` of ``weight`` for every integer in ``idx``.

        y[..., :] = W[idx[...], :]        idx any integer shape S, W (num_embeddings, embedding_dim), y S +
        (dim,)

    Backward adds each output gradient into the row it came from (a row used twice gets both):

        dW[k] = sum over positions p with idx[p] == k of dy[p]

    computed by sorting the positions by row and summing each row's run (``np.add.reduceat``;
    docs/performance.md says why not ``np.add.at``).

    There is no gradient for the integer input, so ``backward`` returns None. Like ``Linear``, it OVERWRITES
    ``grads["weight"]`` in place. ``weight`` is initialised N(0, 1) as in PyTorch.

    Example:
        >>> emb = Embedding(10, 4, seed=0)
        >>> emb
        Embedding(10, 4)
        >>> y = emb(np.array([[1, 2], [1, 9]]))     # (T, B) -> (T, B, 4)
        >>> y.shape
        (2, 2, 4)
        >>> emb.backward(np.ones_like(y)); emb.grads["weight"][1]
        array([2., 2., 2., 2.])
    """

    def __init__(self, num_embeddings: int, embedding_dim: int, *, dtype=np.float64, seed=None):
        super().__init__()
        self.num_embeddings = check_size(num_embeddings, "num_embeddings")
        self.embedding_dim = check_size(embedding_dim, "embedding_dim")
        self.dtype = check_float_dtype(dtype)
        rng = np.random.default_rng(seed)
        self._own_params["weight"] = rng.standard_normal((self.num_embeddings, self.embedding_dim)).astype(
            self.dtype
        )
        self._own_grads["weight"] = np.zeros_like(self._own_params["weight"])
        self._cache = None

    @property
    def weight(self) -> np.ndarray:
        return self._own_params["weight"]

    def __call__(self, idx) -> np.ndarray:
        """idx: integer array of any shape S, entries in [0, num_embeddings) -> (S..., embedding_dim)."""
        idx = np.asarray(idx)
        if not np.issubdtype(idx.dtype, np.integer):
            raise TypeError(
                f"idx must be an integer array of indices in [0, {self.num_embeddings}), "
                f"got dtype {idx.dtype}"
            )
        if idx.size and (idx.min() < 0 or idx.max() >= self.num_embeddings):
            bad = idx.min() if idx.min() < 0 else idx.max()
            raise ValueError(
                f"idx must be in [0, num_embeddings) = [0, {self.num_embeddings}), got {int(bad)}"
            )
        self._cache = idx
        return self.weight[idx]

    def backward(self, dy) -> None:
        """dy (S..., embedding_dim) -> None; fills (overwrites) ``grads["weight"]`` by scattering dy into
        rows."""
        if self._cache is None:
            raise RuntimeError("Embedding.backward called before a forward call")
        idx = self._cache
        dy = check_output_grad(dy, idx.shape + (self.embedding_dim,), self.dtype)
        dW = self._own_grads["weight"]
        dW[...] = 0
        rows = idx.reshape(-1)  # (N,)
        if rows.size:
            order = np.argsort(rows, kind="stable")  # each row's positions side by side, in order
            sorted_rows = rows[order]
            starts = np.flatnonzero(
                np.r_[True, sorted_rows[1:] != sorted_rows[:-1]]
            )  # first position of each row
            dW[sorted_rows[starts]] = np.add.reduceat(
                dy.reshape(-1, self.embedding_dim)[order], starts, axis=0
            )
        return None

    def __repr__(self) -> str:
        return f"Embedding({self.num_embeddings}, {self.embedding_dim})"
