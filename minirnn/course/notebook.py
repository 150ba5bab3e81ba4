"""The notebook form of an assignment: one Jupyter notebook per cell, written as JSON (nothing is executed).

A notebook holds the explanation (the module docstring) in Markdown, the imports, one code cell per function
(the parts between ``### BEGIN SOLUTION`` / ``### END SOLUTION`` in the instructor's version, as nbgrader
marks them; TODO stubs in the student's), and a last self-check cell: the public check, which runs the
student's own ``forward`` and ``backward`` and compares the gradients with central differences of that
forward (no reference involved). ``grade`` reads back only the code cells (``submissions.notebook_code``).

Example:
    >>> import json
    >>> nb = json.loads(render_notebook("rnn", solution=True))
    >>> sources = ["".join(c["source"]) for c in nb["cells"]]
    >>> nb["metadata"]["minirnn"]["cell"], sum("### BEGIN SOLUTION" in s for s in sources)
    ('rnn', 5)
"""

from __future__ import annotations

import ast
import json

from ..cells import registry
from .parts import part_names
from .skeleton import render_cell

SELF_CHECK_MARK = "# Self-check (public)"
SELF_CHECK = (
    SELF_CHECK_MARK
    + """: your backward against finite differences of your own forward. Not the grade.
from common import self_check
self_check(globals(), states={states!r}, gates={gates})
"""
)

# Appended to the student's common.py: the public check the notebook's last cell runs (NumPy only).
SELF_CHECK_CODE = '''

def self_check(namespace, states=("h",), gates=1, seed=0, eps=1e-6):
    """Public check: forward's shapes, and backward against central differences of your own forward."""
    rng = np.random.default_rng(seed)
    T, B, I, H = 4, 3, 2, 3
    x = rng.normal(size=(T, B, I))
    s0 = [0.5 * rng.normal(size=(B, H)) for _ in states]
    w = [rng.normal(size=s) * 0.5 for s in [(gates * H, I), (gates * H, H), (gates * H,), (gates * H,)]]
    ups = [rng.normal(size=(T, B, H))] + [rng.normal(size=(B, H)) for _ in states]
    forward, backward = namespace["forward"], namespace["backward"]

    def loss(p):
        res = forward(*p)
        return sum(float(np.sum(np.asarray(r) * u)) for r, u in zip(res[:-1], ups))

    params = [x, *s0, *w]
    res = forward(*params)
    shapes = [np.shape(r) for r in res[:-1]]
    expected = [(T, B, H)] + [(B, H)] * len(states)
    assert shapes == expected, f"forward's outputs have shapes {shapes}, expected {expected}"
    grads = backward(*ups, res[-1])
    names = ["x", *(s + "0" for s in states), "W_ih", "W_hh", "b_ih", "b_hh"]
    for k, name in enumerate(names):
        v = rng.normal(size=params[k].shape)
        moved = [[p + step * v if j == k else p for j, p in enumerate(params)] for step in (eps, -eps)]
        numeric = (loss(moved[0]) - loss(moved[1])) / (2 * eps)
        analytic = float(np.sum(np.asarray(grads[name]) * v))
        error = abs(numeric - analytic) / max(abs(numeric) + abs(analytic), 1e-8)
        print(f"d{name:5s} relative error {error:.1e}  {'ok' if error < 1e-5 else 'WRONG'}")
'''


def _cell(kind: str, text: str) -> dict:
    cell = {"cell_type": kind, "metadata": {}, "source": text.splitlines(keepends=True)}
    if kind == "code":
        cell.update(outputs=[], execution_count=None)
    return cell


def _mark_solution(source: str, node: ast.FunctionDef) -> str:
    """The function's text with its body (after the docstring) between the nbgrader markers."""
    lines = source.splitlines()
    body = node.body[1:] if ast.get_docstring(node) is not None else node.body
    first, last = body[0].lineno - node.lineno, node.end_lineno - node.lineno
    indent = " " * body[0].col_offset
    return "\n".join(
        lines[:first]
        + [indent + "### BEGIN SOLUTION"]
        + lines[first : last + 1]
        + [indent + "### END SOLUTION"]
        + lines[last + 1 :]
    )


def render_notebook(cell: str, solution: bool = False, hints: str = "forward") -> str:
    """The notebook of ``cell`` as JSON text (instructor's with ``solution=True``)."""
    text = render_cell(cell, solution=solution, hints=hints)
    tree = ast.parse(text)
    lines = text.splitlines()
    cells = [
        _cell(
            "markdown",
            f"# {cell}.ipynb\n\n```\n{ast.get_docstring(tree)}\n```\n\nWrite every function "
            f"whose cell says TODO; run the self-check at the end.",
        )
    ]
    imports = [n for n in tree.body if isinstance(n, (ast.Import, ast.ImportFrom))]
    cells.append(_cell("code", "\n".join(ast.get_source_segment(text, n) for n in imports)))
    for node in tree.body:
        if isinstance(node, ast.Assign):
            cells.append(_cell("code", ast.get_source_segment(text, node)))
        if isinstance(node, ast.FunctionDef):
            source = "\n".join(lines[node.lineno - 1 : node.end_lineno])
            if solution and node.name in part_names(cell):
                source = _mark_solution(source, node)
            cells.append(_cell("code", source))
    spec = registry.get(cell)
    cells.append(_cell("code", SELF_CHECK.format(states=spec.states, gates=spec.num_gates)))
    nb = {
        "cells": cells,
        "metadata": {
            "minirnn": {"cell": cell, "solution": solution, "hints": hints},
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        },
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(nb, indent=1) + "\n"
