"""Student skeletons and instructor solutions, generated from the source of ``minirnn/cells``.

The solution has one source: ``minirnn/cells/{rnn,lstm,gru}.py``. Both versions of a cell file are that module's text
with its relative import pointed at a stand-alone ``common.py`` (so the student installs only NumPy). In the student
version the body of every *part* (the functions listed in ``PARTS``) is replaced, with the ``ast`` module locating it,
by a ``# TODO`` hint and ``raise NotImplementedError``; the module docstring with the equations, the imports, the
signatures and every docstring with its shapes are kept. Functions that are not parts (``activate`` and
``activation_slope`` of the RNN; ``sigmoid``, ``as_step_mask`` and the two matrix products around the time loop,
``project_inputs`` and ``weight_gradients``, in ``common.py``) are given in full: the student writes the recurrence
and its backpropagation through time, which is what the assignment is about.

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

CELLS = ("rnn", "lstm", "gru")

# (part, points, hint) per cell, in the order of the file. The hints are prose only: no line of the solution.
PARTS = {
    "rnn": [
        ("step_forward", 1, "Project the input with W_ih and b_ih, then let recurrent_step finish the step. The cache "
                            "is yours to choose: keep whatever step_backward will need."),
        ("step_backward", 2, "Read 'Backward, one step' in the module docstring. activation_slope gives phi'(a) from "
                             "h alone. Each weight gradient has the shape of its weight; the two bias gradients are "
                             "equal."),
        ("recurrent_step", 2, "Add the recurrent term (h_prev times W_hh transposed, plus b_hh) to the projected input "
                              "and apply the nonlinearity with activate()."),
        ("forward", 2, "Project all T inputs with one matrix product before the loop; loop over t with recurrent_step. "
                       "With a mask, a padded row keeps its previous state and outputs zeros (as_step_mask turns the "
                       "(T, B) mask into 0/1 of shape (T, B, 1)). Return the cache that backward needs."),
        ("backward", 3, "Walk t from T-1 down to 0 carrying dh; at each step add dout[t], multiply by phi'. A padded row "
                        "passes its dh straight back, untouched. Collect the pre-activation gradients of all steps "
                        "and compute dx and the weight and bias gradients after the loop with matrix products."),
    ],
    "lstm": [
        ("step_forward", 1, "Project the input with W_ih and b_ih, then let recurrent_step finish the step. The cache "
                            "is yours to choose: keep whatever step_backward will need."),
        ("step_backward", 1, "recurrent_step_backward gives the pre-activation gradient da; from it, the input and the "
                             "weight and bias gradients are matrix products and sums over the batch."),
        ("recurrent_step", 3, "Compute the (B, 4H) pre-activations, split them in four blocks of H columns in the order "
                              "i, f, g, o, apply sigmoid or tanh, then update c and h as in the docstring. Return the "
                              "cache exactly as documented: recurrent_step_backward is graded with it."),
        ("recurrent_step_backward", 1, "gate_gradients does the elementwise work; the gradient reaching h_prev goes "
                                       "back through W_hh."),
        ("gate_gradients", 4, "Follow 'Backward, one step' in the module docstring line by line: the gradient reaching "
                              "c has two sources (dc and the path through h). Each gate's pre-activation gradient is "
                              "its gradient times the derivative of its nonlinearity; concatenate them in the order i, "
                              "f, g, o."),
        ("forward", 2, "Project all T inputs with one matrix product before the loop; loop over t with recurrent_step, "
                       "keeping the states, gates and tanh(c) of every step for backward. With a mask, a padded row "
                       "keeps h and c and outputs zeros (as_step_mask makes the mask (T, B, 1) of 0/1)."),
        ("backward", 3, "Walk t from T-1 down to 0 carrying dh and dc; add dout[t] to dh; use gate_gradients for the "
                        "step. A padded row passes dh and dc straight back. Compute dx and the weight and bias "
                        "gradients after the loop from the pre-activation gradients of all steps."),
    ],
    "gru": [
        ("step_forward", 1, "Project the input with W_ih and b_ih, then let recurrent_step finish the step. The cache "
                            "is yours to choose: keep whatever step_backward will need."),
        ("step_backward", 1, "recurrent_step_backward gives the gradients of the two projections; note that W_ih and "
                             "W_hh (and b_ih and b_hh) get different ones, because r multiplies only the hidden "
                             "projection of n."),
        ("recurrent_step", 3, "Project h_prev with W_hh and b_hh and split both projections in blocks r, z, n of H "
                              "columns. The reset gate multiplies the hidden block of n (bias included) before tanh. "
                              "Return h, the gates [r, z, n] concatenated and the hidden block of n, as documented."),
        ("recurrent_step_backward", 1, "gate_gradients does the elementwise work; add the path through W_hh to the "
                                       "direct shortcut."),
        ("gate_gradients", 4, "Follow 'Backward, one step' in the module docstring: dh reaches n through (1 - z) and z "
                              "through (h_prev - n); r's gradient comes from the hidden block of n. The two returned "
                              "(B, 3H) arrays differ only in the n block, which the hidden side sees multiplied by r."),
        ("forward", 2, "Project all T inputs with one matrix product before the loop; loop over t with recurrent_step, "
                       "keeping states, gates and the hidden block of n for backward. With a mask, a padded row keeps "
                       "its state and outputs zeros (as_step_mask makes the mask (T, B, 1) of 0/1)."),
        ("backward", 3, "Walk t from T-1 down to 0 carrying dh; add dout[t]; use recurrent_step_backward for the step. "
                        "A padded row passes dh straight back. Compute dx and the weight and bias gradients after the "
                        "loop; W_ih and W_hh get different pre-activation gradients."),
    ],
}

COMMON_FILE = "common.py"


def part_names(cell: str) -> list[str]:
    """The graded functions of ``cell`` in file order, e.g. ``part_names("rnn")[0] == "step_forward"``."""
    _check_cell(cell)
    return [name for name, _, _ in PARTS[cell]]


def _check_cell(cell: str) -> None:
    if cell not in CELLS:
        raise ValueError(f"cell must be one of {CELLS}, got {cell!r}")


def reference_module(cell: str):
    """The reference module ``minirnn.cells.<cell>``."""
    _check_cell(cell)
    from minirnn import cells
    return getattr(cells, cell)


def _header(cell: str, solution: bool) -> str:
    if solution:
        return (f"# minirnn assignment, INSTRUCTOR'S SOLUTION: {cell}.py, generated from minirnn/cells/{cell}.py.\n"
                f"# Do not hand this file out.\n")
    parts = ", ".join(f"{name} ({points} pt)" for name, points, _ in PARTS[cell])
    return ("# minirnn assignment: implement every function whose body says TODO. Needs only NumPy.\n"
            + "\n".join("# " + line for line in textwrap.wrap(f"Graded parts: {parts}.", 115)) + "\n"
            "# Keep the names, the arguments and the return values that the docstrings describe.\n")


def _stub(cell: str, name: str, hint: str, indent: str) -> list[str]:
    lines = textwrap.wrap(f"TODO: implement {name}. {hint}", 110 - len(indent))
    out = [f"{indent}# {lines[0]}"] + [f"{indent}#   {line}" for line in lines[1:]]
    out.append(f'{indent}raise NotImplementedError("{cell}.{name} is not written yet")')
    return out


def render_cell(cell: str, solution: bool = False) -> str:
    """The text of the student's (``solution=False``) or the instructor's ``<cell>.py``.

    Both are the source of ``minirnn/cells/<cell>.py`` with ``from ._common import`` changed to ``from common import``;
    the student's version has each part's body (everything after its docstring) replaced by a TODO stub.
    """
    _check_cell(cell)
    source = inspect.getsource(reference_module(cell))
    lines = source.splitlines()
    tree = ast.parse(source)
    hints = {name: hint for name, _, hint in PARTS[cell]}
    replacements = []                                                # (first line, last line, new lines), 1-based
    for node in tree.body:
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            names = ", ".join(alias.name for alias in node.names)
            replacements.append((node.lineno, node.end_lineno, [f"from common import {names}"]))
        elif isinstance(node, ast.FunctionDef) and node.name in hints and not solution:
            body = node.body
            if ast.get_docstring(node) is not None:
                body = body[1:]
            first = body[0].lineno
            indent = lines[first - 1][: len(lines[first - 1]) - len(lines[first - 1].lstrip())]
            replacements.append((first, node.end_lineno, _stub(cell, node.name, hints[node.name], indent)))
    missing = set(hints) - {n.name for n in tree.body if isinstance(n, ast.FunctionDef)}
    if missing:
        raise RuntimeError(f"minirnn/cells/{cell}.py has no function(s) {sorted(missing)} named in PARTS")
    for first, last, new in sorted(replacements, reverse=True):
        lines[first - 1:last] = new
    return _header(cell, solution) + "\n".join(lines) + "\n"


def render_common() -> str:
    """``common.py``: ``minirnn/cells/_common.py`` given in full (sigmoid, as_step_mask, project_inputs, weight_gradients)."""
    from minirnn.cells import _common
    return "# minirnn assignment: helpers given in full (from minirnn/cells/_common.py). Nothing to do here.\n" + \
        inspect.getsource(_common)


def render_readme(cells, solution: bool) -> str:
    """Instructions for the folder: the parts with their points, how to check and how it is graded."""
    rows = [f"| `{cell}.py` | `{name}` | {points} |" for cell in cells for name, points, _ in PARTS[cell]]
    total = sum(points for cell in cells for _, points, _ in PARTS[cell])
    title = "Solution (instructors only)" if solution else "Assignment"
    return "\n".join([
        f"# Recurrent networks by hand: {title}",
        "",
        "Write the forward and backward passes of " + ", ".join(c.upper() for c in cells) + " in NumPy. Every "
        "function whose body says `TODO` is a graded part; read the module docstring (the equations) and each "
        "function's docstring (the shapes) first. `common.py` is given. You need only NumPy.",
        "",
        "| file | part | points |",
        "|---|---|---|",
        *rows,
        f"| | total | {total} |",
        "",
        "Each part is compared with the reference implementation on fixed and random inputs (float64, relative "
        "error at most 1e-8), backward passes are also checked with finite differences of your own forward, and "
        "the functions a part calls are swapped for the reference while it is graded, so a bug costs only the part "
        "it is in. Except: `step_backward` runs on the cache of your `step_forward`, and `backward` on the cache of "
        "your `forward`, so a forward bug can also cost its backward. Grading: `minirnn assignment grade <this folder>`.",
        "",
    ])


def write_assignment(out, cells=CELLS, with_solution: bool = False, overwrite: bool = False) -> list[Path]:
    """Write ``<cell>.py`` for each cell, ``common.py`` and ``README.md`` into the folder ``out``; returns the paths.

    Args:
        out: the folder (created if missing).
        cells: any of ``"rnn"``, ``"lstm"``, ``"gru"``.
        with_solution: write the instructor's version (reference bodies) instead of TODO stubs.
        overwrite: replace files that exist; otherwise an existing file is an error and nothing is written.

    Example:
        >>> import tempfile
        >>> paths = write_assignment(tempfile.mkdtemp(), cells=("rnn",))
        >>> sorted(p.name for p in paths)
        ['README.md', 'common.py', 'rnn.py']
    """
    cells = tuple(cells)
    for cell in cells:
        _check_cell(cell)
    if not cells:
        raise ValueError("cells must name at least one of ('rnn', 'lstm', 'gru'), got an empty list")
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise NotADirectoryError(f"out must be a folder, got the file {out}")
    files = {f"{cell}.py": render_cell(cell, solution=with_solution) for cell in cells}
    files[COMMON_FILE] = render_common()
    files["README.md"] = render_readme(cells, with_solution)
    existing = [name for name in files if (out / name).exists()]
    if existing and not overwrite:
        raise FileExistsError(f"out folder {out} already has {', '.join(existing)}; choose another folder or "
                              f"pass overwrite=True (--force) to replace them")
    out.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, text in files.items():
        (out / name).write_text(text)
        paths.append(out / name)
    return paths
