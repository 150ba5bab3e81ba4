"""Student skeletons and instructor solutions, generated from the source of ``minirnn/cells``.

The solution has one source: ``minirnn/cells/{rnn,lstm,gru}.py``. Both versions of a cell file are that
module's text with its relative import pointed at a stand-alone ``common.py`` (so the student installs only
NumPy). In the student version the body of every *part* (the functions listed in ``PARTS``) is replaced, with
the ``ast`` module locating it, by a ``# TODO`` hint and ``raise NotImplementedError``; the module docstring
with the equations, the imports, the signatures and every docstring with its shapes are kept. Functions that
are not parts (``activate`` and ``activation_slope`` of the RNN; ``sigmoid``, ``as_step_mask`` and the two
matrix products around the time loop, ``project_inputs`` and ``weight_gradients``, in ``common.py``) are given
in
full: the student writes the recurrence and its backpropagation through time, which is what the assignment is
    about.

Example:
    >>> text = render_cell("gru", solution=False)
    >>> "raise NotImplementedError" in text and "import minirnn" not in text
    True
"""

from __future__ import annotations

import ast
import inspect
import textwrap
from pathlib import Path

from .parts import BACKWARD_NOTE, FORWARD_ONLY_DOCS, HINT_LEVELS, WITHHELD, hint
from .parts import CELLS, PARTS, check_cell as _check_cell, part_names  # noqa: F401 - the old names

COMMON_FILE = "common.py"


def reference_module(cell: str):
    """The reference module ``minirnn.cells.<cell>``."""
    _check_cell(cell)
    from minirnn import cells

    return getattr(cells, cell)


def _header(cell: str, solution: bool) -> str:
    if solution:
        return (
            f"# minirnn assignment, INSTRUCTOR'S SOLUTION: {cell}.py, generated from "
            f"minirnn/cells/{cell}.py.\n"
            f"# Do not hand this file out.\n"
        )
    parts = ", ".join(f"{name} ({points} pt)" for name, points, _ in PARTS[cell])
    return (
        "# minirnn assignment: implement every function whose body says TODO. Needs only NumPy.\n"
        + "\n".join("# " + line for line in textwrap.wrap(f"Graded parts: {parts}.", 115))
        + "\n"
        "# Keep the names, the arguments and the return values that the docstrings describe.\n"
    )


def _stub(cell: str, name: str, hint: str, indent: str) -> list[str]:
    lines = textwrap.wrap(f"TODO: implement {name}. {hint}", 110 - len(indent))
    out = [f"{indent}# {lines[0]}"] + [f"{indent}#   {line}" for line in lines[1:]]
    out.append(f'{indent}raise NotImplementedError("{cell}.{name} is not written yet")')
    return out


def _docstring_lines(node, lines, replacement: list[str]) -> tuple:
    """(first, last, new lines) that put ``replacement`` (unindented text lines) in place of ``node``'s
    docstring."""
    doc = node.body[0]
    indent = lines[doc.lineno - 1][: len(lines[doc.lineno - 1]) - len(lines[doc.lineno - 1].lstrip())]
    body = [indent + '"""' + replacement[0]] + [indent + line if line else "" for line in replacement[1:]]
    return doc.lineno, doc.end_lineno, body[:-1] + [body[-1] + '"""'] if len(body) > 1 else [body[0] + '"""']


def _student_edits(cell: str, tree, lines, hints: str) -> list:
    """The replacements that make the student's version: stubs, withheld helpers, and (hints "forward")
    docstrings."""
    edits = []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in part_names(cell):
            body = node.body[1:] if ast.get_docstring(node) is not None else node.body
            first = body[0].lineno
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            edits.append(
                (first, node.end_lineno, _stub(cell, node.name, hint(cell, node.name, hints), indent))
            )
            doc = FORWARD_ONLY_DOCS.get(cell, {}).get(node.name)
            if doc and hints == "forward":
                edits.append(_docstring_lines(node, lines, textwrap.wrap(doc, 100)))
        elif isinstance(node, ast.FunctionDef) and node.name in WITHHELD:
            edits.append((node.lineno, node.end_lineno, []))
    module_doc = ast.get_docstring(tree, clean=False)
    if hints == "forward" and module_doc and "Backward, one step" in module_doc:
        kept = module_doc.split("Backward, one step")[0].rstrip().splitlines()
        edits.append(
            (
                tree.body[0].lineno,
                tree.body[0].end_lineno,
                ['"""' + kept[0], *kept[1:], "", *textwrap.wrap(BACKWARD_NOTE, 115), '"""'],
            )
        )
    return edits


