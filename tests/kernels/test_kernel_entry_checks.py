"""Every compiled loop refuses, at its entry, shapes that would make it read past the end of an array."""
import numpy as np
import pytest

from minirnn import cells, kernels
from minirnn.cells import registry

T, B, I, H = 4, 3, 2, 5


def _args(cell, rng):
    spec = registry.get(cell)
    shapes = list(spec.parameter_shapes(I, H).values())
    weights = [rng.normal(size=s) for s in shapes]
    states = [np.zeros((B, H)) for _ in spec.states]
    return spec, rng.normal(size=(T, B, I)), states, weights


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
@pytest.mark.parametrize("which, cut", [(0, 1), (1, 1), (2, 2), (3, 2)])
def test_a_short_weight_or_bias_is_refused_before_the_loop_reads_it(cell, which, cut):
    spec, x, states, weights = _args(cell, np.random.default_rng(0))
    weights[which] = weights[which][:cut]
    name = ("W_ih", "W_hh", "b_ih", "b_hh")[which]
    with pytest.raises(ValueError, match=name if which != 1 else "W_hh"):
        getattr(kernels, cell).forward(x, *states, *weights)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_wrong_states_masks_and_output_gradients_are_refused(cell):
    spec, x, states, weights = _args(cell, np.random.default_rng(1))
    module = getattr(kernels, cell)
    with pytest.raises(ValueError, match="h0 must have shape"):
        module.forward(x, np.zeros((B, H + 1)), *states[1:], *weights)
    with pytest.raises(ValueError, match="mask must have shape"):
        module.forward(x, *states, *weights, mask=np.ones((T, B + 1), dtype=bool))
    out, *final, cache = module.forward(x, *states, *weights)
    with pytest.raises(ValueError, match="dout must have the output's shape"):
        module.backward(np.ones((T, B, H - 1)), *[np.zeros_like(f) for f in final], cache)
    with pytest.raises(ValueError, match="dh_n must have shape"):
        module.backward(np.ones_like(out), np.zeros((B + 1, H)), *[np.zeros_like(f) for f in final[1:]], cache)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_the_checked_kernels_still_agree_with_the_readable_cells(cell):
    spec, x, states, weights = _args(cell, np.random.default_rng(2))
    results = []
    for module in (getattr(kernels, cell), getattr(cells, cell)):
        out, *final, cache = module.forward(x, *states, *weights)
        grads = module.backward(np.ones_like(out), *[np.ones_like(f) for f in final], cache)
        results.append((out, grads))
    (o1, g1), (o2, g2) = results
    np.testing.assert_allclose(o1, o2, rtol=1e-12, atol=1e-12)
    for key in g2:
        np.testing.assert_allclose(g1[key], g2[key], rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", sorted(registry.CELLS))
def test_every_cell_kernel_refuses_each_parameter_cut_short(name):
    spec = registry.get(name)
    proj = 3 if "weight_hr" in dict(spec.parameters) else 0
    shapes = list(spec.parameter_shapes(I, H, proj).values()) if proj else list(spec.parameter_shapes(I, H).values())
    sizes = spec.state_sizes(H, proj) if proj else spec.state_sizes(H)
    rng = np.random.default_rng(4)
    x = rng.normal(size=(T, B, I))
    states = [np.zeros((B, sizes[s])) for s in spec.states]
    module = spec.implementation("numba")
    for k in range(len(shapes)):
        weights = [rng.normal(size=s) for s in shapes]
        weights[k] = weights[k][:1]
        with pytest.raises(ValueError, match="must have shape"):
            module.forward(x, *states, *weights)
    weights = [rng.normal(size=s) for s in shapes]
    out, *final, cache = module.forward(x, *states, *weights)
    with pytest.raises(ValueError, match="must have"):
        module.backward(np.ones((T, B, out.shape[-1] + 1)), *[np.zeros_like(f) for f in final], cache)
