"""Losses against torch autograd; optimizers and clipping against torch.optim step for step."""
import numpy as np
import pytest
import torch

from minirnn.nn.losses import mse, softmax_cross_entropy
from minirnn.nn import Linear, Module
from minirnn.nn.optim import SGD, Adagrad, Adam, clip_grad_norm, clip_grad_value

F = torch.nn.functional
TOL = 1e-10


# -- softmax cross-entropy ----------------------------------------------------------------------------------------------
def test_cross_entropy_matches_torch_on_n_by_c():
    rng = np.random.default_rng(0)
    logits = 3 * rng.standard_normal((9, 6))
    targets = rng.integers(0, 6, 9)
    loss, d = softmax_cross_entropy(logits, targets)
    zt = torch.tensor(logits, requires_grad=True)
    ref = F.cross_entropy(zt, torch.from_numpy(targets))
    ref.backward()
    assert abs(loss - ref.item()) < TOL
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=0, atol=TOL)


def test_masked_cross_entropy_over_time_matches_torch_and_zeroes_padding():
    rng = np.random.default_rng(1)
    T, B, C = 7, 4, 5
    logits = 2 * rng.standard_normal((T, B, C))
    targets = rng.integers(0, C, (T, B))
    lengths = np.array([7, 3, 5, 1])
    mask = np.arange(T)[:, None] < lengths[None, :]          # (T, B) bool
    loss, d = softmax_cross_entropy(logits, targets, mask)

    zt = torch.tensor(logits, requires_grad=True)
    per = F.cross_entropy(zt.reshape(-1, C), torch.from_numpy(targets).reshape(-1), reduction="none").reshape(T, B)
    mt = torch.from_numpy(mask.astype(np.float64))
    ref = (per * mt).sum() / mt.sum()
    ref.backward()
    assert abs(loss - ref.item()) < TOL
    np.testing.assert_allclose(d, zt.grad.numpy(), rtol=0, atol=TOL)
    assert np.all(d[~mask] == 0)
    # 0/1 integer mask means the same as the bool mask
    loss2, d2 = softmax_cross_entropy(logits, targets, mask.astype(np.int64))
    assert loss2 == loss and np.array_equal(d2, d)


def test_cross_entropy_is_stable_for_huge_logits():
    logits = np.array([[1000.0, 0.0, -1000.0], [5e4, 5e4, 0.0]])
    loss, d = softmax_cross_entropy(logits, np.array([1, 0]))
    # row 0: -log p(1) = 1000 + log(1 + e^-1000 + ...) = 1000; row 1: log 2
    assert abs(loss - (1000 + np.log(2)) / 2) < 1e-9
    assert np.all(np.isfinite(d))
    # shifting every logit of a row by a constant changes nothing
    z = np.random.default_rng(2).standard_normal((3, 4))
    t = np.array([0, 3, 2])
    a, da = softmax_cross_entropy(z, t)
    b, db = softmax_cross_entropy(z + 700.0, t)
    assert abs(a - b) < 1e-12 and np.allclose(da, db, atol=1e-14)


def test_cross_entropy_float32_gives_float32_gradient():
    loss, d = softmax_cross_entropy(np.zeros((2, 4), np.float32), np.array([0, 1]))
    assert d.dtype == np.float32 and abs(loss - np.log(4)) < 1e-6


@pytest.mark.parametrize("logits, targets, mask, error, words", [
    (np.zeros((3, 4)), np.array([0, 1]), None, ValueError, ["targets", "(3,)", "(2,)"]),
    (np.zeros((3, 4)), np.array([0, 1, 4]), None, ValueError, ["[0, 4)", "got 4"]),
    (np.zeros((3, 4)), np.array([0, -1, 2]), None, ValueError, ["got -1"]),
    (np.zeros((3, 4)), np.array([0.0, 1.0, 2.0]), None, TypeError, ["targets", "float64"]),
    (np.zeros((3, 4), np.int64), np.array([0, 1, 2]), None, TypeError, ["logits", "int64"]),
    (np.zeros(4), np.array(0), None, ValueError, ["logits", "(4,)"]),
    (np.zeros((2, 3, 4)), np.zeros((2, 3), int), np.ones((3, 2)), ValueError, ["mask", "(2, 3)", "(3, 2)"]),
    (np.zeros((2, 3, 4)), np.zeros((2, 3), int), np.zeros((2, 3)), ValueError, ["mask", "all zeros"]),
    (np.zeros((2, 3, 4)), np.zeros((2, 3), int), np.full((2, 3), 0.5), ValueError, ["mask", "0 and 1"]),
])
def test_cross_entropy_rejects_bad_input(logits, targets, mask, error, words):
    with pytest.raises(error) as info:
        softmax_cross_entropy(logits, targets, mask)
    for w in words:
        assert w in str(info.value)


# -- mse ----------------------------------------------------------------------------------------------------------------
def test_mse_matches_torch():
    rng = np.random.default_rng(3)
    p, y = rng.standard_normal((5, 4, 3)), rng.standard_normal((5, 4, 3))
    loss, d = mse(p, y)
    pt = torch.tensor(p, requires_grad=True)
    ref = F.mse_loss(pt, torch.from_numpy(y))
    ref.backward()
    assert abs(loss - ref.item()) < TOL
    np.testing.assert_allclose(d, pt.grad.numpy(), rtol=0, atol=TOL)


