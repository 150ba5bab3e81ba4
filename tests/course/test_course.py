"""The course kit: skeletons carry no solution, the grader gives 0 / full marks / exactly the broken parts."""
from __future__ import annotations

import ast
import inspect
import json
import re
import textwrap

import pytest

from minirnn import cli
from minirnn import course as assignment
from minirnn.cli import assignment as assignment_cli
from minirnn.course import grade, write_assignment
from minirnn.assignment.skeleton import reference_module

TIMEOUT = 5.0
TOTAL = {"rnn": 10, "lstm": 15, "gru": 15}


def _norm(text: str) -> str:
    return re.sub(r"\s+", "", text)


def _body_lines(cell: str, part: str) -> list[str]:
    """Non-trivial lines of the reference body of ``part`` (comments stripped, whitespace removed, > 15
    chars)."""
    fn = getattr(reference_module(cell), part)
    tree = ast.parse(textwrap.dedent(inspect.getsource(fn))).body[0]
    source = textwrap.dedent(inspect.getsource(fn)).splitlines()
    start = tree.body[1].lineno if ast.get_docstring(tree) is not None else tree.body[0].lineno
    lines = [_norm(line.split("#")[0]) for line in source[start - 1:]]
    return [line for line in lines if len(line) > 15]


def _code_without_docstrings(text: str) -> str:
    """The file's own text with the lines of every docstring and every comment removed (what is left is
    code)."""
    lines = text.splitlines()
    for node in ast.walk(ast.parse(text)):
        if isinstance(node, (ast.Module, ast.FunctionDef)) and ast.get_docstring(node) is not None:
            doc = node.body[0]
            lines[doc.lineno - 1:doc.end_lineno] = [""] * (doc.end_lineno - doc.lineno + 1)
    return "\n".join(line.split("#")[0] for line in lines)


def _docstrings(module) -> str:
    return _norm(
        module.__doc__ + "".join(f.__doc__ or "" for _, f in inspect.getmembers(module, inspect.isfunction))
    )


