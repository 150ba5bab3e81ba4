"""The import paths of the old flat layout keep working: each gives the very module at its new path."""
import importlib

import pytest

from minirnn._moved import MOVED


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_path_is_the_module_at_its_new_path(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)
    assert importlib.import_module(new).__spec__.name == new        # its own spec, not the old path's


def test_from_minirnn_import_old_name_works():
    from minirnn import layers, losses, optim, tasks, train
    from minirnn.nn import recurrent
    assert layers is recurrent and losses.mse and optim.Adam and tasks.adding_problem and train.fit
