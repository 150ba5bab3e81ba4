"""CharLM and Forecaster against the same models in PyTorch (same weights), and CharLM.sample."""
import numpy as np
import pytest
import torch

from minirnn.models import Forecaster
from minirnn.models import CharLM
from minirnn.nn.losses import mse, softmax_cross_entropy

from torch_reference import torch_twin


def _torch_lm(lm):
    emb = torch.nn.Embedding(lm.vocab_size, lm.embed_dim).double()
    fc = torch.nn.Linear(lm.rnn.hidden_size, lm.vocab_size).double()
    emb.weight.data = torch.tensor(lm.embed.weight)
    fc.weight.data, fc.bias.data = torch.tensor(lm.fc.weight), torch.tensor(lm.fc.bias)
    return emb, torch_twin(lm.rnn), fc


def _torch_grads(emb, rnn, fc):
    out = {"embed.weight": emb.weight.grad.numpy(), "fc.weight": fc.weight.grad.numpy(),
           "fc.bias": fc.bias.grad.numpy()}
    out.update({f"rnn.{k}": p.grad.numpy() for k, p in rnn.named_parameters()})
    return out


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_charlm_with_truncated_bptt_matches_torch_with_detach(cell):
    """Two chunks, the state carried from the first into the second with the gradient cut (torch: .detach())."""
    lm = CharLM(7, 5, cell=cell, num_layers=2, embed_dim=4, seed=0)
    emb, rnn, fc = _torch_lm(lm)
    rng = np.random.default_rng(0)
    stream = rng.integers(0, 7, size=(13, 3))
    chunks = [(stream[0:6], stream[1:7]), (stream[6:12], stream[7:13])]
    state, tstate = None, None
    for x, y in chunks:
        logits, state = lm(x, state)
        loss, d = softmax_cross_entropy(logits, y)
        lm.backward(d)
        for p in (*emb.parameters(), *rnn.parameters(), *fc.parameters()):
            p.grad = None
        out, tstate = rnn(emb(torch.tensor(x)), tstate)
        tlogits = fc(out)
        tloss = torch.nn.functional.cross_entropy(tlogits.reshape(-1, 7), torch.tensor(y).reshape(-1))
        tloss.backward()
        tstate = tuple(s.detach() for s in tstate) if isinstance(tstate, tuple) else tstate.detach()
        assert loss == pytest.approx(tloss.item(), abs=1e-12)
        np.testing.assert_allclose(logits, tlogits.detach().numpy(), atol=1e-12)
        for name, g in _torch_grads(emb, rnn, fc).items():      # the second chunk's gradient stops at its start
            np.testing.assert_allclose(lm.grads[name], g, atol=1e-12, err_msg=name)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_forecaster_matches_torch(cell):
    f = Forecaster(cell, 2, 6, output_size=3, horizon=2, seed=1)
    x = np.random.default_rng(1).normal(size=(9, 4, 2))
    target = np.random.default_rng(2).normal(size=(2, 4, 3))
    y = f(x)
    loss, d = mse(y, target)
    dx = f.backward(d)
    rnn = torch_twin(f.rnn)
    fc = torch.nn.Linear(6, 6).double()
    fc.weight.data, fc.bias.data = torch.tensor(f.fc.weight), torch.tensor(f.fc.bias)
    xt = torch.tensor(x, requires_grad=True)
    out, _ = rnn(xt)
    yt = fc(out[-1]).reshape(4, 2, 3).transpose(0, 1)           # (horizon, B, O)
    tloss = torch.nn.functional.mse_loss(yt, torch.tensor(target))
    tloss.backward()
    assert loss == pytest.approx(tloss.item(), abs=1e-12)
    np.testing.assert_allclose(y, yt.detach().numpy(), atol=1e-12)
    np.testing.assert_allclose(dx, xt.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(f.grads["fc.weight"], fc.weight.grad.numpy(), atol=1e-12)
    for k, p in rnn.named_parameters():
        np.testing.assert_allclose(f.grads[f"rnn.{k}"], p.grad.numpy(), atol=1e-12, err_msg=k)


def test_sample_is_reproducible_and_follows_the_distribution():
    lm = CharLM("abcd", 8, cell="gru", seed=0)
    a = lm.sample("ab", 50, temperature=1.0, seed=3)
    assert a == lm.sample("ab", 50, temperature=1.0, seed=3) and len(a) == 50 and set(a) <= set("abcd")
    # temperature 0 is greedy: each character is the argmax of the model's prediction given everything before it
    greedy = lm.sample("ab", 6, temperature=0)
    text = "ab" + greedy
    logits, _ = lm(lm.vocab.encode(text)[:, None])
    assert greedy == lm.vocab.decode(logits[1:-1, 0].argmax(-1))
    # a model whose read-out strongly prefers 'c' samples mostly 'c'; at high temperature, much less so
    lm.fc.bias[...] = [0.0, 0.0, 6.0, 0.0]
    lm.fc.weight[...] = 0.0
    cold = lm.sample("a", 400, temperature=0.5, seed=0)
    hot = lm.sample("a", 400, temperature=5.0, seed=0)
    p_cold = np.exp(12.0) / (np.exp(12.0) + 3)                      # softmax of bias / 0.5
    p_hot = np.exp(1.2) / (np.exp(1.2) + 3)
    assert abs(cold.count("c") / 400 - p_cold) < 0.02
    assert abs(hot.count("c") / 400 - p_hot) < 0.08
    assert lm.training                                              # mode restored


def test_sample_with_integer_vocab_returns_ids_and_errors_are_sentences():
    lm = CharLM(5, 4, cell="rnn", seed=0)
    ids = lm.sample([1, 2], 7, seed=0)
    assert ids.dtype == np.int64 and ids.shape == (7,) and ids.max() < 5
    with pytest.raises(ValueError, match="prime must be a sequence of ids"):
        lm.sample("ab", 3)
    with pytest.raises(ValueError, match="temperature must be a finite number >= 0, got -1"):
        lm.sample([1], 3, temperature=-1)
    with pytest.raises(ValueError, match="cell must be one of"):
        CharLM(5, 4, cell="elman")
    with pytest.raises(ValueError, match=r"dy must have shape \(horizon, B, output_size\) = \(1, 2, 1\)"):
        f = Forecaster("gru", 1, 3, seed=0)
        f(np.zeros((4, 2, 1)))
        f.backward(np.zeros((2, 1)))