@pytest.fixture(scope="module")
def skeleton(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student")
    write_assignment(folder)
    return folder


@pytest.fixture(scope="module")
def easy(tmp_path_factory):
    folder = tmp_path_factory.mktemp("student-easy")
    write_assignment(folder, hints="backward")
    return folder


@pytest.fixture(scope="module")
def solution(tmp_path_factory):
    folder = tmp_path_factory.mktemp("solution")
    write_assignment(folder, with_solution=True)
    return folder


def _copy_solution(solution, tmp_path, cell, old=None, new=None):
    """tmp_path with common.py and ``cell``.py of the solution, ``old`` replaced by ``new`` exactly once."""
    text = (solution / f"{cell}.py").read_text()
    if old is not None:
        assert text.count(old) == 1, f"the bug's anchor {old!r} must occur once in {cell}.py"
        text = text.replace(old, new)
    (tmp_path / f"{cell}.py").write_text(text)
    (tmp_path / "common.py").write_text((solution / "common.py").read_text())
    return tmp_path


# -- skeletons -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize("cell", assignment.CELLS)
def test_skeleton_keeps_docstrings_and_signatures_but_no_line_of_the_solution(easy, solution, cell):
    text = (easy / f"{cell}.py").read_text()
    ref = reference_module(cell)
    tree = ast.parse(text)
    assert ast.get_docstring(tree) == inspect.getdoc(ref)
    functions = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "backward_step" not in functions  # its body is a backward step: withheld
    for part in assignment.part_names(cell):
        node = functions[part]
        assert ast.get_docstring(node) == inspect.getdoc(getattr(ref, part))
        assert ast.unparse(node.args) == ast.unparse(
            ast.parse(inspect.getsource(getattr(ref, part))).body[0].args
        )
        assert isinstance(node.body[-1], ast.Raise) and "NotImplementedError" in ast.unparse(node.body[-1])
        assert len(node.body) == 2  # docstring + raise: nothing else survives
    assert "minirnn" not in _code_without_docstrings(text)
    assert "from common import" in text
    code = _norm(_code_without_docstrings(text))
    given = _docstrings(ref)  # the equations are handed out on purpose
    whole = _norm(text)
    for part in assignment.part_names(cell):
        lines = _body_lines(cell, part)
        assert lines, f"{cell}.{part} should have solution lines to look for"
        for line in lines:
            assert line not in code, f"solution line of {cell}.{part} left in the student's code: {line}"
            assert line not in whole or line in given, (
                f"solution line of {cell}.{part} in a comment/hint: {line}"
            )
    solution_code = _norm(_code_without_docstrings((solution / f"{cell}.py").read_text()))
    assert all(
        line in solution_code for part in assignment.part_names(cell) for line in _body_lines(cell, part)
    )


@pytest.mark.parametrize("cell", assignment.CELLS)
def test_default_hints_give_the_forward_equations_but_no_backward_equation(skeleton, easy, cell):
    text, easier = (skeleton / f"{cell}.py").read_text(), (easy / f"{cell}.py").read_text()
    ref_doc = inspect.getdoc(reference_module(cell))
    forward, backward = ref_doc.split("Backward, one step")
    equations = [line.strip() for line in backward.splitlines() if "=" in line]
    assert len(equations) >= 3
    for line in equations:  # e.g. "dn = dh * (1 - z),   dz = dh * ..."
        assert line not in text and line in easier
    for line in forward.splitlines():
        assert line.strip() in text  # shapes and forward equations stay
    assert "--hints backward" in text and "backward_step" not in _code_without_docstrings(text)
    code = _norm(_code_without_docstrings(text))
    for line in _body_lines(cell, "backward_step"):
        assert line not in code
    for name in ("(h_prev - n)", "dh * z", "(1 - z)", "dc * f"):
        assert name not in text.split('"""', 2)[2] or name in _norm(forward)


def test_common_and_readme_are_written_and_common_is_given_in_full(skeleton):
    from minirnn.cells import _common

    assert inspect.getsource(_common) in (skeleton / "common.py").read_text()
    readme = (skeleton / "README.md").read_text()
    assert "| `lstm.py` | `gate_gradients` | 4 |" in readme and "| | total | 40 |" in readme


@pytest.mark.parametrize("cell", assignment.CELLS)
def test_solution_file_is_the_reference_source_with_a_local_import(solution, cell):
    text = (solution / f"{cell}.py").read_text()
    source = inspect.getsource(reference_module(cell)).replace("from ._common import", "from common import")
    assert text.endswith(source)


def test_new_refuses_to_overwrite_and_names_the_files(skeleton, capsys):
    assert assignment_cli.main(["new", "rnn", "--out", str(skeleton)]) == 2
    err = capsys.readouterr().err
    assert "already has rnn.py, common.py, README.md" in err and "--force" in err


# -- the three grading tests ---------------------------------------------------------------------------------
def test_untouched_skeleton_scores_zero(skeleton):
    result = grade(skeleton, timeout=TIMEOUT)
    assert result.score == 0 and result.max_score == 40 and not result.passed
    assert {p.status for p in result.parts} == {"todo"}
    assert result.part("lstm.gate_gradients").where.startswith("lstm.py:")


def test_reference_solution_scores_full_marks(solution, tmp_path, capsys):
    out = tmp_path / "grade.json"
    assert assignment_cli.main(["grade", str(solution), "--json", str(out), "--timeout", str(TIMEOUT)]) == 0
    table = capsys.readouterr().out
    assert "score: 40/40" in table
    data = json.loads(out.read_text())
    assert data["score"] == data["max_score"] == 40 and data["passed"]
    assert all(p["status"] == "pass" for p in data["parts"])
    backward = [p for p in data["parts"] if p["part"] in ("step_backward", "backward")]
    assert all(p["gradcheck_rel_error"] is not None and p["gradcheck_rel_error"] < 1e-5 for p in backward)


BUGS = [
    # (cell, reference text, buggy text, the parts it breaks)
    pytest.param(
        "lstm",
        "    dc_prev = dc * f\n",
        "    dc_prev = dc * i\n",
        {"lstm.gate_gradients"},
        id="lstm-gate-gradients-only",
    ),
    pytest.param(
        "gru",
        "dx_proj.sum(0), dh_proj.sum(0)",
        "dh_proj.sum(0), dx_proj.sum(0)",
        {"gru.step_backward"},
        id="gru-step-backward-bias-swap",
    ),
    pytest.param(
        "rnn",
        "m[t] * h_new[t] + (1 - m[t]) * hs[t]",
        "m[t] * h_new[t]",
        {"rnn.forward", "rnn.backward"},
        id="rnn-forward-padding-breaks-its-backward-too",
    ),
    pytest.param(
        "gru",
        "r = sigmoid(x_proj[:, :H] + h_proj[:, :H])",
        "r = sigmoid(x_proj[:, :H] - h_proj[:, :H])",
        {"gru.recurrent_step"},
        id="gru-recurrent-step-only",
    ),
    pytest.param(
        "gru",
        "    return h, (x, h_prev, W_ih, W_hh, gates, hn, recurrent_mask)",
        "    return 2 * h, (x, h_prev, W_ih, W_hh, gates, hn, recurrent_mask)",
        {"gru.step_forward", "gru.step_backward"},
        id="gru-step-forward-output-fails-its-backward-gradcheck",
    ),
]


@pytest.mark.parametrize("cell, old, new, broken", BUGS)
def test_one_injected_bug_loses_exactly_the_parts_it_breaks(solution, tmp_path, cell, old, new, broken):
    folder = _copy_solution(solution, tmp_path, cell, old, new)
    result = grade(folder, timeout=TIMEOUT)
    assert set(result.failed()) == broken
    assert {result.part(name).status for name in broken} == {"fail"}
    lost = sum(result.part(name).max_points for name in broken)
    assert result.score == TOTAL[cell] - lost
    for name in broken:
        part = result.part(name)
        assert part.max_rel_error > 1e-3 or part.where.startswith("gradcheck: "), part


# -- student code that misbehaves ----------------------------------------------------------------------------
def test_endless_loop_is_a_timeout_of_that_part_only(solution, tmp_path):
    folder = _copy_solution(
        solution,
        tmp_path,
        "rnn",
        "    return activate(x_proj + h_prev @ W_hh.T + b_hh, nonlinearity)",
        "    while True:\n        pass",
    )
    result = grade(folder, timeout=1.0)
    assert result.failed() == ["rnn.recurrent_step"]
    assert result.part("rnn.recurrent_step").status == "timeout"
    assert "did not finish within 1 s" in result.part("rnn.recurrent_step").message


def test_exceptions_crashes_and_import_errors_are_reported_per_part(solution, tmp_path):
    folder = _copy_solution(
        solution,
        tmp_path,
        "rnn",
        "    T, B, _ = x.shape\n    H = h0.shape[-1]\n",
        "    T, B, _ = x.shape\n    H = h0.shape[-1]\n    print('debug')\n    raise ValueError('oops')\n",
    )
    text = (
        (folder / "rnn.py")
        .read_text()
        .replace("    x, h_prev, W_ih, W_hh, h, nonlinearity, rmask = cache\n", "    import os\n    os._exit(3)\n")
    )
    (folder / "rnn.py").write_text(text)
    result = grade(folder, timeout=TIMEOUT)
    forward = result.part("rnn.forward")
    assert forward.status == "error" and forward.message == "ValueError: oops"
    assert re.fullmatch(r"rnn\.py:\d+ in forward", forward.where)
    assert result.part("rnn.step_backward").status == "crashed"
    assert set(result.failed()) == {"rnn.forward", "rnn.backward", "rnn.step_backward"}

    (folder / "rnn.py").write_text("def step_forward(:\n")
    broken = grade(folder, timeout=TIMEOUT)
    assert {p.status for p in broken.parts} == {"error"}
    assert broken.parts[0].message.startswith("could not import rnn.py: SyntaxError")


def test_wrong_shapes_and_counts_fail_with_a_sentence(solution, tmp_path):
    folder = _copy_solution(solution, tmp_path, "rnn", "da.T @ x, da.T @ h_prev", "x.T @ da, da.T @ h_prev")
    text = (folder / "rnn.py").read_text().replace("    return out, hs[T], cache", "    return out, cache")
    (folder / "rnn.py").write_text(text)
    result = grade(folder, timeout=TIMEOUT)
    assert set(result.failed()) == {"rnn.step_backward", "rnn.forward", "rnn.backward"}
    assert result.part("rnn.step_backward").message.startswith("dW_ih has shape (3, 4), expected (4, 3)")
    assert result.part("rnn.forward").message == "forward must return 3 values, got 2 values"


def test_a_solution_written_differently_passes(tmp_path, solution):
    """A CS231n-style student: no helpers, the sequence loops call the student's own step functions."""
    ref = (solution / "rnn.py").read_text()
    student = textwrap.dedent("""
        import numpy as np
        from common import as_step_mask

        def activate(a, nonlinearity):
            return np.tanh(a) if nonlinearity == "tanh" else np.maximum(a, 0)

        def activation_slope(h, nonlinearity):
            return 1 - h ** 2 if nonlinearity == "tanh" else (h > 0) * 1.0

        def recurrent_step(x_proj, h_prev, W_hh, b_hh, nonlinearity):
            return activate(b_hh + x_proj + np.dot(h_prev, W_hh.T), nonlinearity)

        def step_forward(x, h_prev, W_ih, W_hh, b_ih, b_hh, nonlinearity="tanh"):
            h = activate(np.dot(x, W_ih.T) + np.dot(h_prev, W_hh.T) + (b_ih + b_hh), nonlinearity)
            return h, {"x": x, "h_prev": h_prev, "W_ih": W_ih, "W_hh": W_hh, "h": h, "nl": nonlinearity}

        def step_backward(dh, cache):
            da = dh * activation_slope(cache["h"], cache["nl"])
            db = np.sum(da, axis=0)
            return (np.dot(da, cache["W_ih"]), np.dot(da, cache["W_hh"]), np.dot(da.T, cache["x"]),
                    np.dot(da.T, cache["h_prev"]), db, db)

        def forward(x, h0, W_ih, W_hh, b_ih, b_hh, mask=None, nonlinearity="tanh"):
            T = x.shape[0]
            m = np.ones(x.shape[:2]) if mask is None else np.asarray(mask, dtype=float)
            h, outs, caches = h0, [], []
            for t in range(T):
                h_new, c = step_forward(x[t], h, W_ih, W_hh, b_ih, b_hh, nonlinearity)
                keep = m[t][:, None]
                h = keep * h_new + (1 - keep) * h
                outs.append(keep * h_new)
                caches.append((c, keep))
            return np.stack(outs), h, caches

        def backward(dout, dh_n, cache):
            grads, dh = None, dh_n
            for t in reversed(range(len(cache))):
                c, keep = cache[t]
                g = step_backward(keep * (dout[t] + dh), c)
                dh = g[1] + (1 - keep) * dh
                if grads is None:
                    grads = [np.zeros((len(cache),) + g[0].shape)] + [np.zeros_like(a) for a in g[2:]]
                grads[0][t] = g[0]
                for k, a in enumerate(g[2:]):
                    grads[k + 1] += a
            return {"x": grads[0], "h0": dh, "W_ih": grads[1], "W_hh": grads[2], "b_ih": grads[3],
                    "b_hh": grads[4]}
    """)
    assert "as_step_mask" in ref
    (tmp_path / "rnn.py").write_text(student)
    (tmp_path / "common.py").write_text((solution / "common.py").read_text())
    result = grade(tmp_path, timeout=TIMEOUT)
    assert result.passed, result.table()
    assert all(p.max_rel_error < 1e-12 for p in result.parts)


def test_minirnn_command_has_the_assignment_subcommand(capsys):
    with pytest.raises(SystemExit):
        cli.main(["assignment", "grade", "--help"])
    assert "--timeout" in capsys.readouterr().out


def test_grade_cli_exit_codes_and_clear_errors(skeleton, tmp_path, capsys):
    assert assignment_cli.main(["grade", str(tmp_path / "missing_dir")]) == 2
    err = capsys.readouterr().err
    assert "folder must be an existing directory" in err and "missing_dir" in err and "does not exist" in err
    assert assignment_cli.main(["grade", str(tmp_path)]) == 2
    assert "holds none of rnn.py, lstm.py, gru.py" in capsys.readouterr().err
    out = tmp_path / "g.json"
    assert (
        assignment_cli.main(
            ["grade", str(skeleton), "--cell", "gru", "--json", str(out), "--timeout", str(TIMEOUT)]
        )
        == 1
    )
    assert "score: 0/15" in capsys.readouterr().out
    assert json.loads(out.read_text())["score"] == 0
