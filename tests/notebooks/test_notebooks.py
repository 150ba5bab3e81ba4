"""The notebooks: each runs top to bottom in a fresh kernel, and each committed .ipynb is the full run of its source.

Execution uses MINIRNN_SMALL=1 (the notebooks' own small-size switch: the same code on tiny sizes) and a temporary
working directory that must stay empty: a notebook writes no files. The committed notebooks were executed at full size
by ``python notebooks/build.py``; the tests check that they match their sources in ``notebooks/src``, show their
figures, begin with what they teach and end with exercises, and that the README's pictures were exported from them.
"""
from __future__ import annotations

import base64
import importlib.util
import json
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = ROOT / "notebooks"
PICTURES = ROOT / "docs" / "notebooks"
NAMES = ["01_rnn_cell", "02_bptt_and_gradcheck", "03_lstm_and_gru", "04_vanishing_gradients", "05_char_rnn",
         "06_forecasting", "07_from_pytorch_and_keras", "08_video_classification", "09_reinforcement_learning",
         "10_seq2seq_attention"]
CELL_TIMEOUT = 120            # seconds per cell; a small run takes a few seconds per notebook


def _build():
    """notebooks/build.py as a module (it is a script, not part of the package)."""
    spec = importlib.util.spec_from_file_location("notebooks_build", NOTEBOOKS / "build.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


build = _build()


def _committed(name):
    with open(NOTEBOOKS / f"{name}.ipynb", encoding="utf-8") as fh:
        return json.load(fh)


def _text(cell):
    return "".join(cell["source"]) if isinstance(cell["source"], list) else cell["source"]


def _images(nb):
    return [o["data"]["image/png"] for c in nb["cells"] if c["cell_type"] == "code" for o in c.get("outputs", [])
            if "image/png" in o.get("data", {})]


def test_every_source_has_a_notebook_and_the_list_is_complete():
    assert build.names() == NAMES
    assert sorted(p.stem for p in NOTEBOOKS.glob("[0-9][0-9]_*.ipynb")) == NAMES


@pytest.mark.parametrize("name", NAMES)
def test_notebook_runs_top_to_bottom_in_a_fresh_kernel_at_small_size(name, tmp_path):
    needed = ["nbclient", "ipykernel"] + (["torch", "keras"] if name.startswith("07") else [])
    missing = [module for module in needed if importlib.util.find_spec(module) is None]
    assert not missing, f"{name} needs {missing}: install the test extra, pip install '.[test]'"
    nb = build.notebook(name)
    env = dict(os.environ, MPLBACKEND="module://matplotlib_inline.backend_inline")
    env.setdefault("KERAS_BACKEND", "torch")
    build.run(nb, small=True, cwd=tmp_path, timeout=CELL_TIMEOUT, env=env)   # raises CellExecutionError on any error
    outputs = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "error"]
    assert "sizes: small" in "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    assert _images(nb), f"{name} drew no figure in the small run"
    assert list(tmp_path.iterdir()) == [], f"{name} wrote files into its working directory"


@pytest.mark.parametrize("name", NAMES)
def test_committed_notebook_is_its_source_run_at_full_size(name):
    nb = _committed(name)
    source = build.notebook(name)
    assert [(c["cell_type"], _text(c)) for c in nb["cells"]] == [(c.cell_type, c.source) for c in source.cells], \
        f"{name}.ipynb differs from notebooks/src/{name}.py: run python notebooks/build.py {name[:2]}"
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert all(c.get("execution_count") for c in code), f"{name}.ipynb has cells that were not run"
    outputs = [o for c in code for o in c.get("outputs", [])]
    assert not [o for o in outputs if o["output_type"] == "error"]
    printed = "".join(_text({"source": o.get("text", "")}) for o in outputs if o["output_type"] == "stream")
    assert "sizes: full" in printed, f"{name}.ipynb was not run at full size"
    assert (NOTEBOOKS / f"{name}.ipynb").stat().st_size < 1_000_000


@pytest.mark.parametrize("name", NAMES)
def test_notebook_begins_with_what_it_teaches_ends_with_exercises_and_shows_figures(name):
    nb = _committed(name)
    first, last = nb["cells"][0], nb["cells"][-1]
    assert first["cell_type"] == "markdown" and "## What you will learn" in _text(first)
    assert last["cell_type"] == "markdown" and "## Exercises" in _text(last)
    assert len(_images(nb)) >= 1, f"{name}.ipynb has no figure in its outputs"


@pytest.mark.parametrize("name", NAMES)
def test_readme_picture_is_the_notebooks_own_figure(name):
    picture = PICTURES / f"{name}.png"
    data = picture.read_bytes()
    assert data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) < 200_000
    assert data in [base64.b64decode(image) for image in _images(_committed(name))]
