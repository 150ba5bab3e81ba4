"""Attention over a source sequence, with the backward pass written out: additive (Bahdanau et al. 2015), dot
and general (Luong et al. 2015), each with a padding mask.

A query ``q`` (B, Q) looks at the keys ``k`` (B, S, K) of S source positions; a score per position becomes a
weight by a softmax over the real (unmasked) positions, and the context is the weighted mean of the keys (the
keys are also
the values, as in both papers)::

    additive   e_s = tanh(q W_q^T + k_s W_k^T + b)      (B, S, A)      score_s = e_s . v         W_q (A, Q),
    W_k (A, K) dot        score_s = k_s . q (Q = K, no
    parameters)
    general    score_s = k_s . (q W^T)                                                            W (K, Q)

    w_s     = exp(score_s) / sum_{s' real} exp(score_s')   and w_s = 0 exactly where mask_s is False
    context = sum_s w_s k_s                              (B, K)

Backward, given dcontext (B, K) and optionally dweights (B, S) (a loss on the weights themselves)::

    dw_s     = dcontext . k_s + dweights_s
    dk_s     = w_s dcontext                              (plus the score's own path, below)
    dscore_s = w_s (dw_s - sum_s' w_s' dw_s')            (the softmax Jacobian; zero at padded positions)
    additive da_s = dscore_s v (1 - e_s^2),  dv = sum_{b,s} dscore_s e_s,  db = sum_{b,s} da_s,
             dW_k = sum_{b,s} da_s^T k_s,  dk_s += da_s W_k,  dW_q = sum_b (sum_s da_s)^T q,  dq = (sum_s
             da_s) W_q
    dot      dq = sum_s dscore_s k_s,   dk_s += dscore_s q
    general  u = q W^T:  du = sum_s dscore_s k_s,  dk_s += dscore_s u,  dW = du^T q,  dq = du W

The functional core is a pair per kind, ``forward(q, keys, mask, *params) -> (context, weights, cache)`` and
``backward(dcontext, dweights, cache) -> (dq, dkeys, grads)``: a decoder that attends once per step keeps one
cache per step. The Modules wrap the pair and keep the cache of their last call (one backward per forward).
"""

from __future__ import annotations

import numpy as np

from .module import Module
from .validation import check_float_dtype, check_output_grad, check_size, require_finite

__all__ = [
    "AdditiveAttention",
    "DotAttention",
    "GeneralAttention",
    "masked_softmax",
    "ATTENTIONS",
    "project_keys",
    "additive_forward",
    "additive_backward",
    "dot_forward",
    "dot_backward",
    "general_forward",
    "general_backward",
]


# -- the softmax over the real positions
# ------------------------------------------------------------------------------
def masked_softmax(scores, mask=None):
    """Softmax over the last axis, with exact zeros where ``mask`` is False.  scores (B, S), mask (B, S) bool.

    Example:
        >>> masked_softmax(np.zeros((1, 3)), np.array([[True, True, False]]))
        array([[0.5, 0.5, 0. ]])
    """
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    z = scores - scores.max(axis=-1, keepdims=True)  # the largest real score is 0
    e = np.exp(z)  # exp(-inf) = 0 at padding
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_backward(dweights, weights):
    """dscore = w * (dw - sum_s w dw): the softmax Jacobian applied to dweights (B, S)."""
    return weights * (dweights - np.sum(weights * dweights, axis=-1, keepdims=True))


def _attend(scores, keys, mask):
    """Weights (B, S) and context (B, K) from scores (B, S) and keys (B, S, K)."""
    weights = masked_softmax(scores, mask)
    context = np.einsum("bs,bsk->bk", weights, keys)  # (B, K)
    return context, weights


def _context_backward(dcontext, dweights, keys, weights):
    """The part every kind shares: returns dscore (B, S) and the keys' gradient through the context (B, S,
    K)."""
    dw = np.einsum("bk,bsk->bs", dcontext, keys)  # (B, S)
    if dweights is not None:
        dw = dw + dweights
    return _softmax_backward(dw, weights), weights[:, :, None] * dcontext[:, None, :]


