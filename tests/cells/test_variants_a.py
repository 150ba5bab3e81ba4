"""The cell variants of issue #18 (items 1-3): the GRU with the reset gate before the recurrent product
(``GRU(reset_after=False)``), the LSTM with projections (``LSTM(proj_size=P)``) and the LSTM with peepholes
(``LSTM(peepholes=True)``).

Each is proven three ways: central differences of every tensor (the ``gradcheck`` package, float64) for the readable
and the compiled loops, step and sequence, with and without padding; the compiled loops against the readable ones in
both dtypes; and whole layers (stacked, bidirectional, with lengths, both backends) against an independent reference
on the same weights, outputs and every gradient: ``torch.nn.LSTM(proj_size=P)`` for projections, and for the two
cells no PyTorch layer has, the equations re-written in PyTorch and differentiated by autograd. Keras parity for
``reset_after=False`` is in tests/interop/test_variants_interop.py.
"""
import numpy as np
import pytest
import torch

import gradcheck
from minirnn import GRU, LSTM, cells, kernels
from minirnn.analysis.gradient_suite import layer_problem
from minirnn.cells import registry

VARIANTS = ("gru_reset_before", "lstm_proj", "lstm_peephole")
T, B, I, H, P = 5, 3, 4, 5, 3                       # P: proj_size of lstm_proj


