"""The policies and the policy-gradient loss: backward against finite differences (gradcheck) and torch autograd."""
import numpy as np
import pytest
import torch

import gradcheck
from minirnn.nn.losses import mse
from minirnn.training.rl.policy import MemorylessPolicy, RecurrentPolicy, policy_gradient_loss, set_forget_bias
from torch_reference import torch_twin

T, B, O, H, A = 6, 4, 3, 5, 3
LENGTHS = np.array([6, 2, 4, 1])
BETA, C_V = 0.05, 0.5


def _batch(seed=0):
    """A padded batch: observations (zero on padding), actions, advantages, returns, mask."""
    rng = np.random.default_rng(seed)
    mask = (np.arange(T)[:, None] < LENGTHS[None, :]).astype(float)
    obs = rng.normal(size=(T, B, O)) * mask[..., None]
    actions = rng.integers(A, size=(T, B)) * mask.astype(int)
    return obs, actions, rng.normal(size=(T, B)), rng.normal(size=(T, B)), mask


def test_policy_gradient_loss_backward_matches_finite_differences():
    rng = np.random.default_rng(1)
    _, actions, adv, _, mask = _batch()
    params = {"logits": rng.normal(size=(T, B, A)) * 2}
    _, dlogits, _ = policy_gradient_loss(params["logits"], actions, adv, mask, BETA)
    report = gradcheck.check_gradients(lambda p: policy_gradient_loss(p["logits"], actions, adv, mask, BETA)[0],
                                       params, {"logits": dlogits})
    assert report.passed, report
    assert report.rows[0].max_rel_error < 1e-6
    assert np.all(dlogits[mask == 0] == 0)                          # padded steps get no gradient


def test_policy_gradient_loss_matches_torch_autograd():
    rng = np.random.default_rng(2)
    _, actions, adv, _, mask = _batch()
    logits = rng.normal(size=(T, B, A)) * 3
    loss, dlogits, entropy = policy_gradient_loss(logits, actions, adv, mask, BETA)
    z = torch.tensor(logits, requires_grad=True)
    logp = torch.log_softmax(z, dim=-1)
    H_t = -(logp.exp() * logp).sum(-1)
    m, a = torch.tensor(mask), torch.tensor(actions)
    ref = -(m * torch.tensor(adv) * logp.gather(-1, a[..., None])[..., 0]).sum() / B - BETA * (m * H_t).sum() / B
    ref.backward()
    assert abs(loss - ref.item()) < 1e-12
    np.testing.assert_allclose(dlogits, z.grad.numpy(), rtol=1e-12, atol=1e-15)
    assert abs(entropy - ((m * H_t).sum() / m.sum()).item()) < 1e-12


def _surrogate(policy, obs, actions, adv, G, mask):
    """L = policy-gradient loss (advantages held fixed) + C_V * masked MSE of the values; and its backward."""
    logits, values = policy(obs, LENGTHS)
    loss_pi, dlogits, _ = policy_gradient_loss(logits, actions, adv, mask, BETA)
    loss_v, dvalues = mse(values, G, mask)
    return loss_pi + C_V * loss_v, dlogits, C_V * dvalues


def _policies():
    return {"rnn": RecurrentPolicy("rnn", O, H, A, seed=3), "gru": RecurrentPolicy("gru", O, H, A, seed=3),
            "lstm": RecurrentPolicy("lstm", O, H, A, forget_bias=1.0, seed=3),
            "none": MemorylessPolicy(O, H, A, seed=3)}


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "none"])
def test_policy_backward_matches_finite_differences_for_every_parameter(cell):
    policy = _policies()[cell]
    obs, actions, adv, G, mask = _batch()
    _, dlogits, dvalues = _surrogate(policy, obs, actions, adv, G, mask)
    policy.backward(dlogits, dvalues)
    grads = {k: v.copy() for k, v in policy.grads.items()}
    report = gradcheck.check_gradients(lambda p: _surrogate(policy, obs, actions, adv, G, mask)[0], policy.params,
                                       grads)
    assert report.passed, report
    assert len(report.rows) == len(policy.params) and max(r.norm_rel_error for r in report.rows) < 1e-7


