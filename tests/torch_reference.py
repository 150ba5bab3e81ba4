"""Run the same computation in PyTorch: the independent reference for minirnn's layers (imported by the tests)."""
import numpy as np
import torch

TORCH_CLASS = {"RNN": torch.nn.RNN, "LSTM": torch.nn.LSTM, "GRU": torch.nn.GRU}


def torch_twin(layer):
    """A torch.nn.RNN/LSTM/GRU with the same constructor arguments and the same weights as a minirnn layer."""
    kwargs = dict(num_layers=layer.num_layers, bias=layer.bias, batch_first=layer.batch_first,
                  dropout=0.0, bidirectional=layer.bidirectional,
                  dtype=torch.float64 if layer.dtype == np.float64 else torch.float32)
    if type(layer).__name__ == "RNN":
        kwargs["nonlinearity"] = layer.nonlinearity
    module = TORCH_CLASS[type(layer).__name__](layer.input_size, layer.hidden_size, **kwargs)
    module.load_state_dict({k: torch.from_numpy(v.copy()) for k, v in layer.state_dict().items()})
    return module


def torch_forward_backward(layer, x, states, lengths, dout, dstates):
    """Forward and backward through the torch twin.

    states/dstates: tuple of arrays (h,) or (h, c) in minirnn's shapes, or None. Returns
    (out, finals tuple, dx, dstates0 tuple, grads dict) as NumPy arrays.
    """
    module = torch_twin(layer)
    xt = torch.tensor(x, requires_grad=True)
    st = None if states is None else tuple(torch.tensor(s, requires_grad=True) for s in states)
    inp = xt
    if lengths is not None:
        inp = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.as_tensor(lengths), batch_first=layer.batch_first,
                                                      enforce_sorted=False)
    hx = None if st is None else (st if len(st) == 2 else st[0])
    out, finals = module(inp, hx)
    if lengths is not None:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, batch_first=layer.batch_first, total_length=x.shape[1 if layer.batch_first else 0])
    finals = finals if isinstance(finals, tuple) else (finals,)
    loss = (out * torch.tensor(dout)).sum()
    for f, d in zip(finals, dstates):
        loss = loss + (f * torch.tensor(d)).sum()
    loss.backward()
    grads = {name: p.grad.numpy() for name, p in module.named_parameters()}
    d0 = None if st is None else tuple(s.grad.numpy() for s in st)
    return (out.detach().numpy(), tuple(f.detach().numpy() for f in finals), xt.grad.numpy(), d0, grads)
