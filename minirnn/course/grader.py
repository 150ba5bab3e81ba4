"""The grader: runs a student's cell files in a sandbox, checks every part against ``minirnn/cells`` and
scores it.

Where each thing happens:

* in the grader's process (student code never runs here): the inputs (``cases.py``), the reference outputs
  (``minirnn/cells``), the answers of the reference helpers a part calls, the comparison and the marks;
* in the sandbox (``sandbox.py``): the student's module is imported from a copy of their folder, and each
  part is called on its cases; only plain data comes back. One sandbox serves the parts of a cell in turn,
  helpers first, with every process a part started killed before the next one (``Sandbox.sweep``); a part
  that crashes or times out costs that part only (the tree is killed and a fresh sandbox takes the rest).

A part is graded on its own code: the helpers it calls (``parts.USES``) are answered by the reference, except
that ``step_backward`` runs on the cache of the student's ``step_forward`` and ``backward`` on the cache of
the student's ``forward``. Every output is compared with the reference on two fixed and three random cases
(float64, with and without padding, for the RNN with tanh and ReLU): relative error at most 1e-8. A backward
part must also match central differences of the student's own forward.

Example:
    >>> import tempfile
    >>> from minirnn.course import write_assignment
    >>> folder = tempfile.mkdtemp(); _ = write_assignment(folder, cells=("rnn",), with_solution=True)
    >>> result = grade(folder, timeout=30)
    >>> result.score, result.max_score, result.passed
    (10, 10, True)
"""

from __future__ import annotations

import time
from pathlib import Path

from ..cells import registry
from . import cases as casebook
from .feedback import TOLERANCE, compare, explain, gradient_verdict, output_of
from .isolation import check_sandbox
from .parts import CELLS, OWN_FORWARD, grading_order, part_names, points, task_spec
from .results import GradeResult, PartResult
from .sandbox import Sandbox, SandboxCrashed, SandboxTimeout
from .submissions import Submission, flags, load

DEFAULT_TIMEOUT = 10.0  # seconds per part
ERROR_STATUS = {"NotImplementedError": "todo", "Mismatch": "fail"}

__all__ = ["grade", "grade_submission", "GradeResult", "PartResult", "DEFAULT_TIMEOUT", "TOLERANCE"]


def _answer(reference, allowed):
    """The grader's side of a helper call: the reference function on the child's arguments (plain data
    only)."""

    def answer(message):
        name = message.get("function")
        if name not in allowed:
            return {"kind": "raise", "message": f"{name} is not available while this part is graded"}
        try:
            return {
                "kind": "return",
                "value": getattr(reference, name)(*message.get("args", ()), **message.get("kwargs", {})),
            }
        except Exception as e:  # noqa: BLE001 - bad arguments from the student
            return {"kind": "raise", "message": f"{name} raised {type(e).__name__}: {e}"}

    return answer


def _mark(cell: str, part: str, task: dict, cases: list, reply: dict) -> dict:
    """The fields of a PartResult from the sandbox's reply to one part."""
    if "error" in reply:
        error = reply["error"] if isinstance(reply["error"], dict) else {}
        kind, message = str(error.get("type", "error")), str(error.get("message", ""))[:2000]
        status = ERROR_STATUS.get(kind, "error")
        text = {"todo": f"NotImplementedError: {message}", "fail": message}.get(status, f"{kind}: {message}")
        if kind == "ImportError" and message.startswith("could not import"):
            text = message
        return {
            "status": status,
            "where": str(error.get("where", ""))[:200],
            "message": text,
            "max_rel_error": float("inf") if status == "fail" else None,
        }
    labels = [casebook.describe(c, sequence=part in ("forward", "backward")) for c in cases]
    outputs = reply.get("outputs")
    if (
        not isinstance(outputs, list)
        or len(outputs) != len(cases)
        or not all(isinstance(o, dict) for o in outputs)
    ):
        return {"status": "error", "message": "the grading process sent no outputs for this part"}
    worst, where = compare(outputs, casebook.reference_outputs(cell, task, cases), labels)
    fields = {"max_rel_error": worst, "where": where if worst > 0 else "", "status": "pass", "message": ""}
    if worst > TOLERANCE:
        fields.update(
            status="fail",
            message=f"{output_of(where)} differs from the reference (relative error "
            f"{worst:.1e}); " + explain(cell, where),
        )
    elif task["gradcheck"]:
        check = task["gradcheck"]
        numeric = reply.get("numeric")
        if not isinstance(numeric, dict) or not isinstance(reply.get("loss"), (int, float)):
            return {"status": "error", "message": "the grading process sent no finite differences"}
        error, failing = gradient_verdict(outputs[check["case"]], numeric, check, reply["loss"])
        fields["gradcheck_rel_error"] = error
        if failing:
            forward = OWN_FORWARD[part]
            fields.update(
                status="fail",
                where=f"gradcheck: {failing} along a random direction in {labels[check['case']]}",
                message=f"your gradients match the reference, but not finite differences of your "
                f"{forward} (gradcheck relative error {error:.1e}): is {forward}'s output wrong?",
            )
    return fields