@pytest.mark.parametrize("cell", ["gru", "lstm"])
def test_recurrent_policy_gradients_match_torch_autograd_on_packed_episodes(cell):
    policy = _policies()[cell]
    obs, actions, adv, G, mask = _batch()
    loss, dlogits, dvalues = _surrogate(policy, obs, actions, adv, G, mask)
    policy.backward(dlogits, dvalues)
    rnn = torch_twin(policy._modules["rnn"])
    heads = {k: torch.tensor(v, requires_grad=True) for k, v in policy.params.items() if not k.startswith("rnn.")}
    packed = torch.nn.utils.rnn.pack_padded_sequence(torch.tensor(obs), torch.tensor(LENGTHS), enforce_sorted=False)
    out, _ = rnn(packed)
    h, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=T)          # (T, B, H), zero on padding
    logp = torch.log_softmax(h @ heads["pi.weight"].T + heads["pi.bias"], dim=-1)
    values = (h @ heads["v.weight"].T + heads["v.bias"])[..., 0]
    m = torch.tensor(mask)
    entropy = -(logp.exp() * logp).sum(-1)
    logp_a = logp.gather(-1, torch.tensor(actions)[..., None])[..., 0]
    ref = (-(m * torch.tensor(adv) * logp_a).sum() / B - BETA * (m * entropy).sum() / B
           + C_V * (m * (values - torch.tensor(G)) ** 2).sum() / m.sum())
    ref.backward()
    assert abs(loss - ref.item()) < 1e-12
    torch_grads = {**{f"rnn.{k}": p.grad.numpy() for k, p in rnn.named_parameters()},
                   **{k: t.grad.numpy() for k, t in heads.items()}}
    assert sorted(torch_grads) == sorted(policy.grads)
    for name, g in policy.grads.items():
        np.testing.assert_allclose(g, torch_grads[name], rtol=1e-9, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", ["rnn", "gru", "lstm", "none"])
def test_acting_step_by_step_with_the_carried_state_gives_the_logits_of_the_whole_batch(cell):
    policy = _policies()[cell]
    obs, *_, mask = _batch()
    state, stepped = None, []
    for t in range(T):
        logits, state = policy.act(obs[t], state)
        stepped.append(logits)
    full, _ = policy(obs, LENGTHS)
    real = mask == 1
    np.testing.assert_allclose(np.stack(stepped)[real], full[real], rtol=1e-12, atol=1e-14)


def test_memoryless_policy_reads_only_the_current_observation_and_recurrent_policy_remembers():
    obs, *_ = _batch()
    changed = obs.copy()
    changed[0] += 1.0                                               # change only the first observation
    for cell, policy in _policies().items():
        before, _ = policy(obs)
        after, _ = policy(changed)
        later = np.abs(after[1:] - before[1:]).max()
        assert (later == 0) if cell == "none" else (later > 1e-3), (cell, later)


def test_forget_bias_sets_only_the_forget_block_of_bias_ih():
    policy = RecurrentPolicy("lstm", O, H, A, seed=0)
    reference = {k: v.copy() for k, v in policy.params.items()}
    set_forget_bias(policy._modules["rnn"], 1.0)
    b = policy.params["rnn.bias_ih_l0"]
    assert np.all(b[H:2 * H] == 1.0)
    np.testing.assert_array_equal(np.r_[b[:H], b[2 * H:]], np.r_[reference["rnn.bias_ih_l0"][:H],
                                                                  reference["rnn.bias_ih_l0"][2 * H:]])
    assert all(np.array_equal(policy.params[k], reference[k]) for k in reference if k != "rnn.bias_ih_l0")
    with pytest.raises(ValueError, match="forget_bias is for the LSTM, got cell 'gru'"):
        RecurrentPolicy("gru", O, H, A, forget_bias=1.0)
    with pytest.raises(ValueError, match="cell must be one of"):
        RecurrentPolicy("cnn", O, H, A)


def test_policy_gradient_loss_refuses_bad_shapes_and_actions():
    z = np.zeros((2, 3, 4))
    good = np.zeros((2, 3))
    with pytest.raises(ValueError, match=r"advantages must have shape \(T, B\) = \(2, 3\) .* got \(3, 2\)"):
        policy_gradient_loss(z, good.astype(int), np.zeros((3, 2)), good)
    with pytest.raises(ValueError, match=r"actions must be integers in \[0, 4\)"):
        policy_gradient_loss(z, good.astype(int) + 4, good, good)
    with pytest.raises(ValueError, match=r"actions must be integers in \[0, 4\), got float64"):
        policy_gradient_loss(z, good, good, good)
