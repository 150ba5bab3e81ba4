"""The registry's :func:`choose`: the cell a layer's switches select, and the sentence when none does."""
import re

import pytest

from minirnn import GRU, LSTM
from minirnn.cells import registry


def combinations_in(message):
    """``{cell name: {switch: value}}`` from the "the X cells are name (k=v, ...), ..." part of a message."""
    listed = message.split(" cells are ", 1)[1]
    found = {}
    for name, settings in re.findall(r"(\w+) \(([^()]*)\)", listed):
        if name == "see":
            continue
        found[name] = {}
        for setting in settings.split(", "):
            key, op, value = re.fullmatch(r"(\w+)\s*(=|>)\s*(\w+)", setting).groups()
            found[name][key] = 3 if op == ">" else (0 if value == "0" else value == "True")
    return found


@pytest.mark.parametrize("family", registry.BASE_CELLS)
def test_every_cell_is_chosen_by_its_own_switches(family):
    for cell in registry.CELLS.values():
        if (cell.family or cell.name) == family:
            assert registry.choose(family, **cell.switches) is cell


def test_impossible_gru_names_every_switch_with_its_value_and_the_combinations_that_exist():
    with pytest.raises(ValueError) as error:
        GRU(3, 4, reset_after=False, layer_norm=True)
    message = str(error.value)
    assert message.startswith("GRU: no GRU cell implements reset_after=False, layer_norm=True; ")
    assert "proj_size" not in message                        # the GRU layer's proj_size=0 is no GRU switch
    combinations = combinations_in(message)
    assert combinations == {"gru": {"reset_after": True, "layer_norm": False},
                            "gru_reset_before": {"reset_after": False, "layer_norm": False},
                            "ln_gru": {"reset_after": True, "layer_norm": True}}
    for name, switches in combinations.items():              # each combination named is one that works
        assert registry.choose("gru", **switches) is registry.CELLS[name]
        assert GRU(3, 4, **switches).cell is registry.CELLS[name]


def test_impossible_lstm_names_the_switches_that_are_off_too_and_proj_size_by_its_number():
    with pytest.raises(ValueError) as error:
        LSTM(3, 4, proj_size=2, peepholes=True)
    message = str(error.value)
    assert message.startswith("LSTM: no LSTM cell implements proj_size=2, peepholes=True, layer_norm=False; ")
    combinations = combinations_in(message)
    assert set(combinations) == {"lstm", "lstm_proj", "lstm_peephole", "ln_lstm"}
    assert "lstm_proj (proj_size > 0, peepholes=False, layer_norm=False)" in message
    for name, switches in combinations.items():
        assert registry.choose("lstm", **switches) is registry.CELLS[name]


def test_choose_refuses_a_switch_the_family_lacks_and_an_unknown_family():
    with pytest.raises(ValueError, match=r"^layer: no RNN cell implements layer_norm=True; the RNN cells are "
                                         r"rnn \(layer_norm=False\) "):
        registry.choose("rnn", layer_norm=True)
    with pytest.raises(ValueError, match=r"family must be one of \('rnn', 'lstm', 'gru'\), got 'xlstm'"):
        registry.choose("xlstm")


def test_a_variant_keeps_its_familys_gates_states_and_framework_gate_orders():
    variants = [cell for cell in registry.CELLS.values() if cell.family]
    assert {cell.name for cell in variants} == {"gru_reset_before", "lstm_proj", "lstm_peephole", "ln_lstm", "ln_gru"}
    for cell in variants:
        base = registry.CELLS[cell.family]
        assert (cell.gates, cell.states, cell.keras_gates) == (base.gates, base.states, base.keras_gates), cell.name
        assert cell.parameters[:4] == base.parameters, cell.name     # W_ih, W_hh, b_ih, b_hh first, extras after