def test_masked_mse_averages_over_kept_scalars_like_torch():
    rng = np.random.default_rng(4)
    p, y = rng.standard_normal((6, 3, 2)), rng.standard_normal((6, 3, 2))
    mask = np.ones((6, 3), bool)
    mask[4:, 1] = False
    mask[2:, 2] = False
    loss, d = mse(p, y, mask)
    pt = torch.tensor(p, requires_grad=True)
    ref = F.mse_loss(pt[torch.from_numpy(mask)], torch.from_numpy(y[mask]))   # only the kept steps
    ref.backward()
    assert abs(loss - ref.item()) < TOL
    np.testing.assert_allclose(d, pt.grad.numpy(), rtol=0, atol=TOL)
    assert np.all(d[~mask] == 0)


def test_mse_rejects_bad_input():
    with pytest.raises(ValueError, match=r"\(2, 3\).*\(3, 2\)"):
        mse(np.zeros((2, 3)), np.zeros((3, 2)))
    with pytest.raises(TypeError, match="pred.*int64"):
        mse(np.zeros((2, 3), int), np.zeros((2, 3)))
    with pytest.raises(ValueError, match="mask"):
        mse(np.zeros((2, 3)), np.zeros((2, 3)), np.ones(3))


# -- optimizers -------------------------------------------------------------------------------------------------------
class Toy(Module):
    """Three parameters of different shapes, as a model would have."""

    def __init__(self, seed=0):
        super().__init__()
        rng = np.random.default_rng(seed)
        for name, shape in (("weight_ih_l0", (4, 3)), ("bias_ih_l0", (4,)), ("fc.weight", (2, 4))):
            self._own_params[name] = rng.standard_normal(shape)
            self._own_grads[name] = np.zeros(shape)


def _grad(p, target, noise):
    """A gradient that depends on where the parameter is: 2 (p - target) + noise."""
    return 2 * (p - target) + noise


def _run(make_ours, make_torch, steps=10, seed=0):
    model = Toy()
    tparams = {k: torch.tensor(v.copy(), requires_grad=True) for k, v in model.params.items()}
    ours = make_ours(model)
    theirs = make_torch(list(tparams.values()))
    rng = np.random.default_rng(seed)
    targets = {k: rng.standard_normal(v.shape) for k, v in model.params.items()}
    for _ in range(steps):
        for k, p in model.params.items():
            g = _grad(p, targets[k], 0.3 * rng.standard_normal(p.shape))
            model.grads[k][...] = g
            tparams[k].grad = torch.from_numpy(g.copy())
        ours.step()
        theirs.step()
        for k, p in model.params.items():
            np.testing.assert_allclose(p, tparams[k].detach().numpy(), rtol=0, atol=1e-12)
    return model, ours


CONFIGS = {
    "sgd": (lambda m: SGD(m, lr=0.1), lambda ps: torch.optim.SGD(ps, lr=0.1)),
    "sgd_momentum": (lambda m: SGD(m, lr=0.05, momentum=0.9),
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9)),
    "sgd_momentum_wd_dampening": (lambda m: SGD(m, lr=0.05, momentum=0.8, weight_decay=0.01, dampening=0.1),
                                  lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.8, weight_decay=0.01,
                                                             dampening=0.1)),
    "sgd_nesterov": (lambda m: SGD(m, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3),
                     lambda ps: torch.optim.SGD(ps, lr=0.05, momentum=0.9, nesterov=True, weight_decay=1e-3)),
    "adagrad": (lambda m: Adagrad(m, lr=0.1), lambda ps: torch.optim.Adagrad(ps, lr=0.1)),
    "adagrad_eps": (lambda m: Adagrad(m, lr=0.5, eps=1e-3), lambda ps: torch.optim.Adagrad(ps, lr=0.5, eps=1e-3)),
    "adam": (lambda m: Adam(m), lambda ps: torch.optim.Adam(ps)),
    "adam_custom": (lambda m: Adam(m, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01),
                    lambda ps: torch.optim.Adam(ps, lr=0.05, betas=(0.8, 0.99), eps=1e-6, weight_decay=0.01)),
}


@pytest.mark.parametrize("config", sorted(CONFIGS))
def test_optimizer_matches_torch_step_for_step(config):
    model, _ = _run(*CONFIGS[config], steps=10)
    assert not np.allclose(model.params["fc.weight"], Toy().params["fc.weight"])   # it did move