def problem(cell, dtype=np.float64, seed=0, size=(T, B, I, H)):
    """Random x, states, weights and upstream gradients (out, then each final state) for one variant."""
    T_, B_, I_, H_ = size
    P_ = max(1, H_ // 2) if cell.name == "lstm_proj" else 0
    rng = np.random.default_rng(seed)
    sizes = cell.state_sizes(H_, P_)
    x = rng.normal(size=(T_, B_, I_))
    states = [rng.normal(scale=0.5, size=(B_, sizes[s])) for s in cell.states]
    weights = [rng.uniform(-0.8, 0.8, size=shape) for shape in cell.parameter_shapes(I_, H_, P_).values()]
    upstream = [rng.normal(size=(T_, B_, sizes["h"]))] + [rng.normal(size=(B_, sizes[s])) for s in cell.states]
    cast = lambda arrays: [np.asarray(a, dtype=dtype) for a in arrays]
    return x.astype(dtype), cast(states), cast(weights), cast(upstream)


def prefix_mask(T_, lengths):
    return np.arange(T_)[:, None] < np.asarray(lengths)[None, :]                # (T, B)


@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("masked", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("name", VARIANTS)
def test_variant_sequence_backward_matches_finite_differences(name, masked, backend):
    cell = registry.get(name)
    x, states, weights, upstream = problem(cell)
    mask = prefix_mask(T, [T, 3, 1]) if masked else None
    params = {"x": x, **{f"{s}0": v for s, v in zip(cell.states, states)},
              **{arg: w for (_, arg), w in zip(cell.parameters, weights)}}

    def loss(p):
        out, finals, _ = cell.forward(p["x"], tuple(p[f"{s}0"] for s in cell.states),
                                      tuple(p[arg] for _, arg in cell.parameters), mask, backend=backend)
        return float(sum(np.sum(a * g) for a, g in zip((out, *finals), upstream)))

    _, _, cache = cell.forward(x, tuple(states), tuple(weights), mask, backend=backend)
    dx, d0, dweights = cell.backward(upstream[0], tuple(upstream[1:]), cache)
    grads = {"x": dx, **{f"{s}0": g for s, g in zip(cell.states, d0)}, **dweights}
    report = gradcheck.check_gradients(loss, params, grads, rtol=1e-6)
    assert report.passed, str(report)
    assert [row.name for row in report.rows] == list(params)         # every tensor was checked


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_step_backward_matches_finite_differences(name):
    """``step_forward``/``step_backward`` of each readable cell: the gradients of x, each state and each weight."""
    cell = registry.get(name)
    module = cell.implementation("numpy")
    x, states, weights, upstream = problem(cell, seed=3)
    params = {"x": x[0], **{s: v for s, v in zip(cell.states, states)},
              **{arg: w for (_, arg), w in zip(cell.parameters, weights)}}
    douts = [g for g in upstream[1:]]                                # one upstream gradient per new state

    def run(p):
        *new, cache = module.step_forward(p["x"], *(p[s] for s in cell.states), *(p[a] for _, a in cell.parameters))
        return float(sum(np.sum(a * g) for a, g in zip(new, douts))), cache

    analytic = module.step_backward(*douts, run(params)[1])
    grads = dict(zip(params, analytic))
    report = gradcheck.check_gradients(lambda p: run(p)[0], params, grads, rtol=1e-6)
    assert report.passed, str(report)


SIZES = [(6, 3, 4, 5, [6, 3, 1]), (1, 1, 1, 2, [1]), (4, 4, 3, 4, [1, 4, 2, 3])]


@pytest.mark.parametrize("size", SIZES, ids=["T6B3", "T1B1", "T4B4"])
@pytest.mark.parametrize("masked", [False, True], ids=["full", "lengths"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", VARIANTS)
def test_variant_kernel_matches_readable_cell(name, dtype, masked, size):
    """The compiled loop gives the readable loop's outputs, final states and gradients (1e-12 / 1e-5), in the dtype."""
    cell = registry.get(name)
    T_, B_, I_, H_, lengths = size
    x, states, weights, upstream = problem(cell, dtype, seed=1, size=(T_, B_, I_, H_))
    mask = prefix_mask(T_, lengths) if masked else None
    results = {}
    for backend in ("numpy", "numba"):
        out, finals, cache = cell.forward(x, tuple(states), tuple(weights), mask, backend=backend)
        dx, d0, dweights = cell.backward(upstream[0], tuple(upstream[1:]), cache)
        results[backend] = {"out": out, **dict(zip(cell.states, finals)), "dx": dx,
                            **{f"d{s}0": g for s, g in zip(cell.states, d0)}, **dweights}
    tol = 1e-12 if dtype == np.float64 else 1e-5
    for key, expected in results["numpy"].items():
        actual = results["numba"][key]
        assert actual.dtype == np.dtype(dtype), key
        np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol, err_msg=f"{name} {key}")


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_caches_are_used_once_and_shared_between_backends(name):
    """A readable forward's cache goes into the compiled backward (same gradients), once; ``backward_step`` reads
    a compiled forward's cache as it reads a readable one."""
    cell = registry.get(name)
    x, states, weights, upstream = problem(cell, seed=2)
    compiled = kernels.__dict__[cell.module]
    forward = lambda backend: cell.forward(x, tuple(states), tuple(weights), backend=backend)[2].inner
    expected = cells.__dict__[cell.module].backward(*upstream, forward("numpy"))
    readable_cache = forward("numpy")
    actual = compiled.backward(*upstream, readable_cache)
    for arg in expected:
        np.testing.assert_allclose(actual[arg], expected[arg], rtol=1e-12, atol=1e-12, err_msg=arg)
    with pytest.raises(ValueError, match="already used"):
        compiled.backward(*upstream, readable_cache)
    dstates = tuple(upstream[1:])
    for a, e in zip(cell.backward_step(T - 1, dstates, forward("numba")),
                    cell.backward_step(T - 1, dstates, forward("numpy"))):
        for a_k, e_k in zip(a, e) if isinstance(a, tuple) else [(a, e)]:
            np.testing.assert_allclose(a_k, e_k, rtol=1e-12, atol=1e-12)


# -- whole layers against independent references -----------------------------------------------------------------------
def torch_gru_reset_before(x, h, W_ih, W_hh, b_ih, b_hh):
    """Cho et al.'s GRU, written from the equations: n = tanh(x W_in^T + b_in + (r * h) W_hn^T + b_hn)."""
    n_h = h.shape[-1]
    xr, xz, xn = (x @ W_ih.T + b_ih).split(n_h, -1)
    r = torch.sigmoid(xr + h @ W_hh[:n_h].T + b_hh[:n_h])
    z = torch.sigmoid(xz + h @ W_hh[n_h:2 * n_h].T + b_hh[n_h:2 * n_h])
    n = torch.tanh(xn + (r * h) @ W_hh[2 * n_h:].T + b_hh[2 * n_h:])
    return ((1 - z) * n + z * h,)


def torch_lstm_peephole(x, h, c, W_ih, W_hh, b_ih, b_hh, w_ci, w_cf, w_co):
    """Gers and Schmidhuber's peephole LSTM, written from the equations (i, f see c_{t-1}; o sees c_t)."""
    a_i, a_f, a_g, a_o = (x @ W_ih.T + b_ih + h @ W_hh.T + b_hh).split(c.shape[-1], -1)
    i, f, g = torch.sigmoid(a_i + w_ci * c), torch.sigmoid(a_f + w_cf * c), torch.tanh(a_g)
    c = f * c + i * g
    o = torch.sigmoid(a_o + w_co * c)
    return o * torch.tanh(c), c


TORCH_STEPS = {"gru_reset_before": torch_gru_reset_before, "lstm_peephole": torch_lstm_peephole}


def torch_equations_layer(layer, params, x, states, lengths):
    """A stacked, bidirectional layer of the cell's equations in PyTorch, one sequence and one step at a time.

    Independent of minirnn's loops: the reverse direction runs each sequence from its last real step back to 0, and
    steps past a sequence's end are left out (zero output, state not updated). x (T, B, I); states (L*D, B, S).
    """
    step, D, cell = TORCH_STEPS[layer.cell.name], layer.num_directions, layer.cell
    T_, B_ = x.shape[:2]
    lengths = [T_] * B_ if lengths is None else list(lengths)
    inputs, finals = x, [[None] * (layer.num_layers * D) for _ in cell.states]
    for k in range(layer.num_layers):
        outs = []
        for d in range(D):
            row, sfx = k * D + d, f"_l{k}" + ("_reverse" if d else "")
            w = [params[base + sfx] for base, _ in cell.parameters]
            columns, last = [], [[] for _ in cell.states]
            for b in range(B_):
                state = tuple(s[row, b] for s in states)
                out_b = [torch.zeros(layer.direction_size, dtype=x.dtype) for _ in range(T_)]
                for t in (range(lengths[b]) if d == 0 else reversed(range(lengths[b]))):
                    state = step(inputs[t, b], *state, *w)
                    out_b[t] = state[0]
                columns.append(torch.stack(out_b))
                for kind, value in zip(last, state):
                    kind.append(value)
            outs.append(torch.stack(columns, dim=1))                 # (T, B, S)
            for kind, value in zip(finals, last):
                kind[row] = torch.stack(value)
        inputs = torch.cat(outs, dim=-1)
    return inputs, tuple(torch.stack(kind) for kind in finals)


def torch_proj_layer(layer, x, states, lengths):
    """``torch.nn.LSTM(proj_size=P)`` with the layer's weights in float64, packed by lengths; returns the module too."""
    module = torch.nn.LSTM(layer.input_size, layer.hidden_size, num_layers=layer.num_layers,
                           bidirectional=layer.bidirectional, proj_size=layer.proj_size, dtype=torch.float64)
    module.load_state_dict({k: torch.tensor(v, dtype=torch.float64) for k, v in layer.params.items()})
    packed = x if lengths is None else torch.nn.utils.rnn.pack_padded_sequence(
        x, torch.as_tensor(lengths), enforce_sorted=False)
    out, finals = module(packed, states)
    if lengths is not None:
        out, _ = torch.nn.utils.rnn.pad_packed_sequence(out, total_length=x.shape[0])
    return out, finals, module


def reference_forward_backward(layer, x, states, lengths, upstream):
    """(out, finals, dx, dstates0, grads by parameter name) of the reference, in float64 on the layer's values."""
    to64 = lambda a: torch.tensor(np.asarray(a, dtype=np.float64), requires_grad=True)
    xt, st = to64(x), tuple(to64(s) for s in states)
    if layer.cell.name == "lstm_proj":
        out, finals, module = torch_proj_layer(layer, xt, st, lengths)
        params = dict(module.named_parameters())
    else:
        params = {name: to64(value) for name, value in layer.params.items()}
        out, finals = torch_equations_layer(layer, params, xt, st, lengths)
    loss = sum((a * torch.tensor(np.asarray(g, dtype=np.float64))).sum() for a, g in zip((out, *finals), upstream))
    loss.backward()
    return (out.detach().numpy(), [f.detach().numpy() for f in finals], xt.grad.numpy(),
            [s.grad.numpy() for s in st], {name: p.grad.numpy() for name, p in params.items()})


def assert_close(actual, expected, dtype, what):
    """float64: within 1e-10; float32: within 1e-4 relative to the tensor's largest entry."""
    tol = 1e-10 if dtype == np.float64 else 1e-4
    assert actual.shape == expected.shape, (what, actual.shape, expected.shape)
    np.testing.assert_allclose(actual, expected, rtol=tol, atol=tol * max(np.abs(expected).max(), 1e-3),
                               err_msg=what)


def make_layer(name, dtype, backend, num_layers, bidirectional, seed=0):
    kwargs = {"gru_reset_before": {"reset_after": False}, "lstm_proj": {"proj_size": P},
              "lstm_peephole": {"peepholes": True}}[name]
    cls = GRU if name.startswith("gru") else LSTM
    return cls(I, H, num_layers=num_layers, bidirectional=bidirectional, dtype=dtype, seed=seed, backend=backend,
               **kwargs)


CONFIGS = [(1, False, None), (2, True, [T, 3, 1])]


@pytest.mark.parametrize("config", CONFIGS, ids=["1-layer", "2-layer-bidirectional-lengths"])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("name", VARIANTS)
def test_variant_layer_matches_reference_with_every_gradient(name, dtype, backend, config):
    num_layers, bidirectional, lengths = config
    layer = make_layer(name, dtype, backend, num_layers, bidirectional)
    assert layer.cell.name == name
    rng = np.random.default_rng(5)
    LD = num_layers * layer.num_directions
    states = [rng.normal(scale=0.5, size=(LD, B, layer.state_sizes[s])).astype(dtype) for s in layer.cell.states]
    x = rng.normal(size=(T, B, I)).astype(dtype)
    upstream = [rng.normal(size=(T, B, layer.output_size)).astype(dtype)] + \
               [rng.normal(size=s.shape).astype(dtype) for s in states]
    out, finals = layer(x, layer.pack_states(states), lengths=lengths)
    dx, d0 = layer.backward(upstream[0], layer.pack_states(upstream[1:]))
    r_out, r_finals, r_dx, r_d0, r_grads = reference_forward_backward(layer, x, states, lengths, upstream)
    assert_close(out, r_out, dtype, "out")
    for s, a, e in zip(layer.cell.states, layer.unpack_states(finals), r_finals):
        assert_close(a, e, dtype, f"{s}_n")
    assert_close(dx, r_dx, dtype, "dx")
    for s, a, e in zip(layer.cell.states, layer.unpack_states(d0), r_d0):
        assert_close(a, e, dtype, f"d{s}0")
    assert sorted(layer.grads) == sorted(r_grads)
    for key, expected in r_grads.items():
        assert_close(layer.grads[key], expected, dtype, f"d{key}")


@pytest.mark.parametrize("name", VARIANTS)
def test_variant_layers_pass_the_gradient_suite(name):
    """The gradient suite (``minirnn demo``, ``gradcheck``) builds and checks each variant as a 2-layer
    bidirectional layer with lengths on the compiled loops."""
    f, params, grads, pre, layer = layer_problem(name, num_layers=2, bidirectional=True, lengths=True, T=4, B=2,
                                                 I=3, H=4, backend="numba")
    assert layer.cell.name == name
    report = gradcheck.check_gradients(f, params, grads, method="sampled", num_samples=6, seed=0)
    assert report.passed, str(report)
    assert len(report.rows) == len(params)


# -- the interface ----------------------------------------------------------------------------------------------------
def sigmoid(a):
    return 1 / (1 + np.exp(-a))


def test_layer_gates_names_the_gates_of_each_variant():
    """``layer.gates()`` of each variant: its gate names, (T, B, H) even when h has size P, and the values of the
    first step computed here from the equations."""
    rng = np.random.default_rng(7)
    x = rng.normal(size=(T, B, I))
    for name in VARIANTS:
        layer = make_layer(name, np.float64, "numba", 1, False)
        states = [rng.normal(size=(1, B, layer.state_sizes[s])) for s in layer.cell.states]
        layer(x, layer.pack_states(states))
        gates = layer.gates()
        p = {k.replace("_l0", ""): v for k, v in layer.params.items()}
        a = x[0] @ p["weight_ih"].T + p["bias_ih"] + states[0][0] @ p["weight_hh"].T + p["bias_hh"]    # (B, G*H)
        blocks = np.split(a, layer.cell.num_gates, axis=1)
        if name == "gru_reset_before":
            h = states[0][0]
            r, z = sigmoid(blocks[0]), sigmoid(blocks[1])
            n = np.tanh((x[0] @ p["weight_ih"].T + p["bias_ih"])[:, 2 * H:] + (r * h) @ p["weight_hh"][2 * H:].T
                        + p["bias_hh"][2 * H:])
            expected = {"r": r, "z": z, "n": n}
        else:
            c = states[1][0]
            peep = {k: p.get(f"weight_c{k}", np.zeros(H)) for k in "ifo"}
            i, f, g = sigmoid(blocks[0] + peep["i"] * c), sigmoid(blocks[1] + peep["f"] * c), np.tanh(blocks[2])
            expected = {"i": i, "f": f, "g": g, "o": sigmoid(blocks[3] + peep["o"] * (f * c + i * g))}
        assert list(gates) == list(expected) == list(layer.cell.gates), name
        for key, value in expected.items():
            assert gates[key].shape == (T, B, H)
            np.testing.assert_allclose(gates[key][0], value, rtol=1e-12, atol=1e-12, err_msg=f"{name} {key}")


def test_constructor_arguments_choose_the_cell_and_show_in_repr():
    assert GRU(3, 4).cell is registry.GRU and GRU(3, 4, reset_after=False).cell is registry.GRU_RESET_BEFORE
    assert LSTM(3, 4).cell is registry.LSTM and LSTM(3, 4, proj_size=2).cell is registry.LSTM_PROJ
    assert LSTM(3, 4, peepholes=True).cell is registry.LSTM_PEEPHOLE
    assert repr(LSTM(3, 4, 2, proj_size=2)) == "LSTM(3, 4, num_layers=2, proj_size=2)"
    assert repr(LSTM(3, 4, peepholes=True)) == "LSTM(3, 4, peepholes=True)"
    assert repr(GRU(3, 4, reset_after=False, dtype=np.float32)) == "GRU(3, 4, reset_after=False, dtype=np.float32)"
    lstmp = LSTM(3, 6, num_layers=2, bidirectional=True, proj_size=2)
    shapes = {k: v.shape for k, v in lstmp.params.items()}
    assert shapes["weight_hh_l0"] == (24, 2) and shapes["weight_hr_l0"] == (2, 6)
    assert shapes["weight_ih_l1_reverse"] == (24, 4)                 # the layer below gives D * P features
    assert list(LSTM(3, 4, peepholes=True).params)[4:7] == ["weight_ci_l0", "weight_cf_l0", "weight_co_l0"]


def test_bad_variant_arguments_are_refused_with_the_reason():
    with pytest.raises(ValueError, match="no LSTM cell implements proj_size=2, peepholes=True, layer_norm=False; "):
        LSTM(3, 4, proj_size=2, peepholes=True)
    with pytest.raises(ValueError, match="proj_size must be an integer in 0..hidden_size-1.*got 4"):
        LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size must be an integer.*got -1"):
        LSTM(3, 4, proj_size=-1)
    with pytest.raises(ValueError, match="proj_size must be an integer.*got 1.5"):
        LSTM(3, 4, proj_size=1.5)
    with pytest.raises(TypeError, match="peepholes must be True or False, got 'yes'"):
        LSTM(3, 4, peepholes="yes")
    with pytest.raises(TypeError, match="reset_after must be True or False, got 1"):
        GRU(3, 4, reset_after=1)
    lstmp = LSTM(3, 4, proj_size=2)
    with pytest.raises(ValueError, match=r"h0 must have shape \(num_layers \* num_directions, batch, proj_size\) = "
                                         r"\(1, 2, 2\), got \(1, 2, 4\)"):
        lstmp(np.zeros((5, 2, 3)), (np.zeros((1, 2, 4)), np.zeros((1, 2, 4))))
    out, _ = lstmp(np.zeros((5, 2, 3)))
    with pytest.raises(ValueError, match=r"dout must have shape \(seq_len, batch, num_directions \* proj_size\)"):
        lstmp.backward(np.zeros((5, 2, 4)))