# -- additive (Bahdanau)
# --------------------------------------------------------------------------------------
def additive_forward(q, keys, mask, W_q, W_k, b, v, key_proj=None):
    """Additive attention: q (B, Q), keys (B, S, K), mask (B, S) or None; W_q (A, Q), W_k (A, K), b (A,), v
    (A,).

    ``key_proj`` (B, S, A) = keys W_k^T, when a decoder computed it once for all its steps (Bahdanau et al.
    do: it
    does not depend on the query); then :func:`additive_backward` returns its gradient as
    ``grads["key_proj"]`` instead of following it into W_k and the keys, and the caller does that once
        (:func:`project_keys_backward`).

    Returns ``context (B, K), weights (B, S), cache``.

    Example:
        >>> rng = np.random.default_rng(0); B, S, Q, K, A = 2, 4, 3, 5, 6
        >>> p = [rng.normal(size=s) for s in [(A, Q), (A, K), (A,), (A,)]]
        >>> ctx, w, cache = additive_forward(rng.normal(size=(B, Q)), rng.normal(size=(B, S, K)), None, *p)
        >>> ctx.shape, w.sum(axis=1).round(12).tolist()
        ((2, 5), [1.0, 1.0])
    """
    given = key_proj is not None
    key_proj = key_proj if given else project_keys(keys, W_k)  # (B, S, A)
    e = np.tanh(key_proj + (q @ W_q.T + b)[:, None, :])  # (B, S, A)
    scores = e @ v  # (B, S)
    context, weights = _attend(scores, keys, mask)
    return context, weights, (q, keys, W_q, W_k, v, e, given, weights)


def project_keys(keys, W_k):
    """keys (B, S, K) -> keys W_k^T (B, S, A), as one 2-D GEMM."""
    B, S, K = keys.shape
    return (keys.reshape(B * S, K) @ W_k.T).reshape(B, S, W_k.shape[0])


def project_keys_backward(dkey_proj, keys, W_k):
    """Backward of :func:`project_keys`: returns ``dkeys (B, S, K), dW_k (A, K)``."""
    B, S, K = keys.shape
    d2 = dkey_proj.reshape(B * S, -1)  # (BS, A)
    return (d2 @ W_k).reshape(B, S, K), d2.T @ keys.reshape(B * S, K)


def additive_backward(dcontext, dweights, cache):
    """Backward of :func:`additive_forward`: returns ``dq (B, Q), dkeys (B, S, K), {W_q, W_k, b, v}``."""
    q, keys, W_q, W_k, v, e, given, weights = cache
    dscore, dkeys = _context_backward(dcontext, dweights, keys, weights)
    da = dscore[:, :, None] * v * (1 - e * e)  # (B, S, A)
    da_q = da.sum(axis=1)  # (B, A): q is shared by all positions
    grads = {"W_q": da_q.T @ q, "b": da_q.sum(axis=0), "v": np.einsum("bs,bsa->a", dscore, e)}
    if given:  # the caller follows it into W_k and keys
        grads["key_proj"] = da
    else:
        dk, grads["W_k"] = project_keys_backward(da, keys, W_k)
        dkeys = dkeys + dk
    return da_q @ W_q, dkeys, grads


# -- dot and general (Luong)
# ----------------------------------------------------------------------------------
def dot_forward(q, keys, mask):
    """Dot attention, ``score_s = k_s . q``: q (B, K), keys (B, S, K), mask (B, S) or None.

    Returns ``context (B, K), weights (B, S), cache``.

    Example:
        >>> keys = np.array([[[1.0, 0.0], [0.0, 1.0], [5.0, 5.0]]])
        >>> ctx, w, _ = dot_forward(np.array([[0.0, 0.0]]), keys, np.array([[True, True, False]]))
        >>> ctx, w
        (array([[0.5, 0.5]]), array([[0.5, 0.5, 0. ]]))
    """
    scores = np.einsum("bsk,bk->bs", keys, q)  # (B, S)
    context, weights = _attend(scores, keys, mask)
    return context, weights, (q, keys, weights)


def dot_backward(dcontext, dweights, cache):
    """Backward of :func:`dot_forward`: returns ``dq (B, K), dkeys (B, S, K), {}``."""
    q, keys, weights = cache
    dscore, dkeys = _context_backward(dcontext, dweights, keys, weights)
    dq = np.einsum("bs,bsk->bk", dscore, keys)
    return dq, dkeys + dscore[:, :, None] * q[:, None, :], {}


def general_forward(q, keys, mask, W):
    """General attention, ``score_s = k_s . (q W^T)``: q (B, Q), keys (B, S, K), W (K, Q).

    Returns ``context (B, K), weights (B, S), cache``.

    Example:
        >>> ctx, w, _ = general_forward(np.ones((1, 3)), np.ones((1, 2, 4)), None, np.zeros((4, 3)))
        >>> w
        array([[0.5, 0.5]])
    """
    u = q @ W.T  # (B, K)
    context, weights, (_, _, _) = dot_forward(u, keys, mask)
    return context, weights, (q, u, keys, W, weights)


