"""Build the notebooks from their sources in ``notebooks/src/`` and run them: each .ipynb is committed with outputs.

    python notebooks/build.py                 # convert every source, run it top to bottom at full size, save it
    python notebooks/build.py 03 05           # only the notebooks whose names start with these
    python notebooks/build.py --no-run        # convert only (the .ipynb get no outputs)
    python notebooks/build.py --small         # run with MINIRNN_SMALL=1 (tiny sizes, as the tests do); saves nothing

A source is a Python file in the "percent" format (jupytext's, so editors that know it open it as a notebook):
``# %%`` starts a code cell, ``# %% [markdown]`` a markdown cell whose lines are comments (``# `` is stripped).
The cell marked ``# %% tags=["readme-figure"]`` gives the picture exported to ``docs/notebooks/<name>.png`` for the
README. Every notebook runs in a fresh kernel with a temporary working directory, so it cannot write into the
repository; ``tests/test_notebooks.py`` uses :func:`notebook` and :func:`run` from this file.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import re
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
SOURCES = HERE / "src"
PICTURES = HERE.parent / "docs" / "notebooks"
README_TAG = "readme-figure"
_MARKER = re.compile(r"^# %%(?P<md> \[markdown\])?(?: tags=(?P<tags>\[.*\]))?\s*$")


def names() -> list[str]:
    """The notebooks' names in reading order: ``01_rnn_cell``, ``02_bptt_and_gradcheck``, ..."""
    return sorted(p.stem for p in SOURCES.glob("[0-9][0-9]_*.py"))


def cells(source: str) -> list[dict]:
    """Split a percent-format source into cells: dicts ``kind`` ("code" | "markdown"), ``text``, ``tags``."""
    out, current = [], None
    for line in source.splitlines():
        m = _MARKER.match(line)
        if m:
            current = {"kind": "markdown" if m["md"] else "code", "lines": [],
                       "tags": json.loads(m["tags"]) if m["tags"] else []}
            out.append(current)
        elif current is None:
            if line.strip():
                raise ValueError(f"text before the first '# %%' marker: {line!r}")
        elif current["kind"] == "markdown":
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"a markdown line must start with '#': {line!r}")
            current["lines"].append(line[2:] if line.startswith("# ") else line[1:])
        else:
            current["lines"].append(line)
    return [{"kind": c["kind"], "text": "\n".join(c["lines"]).strip("\n"), "tags": c["tags"]} for c in out]


def notebook(name: str):
    """The notebook ``name`` built from ``src/<name>.py``, without outputs (an nbformat v4 NotebookNode)."""
    import nbformat
    from nbformat import v4

    nb = v4.new_notebook()
    for c in cells((SOURCES / f"{name}.py").read_text(encoding="utf-8")):
        new = v4.new_code_cell if c["kind"] == "code" else v4.new_markdown_cell
        cell = new(c["text"])
        if c["tags"]:
            cell.metadata["tags"] = c["tags"]
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["language_info"] = {"name": "python"}
    for i, cell in enumerate(nb.cells):           # stable ids keep the diffs of rebuilt notebooks small
        cell["id"] = f"{name[:2]}-{i:02d}"
    nbformat.validate(nb)
    return nb


def run(nb, *, small: bool, cwd, timeout: int = 600, env: dict | None = None):
    """Execute ``nb`` in place in a fresh ``python3`` kernel with working directory ``cwd``; returns it.

    ``small=True`` sets ``MINIRNN_SMALL=1`` (tiny sizes); ``False`` removes it (the full run). Raises
    ``nbclient.exceptions.CellExecutionError`` at the first cell that fails.
    """
    from nbclient import NotebookClient

    kernel_env = dict(os.environ if env is None else env)
    kernel_env.pop("MINIRNN_SMALL", None)
    if small:
        kernel_env["MINIRNN_SMALL"] = "1"
    kernel_env["PYDEVD_DISABLE_FILE_VALIDATION"] = "1"       # quiets a debugger warning in the kernel's stderr
    client = NotebookClient(nb, timeout=timeout, kernel_name="python3", record_timing=False,
                            resources={"metadata": {"path": str(cwd)}})
    client.execute(env=kernel_env, cwd=str(cwd))
    return nb


def readme_picture(nb) -> bytes:
    """The PNG shown by the cell tagged ``readme-figure`` (its first image)."""
    for cell in nb.cells:
        if README_TAG in cell.metadata.get("tags", []):
            for output in cell.get("outputs", []):
                data = output.get("data", {})
                if "image/png" in data:
                    return base64.b64decode(data["image/png"])
            raise ValueError(f"the cell tagged {README_TAG!r} has no image/png output")
    raise ValueError(f"no cell is tagged {README_TAG!r}")


def main(argv=None) -> int:
    import nbformat

    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("only", nargs="*", help="name prefixes, e.g. 03 (default: all)")
    parser.add_argument("--no-run", action="store_true", help="convert only, without outputs")
    parser.add_argument("--small", action="store_true", help="run with MINIRNN_SMALL=1 and save nothing")
    args = parser.parse_args(argv)
    chosen = [n for n in names() if not args.only or any(n.startswith(p) for p in args.only)]
    if not chosen:
        parser.error(f"no notebook matches {args.only}; there are {names()}")
    PICTURES.mkdir(parents=True, exist_ok=True)
    for name in chosen:
        nb = notebook(name)
        seconds = None
        if not args.no_run:
            with tempfile.TemporaryDirectory() as cwd:
                start = time.perf_counter()
                run(nb, small=args.small, cwd=cwd)
                seconds = time.perf_counter() - start
                left = os.listdir(cwd)
            if left:
                print(f"{name}: the notebook wrote {left} into its working directory", file=sys.stderr)
                return 1
        if args.small:
            print(f"{name}: small run {seconds:.1f} s")
            continue
        path = HERE / f"{name}.ipynb"
        nbformat.write(nb, str(path))
        line = f"{name}: wrote {path.relative_to(HERE.parent)} ({path.stat().st_size / 1e3:.0f} kB)"
        if seconds is not None:
            picture = PICTURES / f"{name}.png"
            picture.write_bytes(readme_picture(nb))
            size = picture.stat().st_size / 1e3
            line += f", full run {seconds:.1f} s, {picture.relative_to(HERE.parent)} ({size:.0f} kB)"
        print(line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
