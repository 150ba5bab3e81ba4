"""Attention layers: finite differences for every tensor (with and without a padding mask), parity with a PyTorch
autograd re-implementation of the same equations (float64, 1e-10), exact zeros at padding, and bad input."""
import numpy as np
import pytest
import torch

import gradcheck
from minirnn.nn import AdditiveAttention, DotAttention, GeneralAttention

B, S, Q, K, A = 3, 5, 4, 6, 7
MASK = np.array([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]], dtype=bool)


def make(kind):
    if kind == "additive":
        return AdditiveAttention(Q, K, A, seed=0), Q
    if kind == "general":
        return GeneralAttention(Q, K, seed=0), Q
    return DotAttention(), K


def problem(kind, seed=1):
    attn, q_size = make(kind)
    rng = np.random.default_rng(seed)
    q, keys = rng.normal(size=(B, q_size)), rng.normal(size=(B, S, K))
    G, Gw = rng.normal(size=(B, K)), rng.normal(size=(B, S))      # loss = sum(context G) + sum(weights Gw)
    return attn, q, keys, G, Gw


def torch_reference(kind, attn, q, keys, mask, G, Gw):
    """The module docstring's equations in torch, differentiated by autograd."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in attn.params.items()}
    qt, kt = torch.tensor(q, requires_grad=True), torch.tensor(keys, requires_grad=True)
    if kind == "additive":
        e = torch.tanh((qt @ p["W_q"].T)[:, None, :] + kt @ p["W_k"].T + p["b"])
        scores = e @ p["v"]
    elif kind == "general":
        scores = torch.einsum("bsk,bk->bs", kt, qt @ p["W"].T)
    else:
        scores = torch.einsum("bsk,bk->bs", kt, qt)
    if mask is not None:
        scores = scores.masked_fill(~torch.tensor(mask), float("-inf"))
    w = torch.softmax(scores, dim=1)
    context = torch.einsum("bs,bsk->bk", w, kt)
    ((context * torch.tensor(G)).sum() + (w * torch.tensor(Gw)).sum()).backward()
    grads = {k: v.grad.numpy() for k, v in p.items()}
    return context.detach().numpy(), w.detach().numpy(), qt.grad.numpy(), kt.grad.numpy(), grads


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_matches_torch_autograd(kind, masked):
    attn, q, keys, G, Gw = problem(kind)
    mask = MASK if masked else None
    context, weights = attn(q, keys, mask)
    dq, dkeys = attn.backward(G, Gw)
    ref = torch_reference(kind, attn, q, keys, mask, G, Gw)
    for name, ours, theirs in zip(["context", "weights", "dquery", "dkeys"], [context, weights, dq, dkeys], ref):
        np.testing.assert_allclose(ours, theirs, rtol=0, atol=1e-10, err_msg=name)
    assert attn.grads.keys() == ref[4].keys()
    for name, g in ref[4].items():
        np.testing.assert_allclose(attn.grads[name], g, rtol=0, atol=1e-10, err_msg=name)


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
@pytest.mark.parametrize("masked", [False, True])
def test_attention_backward_matches_finite_differences_for_every_tensor(kind, masked):
    attn, q, keys, G, Gw = problem(kind, seed=2)
    mask = MASK if masked else None
    tensors = dict(attn.params, query=q, keys=keys)           # the parameters are perturbed in place

    def loss(p):
        context, weights, _ = attn.step(p["query"], p["keys"], mask)
        return float(np.sum(context * G) + np.sum(weights * Gw))

    attn(q, keys, mask)
    dq, dkeys = attn.backward(G, Gw)
    report = gradcheck.check_gradients(loss, tensors, dict(attn.grads, query=dq, keys=dkeys))
    assert report.passed, str(report)
    assert {r.name for r in report.rows} == set(tensors)


@pytest.mark.parametrize("kind", ["additive", "dot", "general"])
def test_padded_positions_get_weight_exactly_zero_and_no_gradient(kind):
    attn, q, keys, G, Gw = problem(kind)
    keys[~MASK] = 1e3                                          # huge padded keys must not matter
    context, weights = attn(q, keys, MASK)
    assert np.all(weights[~MASK] == 0.0)
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, rtol=0, atol=1e-14)
    _, dkeys = attn.backward(G, Gw)
    assert np.all(dkeys[~MASK] == 0.0)
    short = make(kind)[0]
    short.load_state_dict(attn.state_dict())
    ctx1, w1 = short(q[2:3], keys[2:3, :1])                    # row 2 has one real position: the same context
    np.testing.assert_allclose(context[2:3], ctx1, rtol=0, atol=1e-14)


def test_dot_attention_with_equal_scores_averages_the_keys():
    keys = np.arange(12.0).reshape(1, 4, 3)
    context, weights = DotAttention()(np.zeros((1, 3)), keys)
    np.testing.assert_allclose(weights, 0.25)
    np.testing.assert_allclose(context, keys.mean(axis=1))


@pytest.mark.parametrize("call, message", [
    (lambda a: a(np.zeros((2, 3)), np.zeros((2, 5, 6))), "query must have shape"),
    (lambda a: a(np.zeros((2, 4)), np.zeros((2, 5))), "keys must have 3 dimensions"),
    (lambda a: a(np.zeros((2, 4), dtype=np.float32), np.zeros((2, 5, 6))), "query must have dtype float64"),
    (lambda a: a(np.zeros((2, 4)), np.zeros((2, 5, 6)), np.ones((2, 5))), "mask must be a boolean array"),
    (lambda a: a(np.zeros((2, 4)), np.zeros((2, 5, 6)), np.zeros((2, 5), dtype=bool)), "at least one position"),
    (lambda a: a(np.full((2, 4), np.nan), np.zeros((2, 5, 6))), "contains NaN"),
    (lambda a: a.backward(np.zeros((2, 6))), "before a forward pass"),
])
def test_bad_input_is_refused_with_a_sentence(call, message):
    with pytest.raises((ValueError, TypeError, RuntimeError), match=message):
        call(AdditiveAttention(4, 6, 3, seed=0))


def test_a_second_backward_for_one_forward_is_refused():
    attn, q, keys, G, _ = problem("additive")
    attn(q, keys)
    attn.backward(G)
    with pytest.raises(RuntimeError, match="called twice"):
        attn.backward(G)