def general_backward(dcontext, dweights, cache):
    """Backward of :func:`general_forward`: returns ``dq (B, Q), dkeys (B, S, K), {W}``."""
    q, u, keys, W, weights = cache
    du, dkeys, _ = dot_backward(dcontext, dweights, (u, keys, weights))
    return du @ W, dkeys, {"W": du.T @ q}


# -- the Modules
# ----------------------------------------------------------------------------------------------------
class _Attention(Module):
    """What the three kinds share: checks, the cache of the last call, ``__call__``/``backward``."""

    _forward = staticmethod(dot_forward)
    _backward = staticmethod(dot_backward)
    _param_names: tuple = ()

    def __init__(self, query_size, key_size, dtype):
        super().__init__()
        self.query_size, self.key_size = query_size, key_size
        self.dtype = check_float_dtype(dtype)
        self._cache = None

    def _check(self, query, keys, mask):
        name = type(self).__name__
        for arg, value, ndim in (("query", query, 2), ("keys", keys, 3)):
            if not isinstance(value, np.ndarray):
                raise TypeError(
                    f"{name}: {arg} must be a numpy.ndarray of {self.dtype}, got {type(value).__name__}"
                )
            if value.dtype != self.dtype:
                raise TypeError(f"{name}: {arg} must have dtype {self.dtype}, got {value.dtype}")
            if value.ndim != ndim:
                raise ValueError(f"{name}: {arg} must have {ndim} dimensions, got shape {value.shape}")
            require_finite(value, f"{name}: {arg}")
        B, S, K = keys.shape
        K_expected = self.key_size or K  # DotAttention() takes any one size
        Q_expected = self.query_size or K_expected
        if query.shape != (B, Q_expected) or K != K_expected or S == 0 or B == 0:
            raise ValueError(
                f"{name}: query must have shape (B, query_size) = ({B}, {Q_expected}) and keys "
                f"(B, S >= 1, key_size) = ({B}, S, {K_expected}), got {query.shape} and {keys.shape}"
            )
        if mask is None:
            return None
        mask = np.asarray(mask)
        if mask.dtype != bool or mask.shape != (B, S):
            raise ValueError(
                f"{name}: mask must be a boolean array of shape (B, S) = ({B}, {S}), got "
                f"{mask.dtype} {mask.shape}"
            )
        if not mask.any(axis=1).all():
            raise ValueError(
                f"{name}: mask must keep at least one position of every sequence, row "
                f"{int(np.flatnonzero(~mask.any(axis=1))[0])} has none"
            )
        return mask

    def _params(self):
        return [self._own_params[n] for n in self._param_names]

    def step(self, query, keys, mask=None, key_proj=None):
        """The functional forward without keeping a cache: ``context, weights, cache`` (for a decoder loop).

        ``key_proj``: what :meth:`project` returned for these keys (additive attention only), or None.
        """
        if key_proj is None:
            return type(self)._forward(query, keys, mask, *self._params())
        return type(self)._forward(query, keys, mask, *self._params(), key_proj=key_proj)

    def project(self, keys):
        """The part of the scores that does not depend on the query, computed once per source: None here;
        additive attention returns keys W_k^T (B, S, A), whose gradient ``step_backward`` returns as
        ``grads["key_proj"]`` for :meth:`project_backward`."""
        return None

    def project_backward(self, dkey_proj, keys):
        """Backward of :meth:`project`: ``dkeys (B, S, K), grads`` (empty here)."""
        return np.zeros_like(keys), {}

    def step_backward(self, dcontext, dweights, cache):
        """The functional backward of one :meth:`step`: ``dquery, dkeys, grads`` (grads not written
        anywhere)."""
        return type(self)._backward(dcontext, dweights, cache)

    def __call__(self, query, keys, mask=None):
        """query (B, Q), keys (B, S, K), mask (B, S) bool or None -> ``context (B, K), weights (B, S)``."""
        mask = self._check(query, keys, mask)
        context, weights, cache = self.step(query, keys, mask)
        self._cache, self._shape = cache, keys.shape
        return context, weights

    forward = __call__

    def backward(self, dcontext, dweights=None):
        """dcontext (B, K), dweights (B, S) or None -> ``dquery (B, Q), dkeys (B, S, K)``; fills ``grads``."""
        if self._cache is None:
            raise RuntimeError(
                f"{type(self).__name__}.backward called before a forward pass (or called twice)"
            )
        B, S, K = self._shape
        dcontext = check_output_grad(dcontext, (B, K), self.dtype, "dcontext")
        if dweights is not None:
            dweights = check_output_grad(dweights, (B, S), self.dtype, "dweights")
        dq, dkeys, grads = self.step_backward(dcontext, dweights, self._cache)
        self._cache = None
        for k, g in grads.items():
            self._own_grads[k][...] = g
        return dq, dkeys

    def _init(self, shapes, fan_in, seed):
        rng = np.random.default_rng(seed)
        for (name, shape), fan in zip(shapes, fan_in):
            bound = 1.0 / np.sqrt(fan)
            self._own_params[name] = rng.uniform(-bound, bound, shape).astype(self.dtype)
            self._own_grads[name] = np.zeros(shape, dtype=self.dtype)


