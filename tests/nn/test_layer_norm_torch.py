"""Layer-normalised LSTM and GRU layers against a PyTorch autograd re-implementation of their equations.

PyTorch has no layer-normalised recurrent layer, so the reference below writes the equations of
``minirnn/cells/ln_lstm.py`` and ``ln_gru.py`` with torch ops (``torch.nn.functional.layer_norm`` for LN) and lets
autograd differentiate them: stacks, both directions (each sequence reversed within its length), padding, and an
optional fixed recurrent-dropout mask per layer and direction. Outputs, final states and every gradient (x, the
initial states, each parameter by its PyTorch-style name) must agree: float64 within 1e-10, float32 within 1e-4
relative, on both backends.
"""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

import minirnn

T, B, I, H = 5, 3, 4, 3
LENGTHS = np.array([5, 3, 1])
TOL = {np.float64: 1e-10, np.float32: 1e-4}


def ln(v, gain, bias):
    return F.layer_norm(v, (v.shape[-1],), weight=gain, bias=bias, eps=1e-5)


def torch_ln_lstm_step(x, h, c, p, sfx, m):
    a = ln(x @ p["weight_ih" + sfx].T, p["ln_ih_weight" + sfx], p["bias_ih" + sfx]) \
        + ln((h * m) @ p["weight_hh" + sfx].T, p["ln_hh_weight" + sfx], p["bias_hh" + sfx])
    i, f, g, o = a.chunk(4, dim=1)
    c_new = torch.sigmoid(f) * c + torch.sigmoid(i) * torch.tanh(g)
    h_new = torch.sigmoid(o) * torch.tanh(ln(c_new, p["ln_c_weight" + sfx], p["ln_c_bias" + sfx]))
    return h_new, c_new


def torch_ln_gru_step(x, h, c, p, sfx, m):
    xr, xz, xn = ln(x @ p["weight_ih" + sfx].T, p["ln_ih_weight" + sfx], p["bias_ih" + sfx]).chunk(3, dim=1)
    hr, hz, hn = ln((h * m) @ p["weight_hh" + sfx].T, p["ln_hh_weight" + sfx], p["bias_hh" + sfx]).chunk(3, dim=1)
    r, z = torch.sigmoid(xr + hr), torch.sigmoid(xz + hz)
    n = torch.tanh(xn + r * hn)
    return (1 - z) * n + z * h, None


def torch_layer(step, x, states, p, num_layers, D, lengths, masks):
    """x (T, B, I) tensor; states tuple of (L*D, B, H) tensors -> out (T, B, D*H) and final states (concat merge)."""
    valid = torch.as_tensor(np.arange(T)[:, None] < lengths[None, :])[:, :, None]          # (T, B, 1)
    rev = torch.as_tensor(np.where(np.arange(T)[:, None] < lengths, lengths - 1 - np.arange(T)[:, None],
                                   np.arange(T)[:, None]))                                   # (T, B)
    reorder = lambda a: torch.gather(a, 0, rev[:, :, None].expand(-1, -1, a.shape[-1]))     # noqa: E731
    finals, inputs = [[] for _ in states], x
    for k in range(num_layers):
        outs = []
        for d in range(D):
            row, sfx = k * D + d, f"_l{k}" + ("_reverse" if d else "")
            seq = inputs if d == 0 else reorder(inputs)
            h, c = states[0][row], (states[1][row] if len(states) == 2 else None)
            ys = []
            for t in range(T):
                h_new, c_new = step(seq[t], h, c, p, sfx, masks[row])
                h = torch.where(valid[t], h_new, h)
                c = None if c is None else torch.where(valid[t], c_new, c)
                ys.append(torch.where(valid[t], h_new, torch.zeros_like(h_new)))
            y = torch.stack(ys)
            outs.append(y if d == 0 else reorder(y))
            finals[0].append(h)
            if c is not None:
                finals[1].append(c)
        inputs = torch.cat(outs, dim=2)
    return inputs, tuple(torch.stack(f) for f in finals)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("dropout", [False, True])