def grade_cell(
    sub: Submission, cell: str, seed: int = 0, timeout: float = DEFAULT_TIMEOUT
) -> list[PartResult]:
    """Every part of one cell, helpers first, in as few sandboxes as crashes allow; results in file order."""
    reference = registry.get(cell).implementation("numpy")
    results, box = {}, None
    try:
        for part in grading_order(cell):
            task = task_spec(cell, part)
            cases = casebook.make_cases(cell, part, seed)
            keep = casebook.needed(task)
            if task["gradcheck"]:
                task["gradcheck"]["directions"] = casebook.directions(task, cases, seed)
            message = {**task, "cases": [{k: v for k, v in c.items() if k in keep} for c in cases]}
            start = time.perf_counter()
            try:
                if box is None:
                    box = Sandbox(files=sub.files)
                    box.start()
                reply = box.run(message, timeout, _answer(reference, task["oracles"]))
                box.sweep()  # nothing the part started outlives it
                fields = _mark(cell, part, task, cases, reply)
            except (SandboxTimeout, SandboxCrashed) as e:
                status = box.stop() if box is not None else None
                box.close()
                box = None
                fields = (
                    {
                        "status": "timeout",
                        "message": f"did not finish within {timeout:g} s (an endless loop?)",
                    }
                    if isinstance(e, SandboxTimeout)
                    else {
                        "status": "crashed",
                        "message": f"the grading process died (exit code {status}) while "
                        f"running {cell}.{part}: {e}",
                    }
                )
            except Exception as e:  # noqa: BLE001 - outputs of the wrong kind
                fields = {"status": "fail", "message": str(e), "max_rel_error": float("inf")}
            result = PartResult(
                cell, part, points(cell, part), seconds=round(time.perf_counter() - start, 3), **fields
            )
            result.points = result.max_points if result.status == "pass" else 0
            results[part] = result
    finally:
        if box is not None:
            box.close()  # the whole tree is gone before we return
    return [results[part] for part in part_names(cell)]


def grade_submission(
    sub: Submission, cells=None, seed: int = 0, timeout: float = DEFAULT_TIMEOUT
) -> GradeResult:
    """Grade a :class:`~minirnn.course.submissions.Submission` (see :func:`grade`)."""
    cells = sub.cells() if cells is None else list(cells)
    for cell in cells:
        if cell not in CELLS:
            raise ValueError(f"cells must be among {CELLS}, got {cell!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    check_sandbox()
    result = GradeResult(sub.name, seed, flags=flags(sub) + list(sub.notes))
    for cell in cells:
        if f"{registry.get(cell).module}.py" not in sub.files:
            result.parts += [
                PartResult(
                    cell,
                    part,
                    points(cell, part),
                    status="error",
                    message=f"{cell}.py (or {cell}.ipynb) is not in the submission",
                )
                for part in part_names(cell)
            ]
            continue
        result.parts += grade_cell(sub, cell, seed=seed, timeout=timeout)
    return result


def grade(folder, cells=None, seed: int = 0, timeout: float = DEFAULT_TIMEOUT) -> GradeResult:
    """Grade every part of every cell file in ``folder`` (or of ``cells``) -> ``GradeResult``.

    Args:
        folder: the student's folder (``rnn.py``, ``lstm.ipynb``, ...), a zip, or one ``.py``/``.ipynb`` file.
        cells: which cells to grade (default: those whose file is there); a listed cell without its file
        scores 0. seed: seed of the random inputs (the fixed inputs never change).
        timeout: seconds each part may take before it is stopped and reported as ``timeout``.
    """
    path = Path(folder)
    if not path.exists() or (path.is_file() and path.suffix not in (".py", ".ipynb", ".zip")):
        raise FileNotFoundError(
            f"folder must be an existing directory with the student's files, got {str(path)!r}"
            + (" (a file)" if path.exists() else " (it does not exist)")
        )
    sub = load(path)
    if cells is None and not sub.cells():
        more = [p.name for p in path.iterdir() if p.is_dir() or p.suffix == ".zip"] if path.is_dir() else []
        hint = (
            f"; it holds {len(more)} folders or zips: to grade a class, use `minirnn assignment grade-all "
            f"{path}`"
            if more
            else "; point it at the folder written by `minirnn assignment new`"
        )
        raise FileNotFoundError(
            f"folder {str(path)!r} holds none of rnn.py, lstm.py, gru.py (or their notebooks)" + hint
        )
    sub.name = str(folder)
    return grade_submission(sub, cells=cells, seed=seed, timeout=timeout)