@pytest.mark.parametrize("config", ["sgd_nesterov", "adagrad", "adam_custom"])
def test_optimizer_state_survives_an_npz_round_trip(config, tmp_path):
    make_ours, _ = CONFIGS[config]
    rng = np.random.default_rng(5)
    grads = [{k: rng.standard_normal(v.shape) for k, v in Toy().params.items()} for _ in range(8)]

    def run(model, opt, gs):
        for g in gs:
            for k in g:
                model.grads[k][...] = g[k]
            opt.step()

    straight = Toy()
    opt = make_ours(straight)
    run(straight, opt, grads)

    first = Toy()
    opt1 = make_ours(first)
    run(first, opt1, grads[:4])
    np.savez(tmp_path / "ckpt.npz", **opt1.state_dict())
    second = Toy()
    second.load_state_dict(first.state_dict())
    opt2 = make_ours(second)
    opt2.lr = 123.0                                           # restored from the checkpoint below
    with np.load(tmp_path / "ckpt.npz") as f:
        opt2.load_state_dict(dict(f))
    assert opt2.lr == opt1.lr and opt2.step_count == 4
    run(second, opt2, grads[4:])
    for k in straight.params:
        np.testing.assert_array_equal(second.params[k], straight.params[k])


def test_load_state_dict_rejects_wrong_kind_and_shape():
    m = Toy()
    state = Adam(m).state_dict()
    with pytest.raises(ValueError, match="'SGD'.*'Adam'"):
        SGD(m, lr=0.1).load_state_dict(state)
    a = Adam(m)
    a.step()
    state = a.state_dict()
    state["exp_avg:fc.weight"] = np.zeros((3, 3))
    with pytest.raises(ValueError, match=r"exp_avg:fc.weight.*\(2, 4\).*\(3, 3\)"):
        Adam(m).load_state_dict(state)
    state = a.state_dict()
    state["exp_avg:nope"] = np.zeros(2)
    with pytest.raises(ValueError, match="nope"):
        Adam(m).load_state_dict(state)


def test_optimizer_updates_in_place_and_zero_grad():
    lin = Linear(3, 2, seed=0)
    w = lin.params["weight"]
    before = w.copy()
    opt = SGD(lin, lr=0.5)
    lin(np.ones((1, 3)))
    lin.backward(np.ones((1, 2)))
    opt.step()
    assert lin.params["weight"] is w
    np.testing.assert_allclose(w, before - 0.5, rtol=0, atol=1e-15)   # dW = ones(2, 3)
    opt.zero_grad()
    assert all(np.all(g == 0) for g in lin.grads.values())


@pytest.mark.parametrize("make, words", [
    (lambda m: SGD(m, lr=-1), ["lr", "-1"]),
    (lambda m: SGD(m, lr=0.1, nesterov=True), ["nesterov", "momentum"]),
    (lambda m: Adam(m, betas=(0.9, 1.0)), ["betas"]),
    (lambda m: Adagrad(m, eps=float("nan")), ["eps"]),
    (lambda m: Adam(object()), ["params", "object"]),
])
def test_optimizers_reject_bad_arguments(make, words):
    with pytest.raises((ValueError, TypeError)) as info:
        make(Toy())
    for w in words:
        assert w in str(info.value)


# -- clipping -----------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("max_norm", [0.5, 3.0, 1e3])
def test_clip_grad_norm_matches_torch(max_norm):
    rng = np.random.default_rng(6)
    model = Toy()
    for g in model.grads.values():
        g[...] = rng.standard_normal(g.shape)
    tgrads = [torch.nn.Parameter(torch.zeros(g.shape, dtype=torch.float64)) for g in model.grads.values()]
    for t, g in zip(tgrads, model.grads.values()):
        t.grad = torch.from_numpy(g.copy())
    expected_norm = np.sqrt(sum((g ** 2).sum() for g in model.grads.values()))
    total = clip_grad_norm(model, max_norm)
    ref = torch.nn.utils.clip_grad_norm_(tgrads, max_norm)
    assert abs(total - ref.item()) < 1e-12 and abs(total - expected_norm) < 1e-12
    for t, g in zip(tgrads, model.grads.values()):
        np.testing.assert_allclose(g, t.grad.numpy(), rtol=0, atol=1e-14)
    after = np.sqrt(sum((g ** 2).sum() for g in model.grads.values()))
    assert after <= max_norm + 1e-9 if max_norm < expected_norm else after == expected_norm


def test_clip_grad_value_matches_torch_and_accepts_a_dict():
    rng = np.random.default_rng(7)
    g = {"a": 3 * rng.standard_normal((4, 5)), "b": 3 * rng.standard_normal(7)}
    ts = [torch.nn.Parameter(torch.zeros(v.shape, dtype=torch.float64)) for v in g.values()]
    for t, v in zip(ts, g.values()):
        t.grad = torch.from_numpy(v.copy())
    clip_grad_value(g, 1.5)
    torch.nn.utils.clip_grad_value_(ts, 1.5)
    for t, v in zip(ts, g.values()):
        np.testing.assert_array_equal(v, t.grad.numpy())
    assert np.abs(g["a"]).max() == 1.5


def test_clipping_rejects_bad_thresholds():
    with pytest.raises(ValueError, match="max_norm.*0"):
        clip_grad_norm({"a": np.ones(2)}, 0)
    with pytest.raises(ValueError, match="clip_value.*-1"):
        clip_grad_value({"a": np.ones(2)}, -1)
    with pytest.raises(TypeError, match="str"):
        clip_grad_norm({"a": "x"}, 1.0)