@pytest.mark.parametrize("cls,step", [(minirnn.LSTM, torch_ln_lstm_step), (minirnn.GRU, torch_ln_gru_step)])
def test_layer_norm_layer_matches_pytorch_autograd_of_its_equations(cls, step, dropout, dtype, backend):
    rng = np.random.default_rng(1 + 2 * dropout)
    layer = cls(I, H, num_layers=2, bidirectional=True, layer_norm=True, dtype=dtype, seed=0, backend=backend,
                recurrent_dropout=0.4 if dropout else 0.0)
    # random gains and LN biases (they start at 1 and 0, which would hide a gain/bias mix-up)
    layer.load_state_dict({k: (v + rng.normal(scale=0.3, size=v.shape)).astype(dtype)
                           for k, v in layer.state_dict().items()})
    n_states = len(layer.cell.states)
    masks = [((rng.random((B, H)) >= 0.4) / 0.6).astype(dtype) if dropout else np.ones((B, H), dtype)
             for _ in range(4)]
    queue = list(masks)
    layer._recurrent_mask = lambda B_: queue.pop(0) if dropout else None
    x = rng.normal(size=(T, B, I)).astype(dtype)
    states = tuple(rng.normal(scale=0.5, size=(4, B, H)).astype(dtype) for _ in range(n_states))
    dout = rng.normal(size=(T, B, 2 * H)).astype(dtype)
    dstates = tuple(rng.normal(size=(4, B, H)).astype(dtype) for _ in range(n_states))

    out, finals = layer(x, layer.pack_states(states), lengths=LENGTHS)
    dx, d0 = layer.backward(dout, layer.pack_states(dstates))

    p = {k: torch.tensor(v, requires_grad=True) for k, v in layer.params.items()}
    xt = torch.tensor(x, requires_grad=True)
    st = tuple(torch.tensor(s, requires_grad=True) for s in states)
    out_t, finals_t = torch_layer(step, xt, st, p, 2, 2, LENGTHS, [torch.tensor(m) for m in masks])
    loss = (out_t * torch.tensor(dout)).sum() + sum((f * torch.tensor(g)).sum() for f, g in zip(finals_t, dstates))
    loss.backward()

    tol = TOL[dtype]

    def close(ours, theirs, what):
        theirs = theirs.detach().numpy()
        np.testing.assert_allclose(ours, theirs, rtol=tol, atol=tol * np.abs(theirs).max(), err_msg=what)

    close(out, out_t, "out")
    for ours, theirs in zip(layer.unpack_states(finals), finals_t):
        close(ours, theirs, "final state")
    close(dx, xt.grad, "dx")
    for ours, theirs in zip(layer.unpack_states(d0), st):
        close(ours, theirs.grad, "initial state gradient")
    assert sorted(layer.grads) == sorted(p)
    for name, value in p.items():
        close(layer.grads[name], value.grad, name)


def test_layer_norm_parameters_are_named_like_pytorch_and_start_at_one_and_zero():
    lstm = minirnn.LSTM(I, H, num_layers=2, bidirectional=True, layer_norm=True, seed=0)
    names = {k for k in lstm.params if k.startswith("ln_")}
    assert names == {f"ln_{part}_l{k}{rev}" for part in ("ih_weight", "hh_weight", "c_weight", "c_bias")
                     for k in (0, 1) for rev in ("", "_reverse")}
    assert lstm.params["ln_ih_weight_l1_reverse"].shape == (4 * H,) and lstm.params["ln_c_bias_l0"].shape == (H,)
    assert all(np.all(lstm.params[k] == (0 if k.startswith("ln_c_bias") else 1)) for k in names)
    gru = minirnn.GRU(I, H, layer_norm=True, bias=False, seed=0)
    assert sorted(gru.params) == ["ln_hh_weight_l0", "ln_ih_weight_l0", "weight_hh_l0", "weight_ih_l0"]
    assert gru.params["ln_hh_weight_l0"].shape == (3 * H,)
    # the ordinary weights are drawn as without layer norm (same seed, same numbers)
    np.testing.assert_array_equal(gru.params["weight_hh_l0"], minirnn.GRU(I, H, bias=False, seed=0).params["weight_hh_l0"])
    assert repr(gru) == "GRU(4, 3, bias=False, layer_norm=True)"


def test_layer_norm_output_does_not_depend_on_the_scale_of_the_weights():
    """LN's defining property: scaling W_ih and W_hh by any positive factor leaves the function unchanged
    (up to eps = 1e-5 against variances of ~0.1 here), which a plain LSTM does not satisfy."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(T, B, I))
    for layer_norm in (True, False):
        lstm = minirnn.LSTM(I, H, layer_norm=layer_norm, seed=1)
        out, _ = lstm(x)
        lstm.load_state_dict({k: v * 10 if k.startswith("weight") else v for k, v in lstm.state_dict().items()})
        scaled, _ = lstm(x)
        change = np.abs(scaled - out).max()
        assert change < 1e-3 if layer_norm else change > 0.05
