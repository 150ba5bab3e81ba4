"""Every docstring example in minirnn and gradcheck runs and prints what it says (the README promises examples)."""
import doctest
import importlib
import os
import pkgutil

import pytest

os.environ.setdefault("KERAS_BACKEND", "torch")   # interop's Keras examples

import gradcheck  # noqa: E402
import minirnn  # noqa: E402

MODULES = sorted(m.name for pkg in (minirnn, gradcheck)
                 for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")
                 if not m.name.endswith("__main__"))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                   # examples that write files write them here
    result = doctest.testmod(importlib.import_module(name), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{result.failed} of {result.attempted} docstring examples failed in {name}"


def test_every_public_function_has_a_docstring():
    missing = []
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if attr.startswith("_") or getattr(value, "__module__", None) != name:
                continue
            if callable(value) and not (value.__doc__ or "").strip():
                missing.append(f"{name}.{attr}")
    assert not missing, f"public functions/classes without a docstring: {missing}"
