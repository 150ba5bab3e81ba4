"""Old import paths of modules that moved when the package was split by concept (``minirnn.layers`` is now
``minirnn.nn.recurrent``, ...). An old path gives the very same module object, so code written for the old
layout
keeps working; new code should import from the new paths."""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "minirnn.layers": "minirnn.nn.recurrent",
    "minirnn.losses": "minirnn.nn.losses",
    "minirnn.optim": "minirnn.nn.optim",
    "minirnn.errors": "minirnn.nn.validation",
    "minirnn.lm": "minirnn.models.char_lm",
    "minirnn.forecast": "minirnn.models.forecaster",
    "minirnn.tasks": "minirnn.data",
    "minirnn.train": "minirnn.training.loop",
    "minirnn.checkpoint": "minirnn.training.checkpoint",
    "minirnn.experiments": "minirnn.training.recipes",
    "minirnn.vanishing": "minirnn.analysis.vanishing",
    "minirnn.gradchecks": "minirnn.analysis.gradient_suite",
    "minirnn.assignment": "minirnn.course",
    "minirnn.assignment.grader": "minirnn.course.grader",
    "minirnn.assignment.skeleton": "minirnn.course.skeleton",
}


class _OldPaths(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds an old path and hands back the module at its new one."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(MOVED[spec.name])
        spec.loader_state = module.__spec__  # the module's own spec, put back by exec_module
        return module

    def exec_module(self, module):
        """Nothing to run (the module was imported at its new path); give it back its own ``__spec__``, which
        the
        import system has just set to the old path's."""
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    """Put the finder on ``sys.meta_path`` once."""
    if not any(isinstance(finder, _OldPaths) for finder in sys.meta_path):
        sys.meta_path.insert(0, _OldPaths())