class AdditiveAttention(_Attention):
    """Bahdanau's additive attention: ``score_s = v . tanh(W_q q + W_k k_s + b)``; params ``W_q, W_k, b, v``.

    Every parameter starts U(-1/sqrt(fan_in), 1/sqrt(fan_in)) (fan_in Q, K, A, A).

    Example:
        >>> attn = AdditiveAttention(3, 5, 8, seed=0)
        >>> attn
        AdditiveAttention(query_size=3, key_size=5, attn_size=8)
        >>> rng = np.random.default_rng(0)
        >>> mask = np.array([[1, 1, 1, 0], [1, 1, 1, 1]]) > 0       # the first source has 3 positions
        >>> ctx, w = attn(rng.normal(size=(2, 3)), rng.normal(size=(2, 4, 5)), mask)
        >>> float(w[0, 3]), ctx.shape
        (0.0, (2, 5))
        >>> dq, dk = attn.backward(np.ones((2, 5))); attn.grads["W_k"].shape
        (8, 5)
    """

    _forward = staticmethod(additive_forward)
    _backward = staticmethod(additive_backward)
    _param_names = ("W_q", "W_k", "b", "v")

    def __init__(self, query_size, key_size, attn_size, *, dtype=np.float64, seed=None):
        super().__init__(check_size(query_size, "query_size"), check_size(key_size, "key_size"), dtype)
        self.attn_size = A = check_size(attn_size, "attn_size")
        self._init(
            [("W_q", (A, query_size)), ("W_k", (A, key_size)), ("b", (A,)), ("v", (A,))],
            [query_size, key_size, A, A],
            seed,
        )

    def project(self, keys):
        """keys (B, S, K) -> keys W_k^T (B, S, A), once per source (see :meth:`_Attention.project`)."""
        return project_keys(keys, self._own_params["W_k"])

    def project_backward(self, dkey_proj, keys):
        """dkey_proj (B, S, A) summed over the steps -> ``dkeys (B, S, K), {"W_k": (A, K)}``."""
        dkeys, dW_k = project_keys_backward(dkey_proj, keys, self._own_params["W_k"])
        return dkeys, {"W_k": dW_k}

    def __repr__(self):
        return (f"AdditiveAttention(query_size={self.query_size}, key_size={self.key_size}, "
                f"attn_size={self.attn_size})")


class DotAttention(_Attention):
    """Luong's dot attention: ``score_s = k_s . q``, no parameters; the query and keys have one size.

    Example:
        >>> attn = DotAttention()
        >>> ctx, w = attn(np.zeros((1, 2)), np.ones((1, 3, 2)))
        >>> w.round(3).tolist(), attn.params
        ([[0.333, 0.333, 0.333]], {})
    """

    def __init__(self, size=None, *, dtype=np.float64):
        size = None if size is None else check_size(size, "size")
        super().__init__(size, size, dtype)

    def __repr__(self):
        return "DotAttention()" if self.key_size is None else f"DotAttention({self.key_size})"


class GeneralAttention(_Attention):
    """Luong's general attention: ``score_s = k_s . (W q)``, W (key_size, query_size), U(-1/sqrt(Q),
    1/sqrt(Q)).

    Example:
        >>> attn = GeneralAttention(3, 4, seed=0)
        >>> ctx, w = attn(np.ones((2, 3)), np.ones((2, 5, 4)))
        >>> ctx.shape, attn.backward(np.ones((2, 4)))[0].shape
        ((2, 4), (2, 3))
    """

    _forward = staticmethod(general_forward)
    _backward = staticmethod(general_backward)
    _param_names = ("W",)

    def __init__(self, query_size, key_size, *, dtype=np.float64, seed=None):
        super().__init__(check_size(query_size, "query_size"), check_size(key_size, "key_size"), dtype)
        self._init([("W", (key_size, query_size))], [query_size], seed)

    def __repr__(self):
        return f"GeneralAttention(query_size={self.query_size}, key_size={self.key_size})"


#: The attention kinds by name, as ``minirnn.models.Seq2Seq(attention=...)`` takes them.
ATTENTIONS = {"additive": AdditiveAttention, "dot": DotAttention, "general": GeneralAttention}