def render_cell(cell: str, solution: bool = False, hints: str = "forward") -> str:
    """The text of the student's (``solution=False``) or the instructor's ``<cell>.py``.

    Both are the source of ``minirnn/cells/<cell>.py`` with ``from ._common import`` changed to ``from common
    import``; the student's version has each part's body (everything after its docstring) replaced by a TODO
    stub and no ``backward_step``. With ``hints="forward"`` (the default) its docstrings keep the forward
    equations, the shapes and what each backward returns, not the backward equations; ``hints="backward"``
    keeps those too.
    """
    _check_cell(cell)
    if hints not in HINT_LEVELS:
        raise ValueError(f"hints must be one of {HINT_LEVELS}, got {hints!r}")
    source = inspect.getsource(reference_module(cell))
    lines = source.splitlines()
    tree = ast.parse(source)
    replacements = [] if solution else _student_edits(cell, tree, lines, hints)  # (first, last, new), 1-based
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = ", ".join(alias.name for alias in node.names)
            replacements.append((node.lineno, node.end_lineno, [f"from common import {names}"]))
    missing = set(part_names(cell)) - {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if missing:
        raise RuntimeError(f"minirnn/cells/{cell}.py has no function(s) {sorted(missing)} named in PARTS")
    for first, last, new in sorted(replacements, reverse=True):
        lines[first - 1 : last] = new
    return _header(cell, solution) + "\n".join(lines) + "\n"


def render_common() -> str:
    """``common.py``: ``minirnn/cells/_common.py`` given in full (sigmoid, as_step_mask, project_inputs,
    weight_gradients)."""
    from minirnn.cells import _common
    from .notebook import SELF_CHECK_CODE

    return (
        "# minirnn assignment: helpers given in full (from minirnn/cells/_common.py). Nothing to do here.\n"
        + inspect.getsource(_common)
        + SELF_CHECK_CODE
    )


README_INTRO = (
    "Write the forward and backward passes of {cells} in NumPy. Every function whose body says "
    "`TODO` is a graded part; read the module docstring (the equations) and each function's "
    "docstring (the shapes) first. `common.py` is given. You need only NumPy."
)
README_GRADING = (
    "Each part is compared with the reference implementation on fixed and random inputs (float64, "
    "relative error at most 1e-8), backward passes are also checked with finite differences of "
    "your own forward, and the helpers a part calls are answered by the reference while it is "
    "graded, so a bug costs only the part it is in. Except: `step_backward` runs on the cache of "
    "your `step_forward`, and `backward` on the cache of your `forward`, so a forward bug can also "
    "cost its backward. Your code runs in a separate process with NumPy, the standard library and "
    "`common.py` (your own `common.py` is replaced by the kit's). Grading: `minirnn assignment "
    "grade <this folder>`."
)


def render_readme(cells, solution: bool) -> str:
    """Instructions for the folder: the parts with their points, how to check and how it is graded."""
    rows = [f"| `{cell}.py` | `{name}` | {points} |" for cell in cells for name, points, _ in PARTS[cell]]
    total = sum(points for cell in cells for _, points, _ in PARTS[cell])
    title = "Solution (instructors only)" if solution else "Assignment"
    intro = README_INTRO.format(cells=", ".join(c.upper() for c in cells))
    return "\n".join(
        [
            f"# Recurrent networks by hand: {title}",
            "",
            intro,
            "",
            "| file | part | points |",
            "|---|---|---|",
            *rows,
            f"| | total | {total} |",
            "",
            README_GRADING,
            "",
        ]
    )


FORMATS = ("py", "notebook")


def write_assignment(
    out,
    cells=CELLS,
    with_solution: bool = False,
    overwrite: bool = False,
    hints: str = "forward",
    format: str = "py",
) -> list[Path]:
    """Write ``<cell>.py`` (or ``<cell>.ipynb``) for each cell, ``common.py`` and ``README.md`` into ``out``.

    Args:
        out: the folder (created if missing).
        cells: any of ``"rnn"``, ``"lstm"``, ``"gru"``.
        with_solution: write the instructor's version (reference bodies) instead of TODO stubs.
        overwrite: replace files that exist; otherwise an existing file is an error and nothing is written.
        hints: ``"forward"`` (forward equations, shapes, what each backward returns) or ``"backward"`` (also
            the backward equations: the easier version).
        format: ``"py"`` or ``"notebook"`` (one Jupyter notebook per cell, nbgrader-style solution markers).

    Example:
        >>> import tempfile
        >>> paths = write_assignment(tempfile.mkdtemp(), cells=("rnn",))
        >>> sorted(p.name for p in paths)
        ['README.md', 'common.py', 'rnn.py']
    """
    from .notebook import render_notebook

    cells = tuple(cells)
    for cell in cells:
        _check_cell(cell)
    if not cells:
        raise ValueError("cells must name at least one of ('rnn', 'lstm', 'gru'), got an empty list")
    if format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}, got {format!r}")
    if hints not in HINT_LEVELS:
        raise ValueError(f"hints must be one of {HINT_LEVELS}, got {hints!r}")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out must be a folder, got the file {out}")
    if format == "py":
        files = {f"{cell}.py": render_cell(cell, solution=with_solution, hints=hints) for cell in cells}
    else:
        files = {
            f"{cell}.ipynb": render_notebook(cell, solution=with_solution, hints=hints) for cell in cells
        }
    files[COMMON_FILE] = render_common()
    files["README.md"] = render_readme(cells, with_solution)
    existing = [name for name in files if (out / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(
            f"out folder {out} already has {', '.join(existing)}; choose another folder or "
            f"pass overwrite=True (--force) to replace them"
        )
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        (out / name).write_text(text)
        paths.append(out / name)
    return paths
