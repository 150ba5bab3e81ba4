"""Seq2Seq against a PyTorch re-implementation of the same model (nn.GRU/LSTM encoder on packed sequences,
GRUCell/LSTMCell decoder, the attention equations, autograd): logits and every gradient, float64, 1e-10."""
import numpy as np
import pytest
import torch

from minirnn.models import Seq2Seq

TORCH_CELLS = {"gru": (torch.nn.GRU, torch.nn.GRUCell), "lstm": (torch.nn.LSTM, torch.nn.LSTMCell),
               "rnn": (torch.nn.RNN, torch.nn.RNNCell)}


def torch_seq2seq(model, src, lengths, tgt_in, G):
    """The module docstring of minirnn/models/seq2seq.py in torch; returns logits and grads by minirnn's names."""
    p = {k: torch.tensor(v, requires_grad=True) for k, v in model.params.items()}
    layer_class, cell_class = TORCH_CELLS[model.cell]
    encoder = layer_class(model.embed_dim, model.hidden_size, bidirectional=model.bidirectional, dtype=torch.float64)
    enc_params = {name: p[f"encoder.{name}"] for name, _ in encoder.named_parameters()}
    emb = torch.nn.functional.embedding(torch.tensor(src), p["src_embed.weight"])            # (S, B, E)
    packed = torch.nn.utils.rnn.pack_padded_sequence(emb, torch.tensor(lengths), enforce_sorted=False)
    out, finals = torch.func.functional_call(encoder, enc_params, (packed,))
    out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=src.shape[0])
    finals = finals if isinstance(finals, tuple) else (finals,)
    state = [torch.cat(list(f), dim=1) for f in finals]       # (B, D*H)
    keys = out.transpose(0, 1)                                # (B, S, K)
    mask = torch.arange(src.shape[0])[None, :] < torch.tensor(lengths)[:, None]
    K = keys.shape[2]
    cell = cell_class(model.embed_dim + (K if model.attention_kind else 0), K, dtype=torch.float64)
    cell_params = {n: p[f"decoder.{n}_l0"] for n in ("weight_ih", "weight_hh", "bias_ih", "bias_hh")}
    logits = []
    for t in range(tgt_in.shape[0]):
        x = torch.nn.functional.embedding(torch.tensor(tgt_in[t]), p["tgt_embed.weight"])
        ctx = None
        if model.attention_kind:
            q = state[0]
            if model.attention_kind == "additive":
                e = torch.tanh((q @ p["attention.W_q"].T)[:, None, :] + keys @ p["attention.W_k"].T
                               + p["attention.b"])
                scores = e @ p["attention.v"]
            elif model.attention_kind == "general":
                scores = torch.einsum("bsk,bk->bs", keys, q @ p["attention.W"].T)
            else:
                scores = torch.einsum("bsk,bk->bs", keys, q)
            w = torch.softmax(scores.masked_fill(~mask, float("-inf")), dim=1)
            ctx = torch.einsum("bs,bsk->bk", w, keys)
            x = torch.cat([x, ctx], dim=1)
        new = torch.func.functional_call(cell, cell_params, (x, tuple(state) if len(state) == 2 else state[0]))
        state = list(new) if isinstance(new, tuple) else [new]
        o = state[0] if ctx is None else torch.cat([state[0], ctx], dim=1)
        logits.append(o @ p["fc.weight"].T + p["fc.bias"])
    logits = torch.stack(logits)
    (logits * torch.tensor(G)).sum().backward()
    return logits.detach().numpy(), {k: v.grad.numpy() for k, v in p.items()}


@pytest.mark.parametrize("cell", ["gru", "lstm", "rnn"])
@pytest.mark.parametrize("attention", ["additive", "dot", "general", None])
def test_seq2seq_matches_torch_autograd(cell, attention):
    model = Seq2Seq(6, 7, 4, cell=cell, attention=attention, embed_dim=3, seed=1, backend="numba")
    rng = np.random.default_rng(0)
    src, lengths = rng.integers(3, 6, size=(5, 3)), np.array([5, 2, 3])
    tgt_in = rng.integers(0, 7, size=(4, 3))
    G = rng.normal(size=(4, 3, 7))
    logits = model(src, lengths, tgt_in)
    model.backward(G)
    ref_logits, ref_grads = torch_seq2seq(model, src, lengths, tgt_in, G)
    np.testing.assert_allclose(logits, ref_logits, rtol=0, atol=1e-10)
    assert set(ref_grads) == set(model.grads)
    for name, g in ref_grads.items():
        np.testing.assert_allclose(model.grads[name], g, rtol=0, atol=1e-10, err_msg=name)
