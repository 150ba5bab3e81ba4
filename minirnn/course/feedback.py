"""Turning the sandbox's outputs into marks and into sentences a student learns from.

:func:`compare` finds the worst entry of a part's outputs against the reference (which output, which entry,
which input case); :func:`explain` says which line of the forward equations (or which quantity) that output
is, and which gate's block the entry lies in; :func:`gradient_verdict` compares the student's backward with
central differences of the student's own forward (both reported by the sandbox; the comparison is made here).

Example:
    >>> import numpy as np
    >>> compare([{"c": np.array([[1.0, 2.0]])}], [{"c": np.array([[1.0, 2.5]])}], ["fixed 1 (B=1, I=3, H=2)"])
    (0.1111111111111111, 'c[0, 1] in fixed 1 (B=1, I=3, H=2)')
    >>> explain("lstm", "c[0, 1] in fixed 1")
    'c is the line `c = f * c_prev + i * g` of the forward equations'
"""

from __future__ import annotations

import inspect
import re

import numpy as np

from ..cells import registry
from .sandbox_child import Mismatch

TOLERANCE = 1e-8  # largest relative error that passes
GRADCHECK_RTOL = 1e-5  # |a - n| <= atol + rtol max(|a|, |n|), as in gradcheck.check_gradients


def compare(student: list, reference: list, labels: list):
    """Worst relative error ``|s - r| / max(|s| + |r|, 1e-6 max|r|)`` over all cases and outputs -> ``(error,
    where)``.

    ``student`` and ``reference`` hold one dict of outputs per case; a value of the wrong kind or shape raises
    Mismatch (the part fails with that sentence).
    """
    worst, where = 0.0, ""
    for got, expected, label in zip(student, reference, labels):
        for name, r in expected.items():
            r = np.asarray(r, dtype=np.float64)
            try:
                s = np.asarray(got[name], dtype=np.float64)
            except (TypeError, ValueError, KeyError) as e:
                raise Mismatch(
                    f"{name} is not an array of numbers ({type(got.get(name)).__name__}): {e}"
                ) from None
            if s.shape != r.shape:
                raise Mismatch(f"{name} has shape {s.shape}, expected {r.shape}, in {label}")
            if r.size == 0:
                continue
            floor = max(1e-6 * float(np.abs(r).max()), 1e-300)
            with np.errstate(invalid="ignore", over="ignore"):
                rel = np.abs(s - r) / np.maximum(np.abs(s) + np.abs(r), floor)
            rel = np.where(np.isfinite(s), rel, np.inf)
            k = np.unravel_index(int(np.argmax(rel)), rel.shape)
            if rel[k] > worst or not where:
                worst = float(rel[k])
                index = "" if r.ndim == 0 else "[" + ", ".join(str(int(i)) for i in k) + "]"
                where = f"{name}{index} in {label}"
    return worst, where


def output_of(where: str) -> str:
    """``"dc_prev"`` from ``"dc_prev[1, 2] in random 1 (...)"`` (and from ``"gradcheck: dc_prev[...]"``)."""
    return re.split(r"[\[ ]", where.replace("gradcheck: ", ""), maxsplit=1)[0]


def _forward_lines(cell) -> list[str]:
    doc = inspect.getdoc(cell.implementation("numpy")) or ""
    block = doc.split("Forward, one step", 1)[-1].split("Backward", 1)[0]
    return [line.strip() for line in block.splitlines() if "=" in line]


def _block(cell, name: str, where: str) -> str:
    """``", in the f block (columns 4..7)"`` for an entry of a (B, G*H) array of gate blocks; else ""."""
    match = re.search(r"\[(\d+), (\d+)\]", where)
    if (
        not match
        or not re.search(r"H=(\d+)", where)
        or name not in ("gates", "da", "dx_proj", "dh_proj", "db_ih", "db_hh", "dW_ih", "dW_hh")
    ):
        return ""
    H = int(re.search(r"H=(\d+)", where).group(1))
    column = int(match.group(2)) if not name.startswith(("dW", "db")) else int(match.group(1))
    gate = cell.gates[min(column // H, cell.num_gates - 1)]
    return f", in the {gate} block (rows/columns {gate_slice(cell, gate, H)})" if cell.num_gates > 1 else ""


def gate_slice(cell, gate: str, H: int) -> str:
    """``"4..7"``: the indices of ``gate``'s block when the hidden size is H."""
    k = cell.gates.index(gate)
    return f"{k * H}..{(k + 1) * H - 1}"


def _squeeze(line: str) -> str:
    return re.sub(r" {2,}", " ", line.split("  (")[0]).strip()


def explain(cell_name: str, where: str) -> str:
    """What the output at ``where`` is: its line of the forward equations, or the quantity it is the gradient
    of."""
    cell = registry.get(cell_name)
    name = output_of(where)
    if not name:
        return ""
    lines = _forward_lines(cell)
    if name.startswith("d") and name[1:]:
        quantity = name[1:]
        target = {
            "a": "the pre-activations a",
            "x_proj": "x W_ih^T + b_ih",
            "h_proj": "h_prev W_hh^T + b_hh",
            "h_direct": "h_prev along the path that skips W_hh",
        }.get(quantity, quantity)
        text = f"{name} is the gradient of the loss with respect to {target}"
        token = rf"(?<![\w]){re.escape(quantity)}(?![\w])"
        uses = [line for line in lines if re.search(token, line.split("=", 1)[1])]
        defs = [line for line in lines if re.search(token, line.split("=", 1)[0])]
        if uses:
            text += f"; it flows back through `{_squeeze(uses[0])}`"
        elif defs:
            text += f", the left side of `{_squeeze(defs[0])}`"
        return text + _block(cell, name, where)
    for line in lines:
        left = line.split("=")[0]
        if re.search(rf"\b{re.escape(name)}\b", left):
            return f"{name} is the line `{_squeeze(line)}` of the forward equations" + _block(
                cell, name, where
            )
    if name == "gates":
        return f"gates holds {', '.join(cell.gates)} side by side" + _block(cell, name, where)
    if name in ("out", "h_n", "c_n"):
        return (
            f"{name}: the forward pass over the sequence (the last line of the step, with the padding rules)"
        )
    return ""


def gradient_verdict(analytic: dict, numeric: dict, check: dict, loss: float, eps: float = 1e-6):
    """The student's backward against central differences of the student's forward, along random directions.

    ``check["grads"]`` maps each input to the name of its gradient among the outputs (``{"x": "dx", ...}``),
    ``check["directions"]`` each input to the direction v; ``numeric[input]`` is the slope of the loss along
    v. Passes when ``|<a, v> - n| <= atol + rtol max(|<a, v>|, |n|)`` (gradcheck's rule, its default atol).
    Returns ``(worst relative error, name of the first failing gradient or "")``.
    """
    from gradcheck import default_atol

    atol = default_atol(loss, eps)
    worst, failing = 0.0, ""
    for wrt, name in check["grads"].items():
        a, v = np.asarray(analytic[name], dtype=np.float64), check["directions"][wrt]
        if a.shape != v.shape:
            return float("inf"), name
        slope, n = float(np.sum(a * v)), float(numeric[wrt])
        error = abs(slope - n) / max(abs(slope) + abs(n), 1e-8) if np.isfinite(slope) else float("inf")
        worst = max(worst, error)
        if not failing and not abs(slope - n) <= atol + GRADCHECK_RTOL * max(abs(slope), abs(n)):
            failing = name
    return worst, failing
