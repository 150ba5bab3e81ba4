"""Notebooks, Gradescope and a whole class: the formats an instructor uses, each graded for real."""
from __future__ import annotations

import csv
import io
import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from minirnn.cli import assignment as assignment_cli
from minirnn.course import grade, gradescope, write_assignment
from minirnn.course.classroom import grade_all, summary
from minirnn.course.submissions import MAX_BYTES, load, notebook_code, read_zip

TIMEOUT = 5.0


@pytest.fixture(scope="module")
def rnn_kit(tmp_path_factory):
    out = {}
    for name, kwargs in {"student": {}, "solution": {"with_solution": True},
                         "nb-student": {"format": "notebook"},
                         "nb-solution": {"format": "notebook", "with_solution": True}}.items():
        out[name] = tmp_path_factory.mktemp(name)
        write_assignment(out[name], cells=("rnn",), **kwargs)
    return out


# -- notebooks -----------------------------------------------------------------------------------------------
def test_notebooks_score_zero_untouched_and_full_marks_as_the_instructors_version(rnn_kit):
    student, solution = rnn_kit["nb-student"] / "rnn.ipynb", rnn_kit["nb-solution"] / "rnn.ipynb"
    nb = json.loads(solution.read_text())
    sources = ["".join(c["source"]) for c in nb["cells"]]
    assert sum("### BEGIN SOLUTION" in s and "### END SOLUTION" in s for s in sources) == 5
    assert not any("### BEGIN SOLUTION" in s for s in ("".join(c["source"]) for c in
                                                       json.loads(student.read_text())["cells"]))
    assert nb["cells"][0]["cell_type"] == "markdown" and "Forward, one step" in sources[0]
    assert grade(student, timeout=TIMEOUT).score == 0
    result = grade(solution, timeout=TIMEOUT)
    assert result.score == result.max_score == 10, result.table()


def test_the_notebooks_self_check_runs_the_public_check_in_a_kernel_free_way(rnn_kit, tmp_path):
    """The last cell, run on the instructor's code cells, prints an ok per gradient (run here in a
    subprocess)."""
    code = notebook_code((rnn_kit["nb-solution"] / "rnn.ipynb").read_text())
    last = json.loads((rnn_kit["nb-solution"] / "rnn.ipynb").read_text())["cells"][-1]
    (tmp_path / "common.py").write_text((rnn_kit["nb-solution"] / "common.py").read_text())
    (tmp_path / "run.py").write_text(code + "\n" + "".join(last["source"]))
    out = subprocess.run([sys.executable, "run.py"], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if "relative error" in line]
    assert len(lines) == 6 and all(line.endswith("ok") for line in lines)


def test_notebook_code_drops_magics_and_the_self_check_and_refuses_non_notebooks():
    nb = {"cells": [{"cell_type": "code", "source": ["%matplotlib inline\n", "x = 1\n"]},
                    {"cell_type": "markdown", "source": "not code"},
                    {"cell_type": "code", "source": "# Self-check (public): ...\nself_check(globals())"}]}
    assert notebook_code(json.dumps(nb)).strip() == "x = 1"
    with pytest.raises(ValueError, match="is not a Jupyter notebook"):
        notebook_code("print('hi')", "hw.ipynb")


# -- zips ----------------------------------------------------------------------------------------------------
def _zip(path, entries: dict) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in entries.items():
            z.writestr(name, text)
    return path


@pytest.mark.parametrize("name", ["../evil.py", "/etc/evil.py", "a/../../evil.py"])
def test_zips_with_paths_outside_the_folder_are_refused(tmp_path, name):
    with pytest.raises(ValueError, match="unsafe path"):
        read_zip(_zip(tmp_path / "s.zip", {name: "x = 1"}))


def test_zips_too_large_when_inflated_are_refused_before_inflating(tmp_path):
    path = _zip(tmp_path / "bomb.zip", {"rnn.py": "#" * (MAX_BYTES + 1)})
    assert path.stat().st_size < MAX_BYTES // 100  # a small file that would inflate beyond it
    with pytest.raises(ValueError, match="would inflate to"):
        read_zip(path)


# -- Gradescope ----------------------------------------------------------------------------------------------
def test_the_gradescope_bundle_writes_a_valid_results_json_in_a_gradescope_like_layout(
    rnn_kit, tmp_path, capsys
):
    bundle = tmp_path / "autograder.zip"
    assert assignment_cli.main(["gradescope", "rnn", "--out", str(bundle)]) == 0
    assert "autograder" in capsys.readouterr().out
    root = tmp_path / "autograder"
    with zipfile.ZipFile(bundle) as z:
        names = z.namelist()
        assert {"setup.sh", "run_autograder", "minirnn/course/grader.py", "gradcheck/__init__.py"} <= set(
            names
        )
        z.extractall(root / "source")
    (root / "submission").mkdir()
    (root / "submission" / "rnn.py").write_text((rnn_kit["solution"] / "rnn.py").read_text())
    env = {
        "AUTOGRADER_ROOT": str(root),
        "PATH": f"{Path(sys.executable).parent}:/usr/bin:/bin",
        "HOME": str(tmp_path),
        "OPENBLAS_NUM_THREADS": "1",
    }
    run = subprocess.run(
        ["bash", str(root / "source" / "run_autograder")],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stderr
    results = json.loads((root / "results" / "results.json").read_text())
    assert results["score"] == 10
    graded = [t for t in results["tests"] if t["max_score"] > 0]
    assert [t["name"] for t in graded] == [
        "rnn.step_forward",
        "rnn.step_backward",
        "rnn.recurrent_step",
        "rnn.forward",
        "rnn.backward",
    ]
    for test in results["tests"]:
        assert set(test) >= {"name", "score", "max_score", "output", "visibility"}
        assert test["visibility"] in ("visible", "hidden", "after_due_date", "after_published")
    assert sum(t["score"] for t in results["tests"]) == results["score"]


# -- a whole class -------------------------------------------------------------------------------------------
BUGS = {  # anchor in the RNN solution -> (replacement, the parts it breaks, the output the summary names)
    "m[t] * h_new[t] + (1 - m[t]) * hs[t]": ("m[t] * h_new[t]", {"forward", "backward"}),
    "da.sum(0), da.sum(0)": ("da.sum(0), 2 * da.sum(0)", {"step_backward"}),
    "activate(x_proj + h_prev @ W_hh.T + b_hh, nonlinearity)": (
        "activate(x_proj + h_prev @ W_hh + b_hh, nonlinearity)",
        {"recurrent_step"},
    ),
    "m[t] * (dout[t] + dh_carry)": ("(dout[t] + dh_carry)", {"backward"}),
}
POINTS = {"step_forward": 1, "step_backward": 2, "recurrent_step": 2, "forward": 2, "backward": 3}
ATTACKS = {
    "star-import": "from minirnn.cells.rnn import *\n",
    "forged-channel": "import gc, os\nfor o in gc.get_objects():\n    if type(o).__name__ == 'Channel':\n"
    "        o.send({'kind': 'result', 'outputs': []})\nos._exit(0)\n",
    "pickle": "import os, pickle\nclass E:\n    def __reduce__(self):\n"
    "        return (os.system, ('true',))\n"
    "os.write(1, pickle.dumps(E()))\nimport gc\nfor o in gc.get_objects():\n"
    "    if type(o).__name__ == 'Channel':\n        o.writer.write(pickle.dumps(E()))\nos._exit(0)\n",
}


def test_grade_all_gives_each_of_20_submissions_its_score(rnn_kit, tmp_path, capsys):
    subs, expected = tmp_path / "subs", {}
    subs.mkdir()
    solution = (rnn_kit["solution"] / "rnn.py").read_text()
    for k in range(3):  # correct: folders, zips, a notebook
        (subs / f"ok-folder-{k}").mkdir()
        (subs / f"ok-folder-{k}" / "rnn.py").write_text(solution)
        (subs / f"ok-folder-{k}" / "gradcheck.py").write_text("raise ImportError('stray')\n")
        _zip(subs / f"ok-zip-{k}.zip", {f"work/rnn.py": solution, "work/notes.txt": "hi"})
        expected[f"ok-folder-{k}"] = expected[f"ok-zip-{k}"] = 10
    (subs / "ok-notebook.ipynb").write_text((rnn_kit["nb-solution"] / "rnn.ipynb").read_text())
    expected["ok-notebook"] = 10
    for k, (anchor, (new, broken)) in enumerate(BUGS.items()):  # one injected bug each (two students each)
        for copy in range(2):
            name = f"bug-{k}-{copy}"
            (subs / name).mkdir()
            assert solution.count(anchor) == 1
            (subs / name / "rnn.py").write_text(solution.replace(anchor, new))
            expected[name] = 10 - sum(POINTS[p] for p in broken)
    for name, attack in ATTACKS.items():  # malicious
        (subs / name).mkdir()
        (subs / name / "rnn.py").write_text((rnn_kit["student"] / "rnn.py").read_text() + "\n" + attack)
        expected[name] = 0
    (subs / "no-work").mkdir()
    (subs / "no-work" / "rnn.py").write_text((rnn_kit["student"] / "rnn.py").read_text())
    expected["no-work"] = 0
    _zip(subs / "traversal.zip", {"../../rnn.py": solution})
    expected["traversal"] = 0
    assert len(expected) == 20
    out = tmp_path / "gradebook.csv"
    assert assignment_cli.main(["grade-all", str(subs), "--out", str(out), "--timeout", str(TIMEOUT)]) == 0
    captured = capsys.readouterr()
    assert "grading [" in captured.err and "20/20" in captured.err
    rows = list(csv.DictReader(out.open()))
    assert {row["student"]: int(row["total"]) for row in rows} == expected
    assert rows[0].keys() >= {"rnn.step_forward", "rnn.backward", "total", "max", "flags"}
    by_name = {row["student"]: row for row in rows}
    assert "imports minirnn" in by_name["star-import"]["flags"]
    assert "unsafe path" in by_name["traversal"]["flags"]
    assert int(by_name["bug-0-0"]["rnn.forward"]) == 0 and int(by_name["bug-0-0"]["rnn.step_forward"]) == 1
    text = captured.out
    assert "graded 20 submissions" in text
    assert re.search(r"2 of 20 fail rnn\.recurrent_step at h\b", text), text
    assert re.search(r"4 of 20 fail rnn\.backward at d", text) or "fail rnn.backward" in text, text
    assert re.search(r"\d+ of 20 fail rnn\.forward at out", text) or "at h_n" in text, text


def test_grade_all_and_grade_explain_a_folder_of_submissions(tmp_path, capsys):
    (tmp_path / "alice").mkdir()
    assert assignment_cli.main(["grade", str(tmp_path)]) == 2
    assert "grade-all" in capsys.readouterr().err
    assert assignment_cli.main(["grade-all", str(tmp_path / "none"), "--out", str(tmp_path / "g.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert assignment_cli.main(["grade-all", str(tmp_path), "--out", str(tmp_path / "no" / "g.csv")]) == 2
    assert "does not exist" in capsys.readouterr().err


def test_every_cell_as_notebooks_scores_zero_untouched_and_full_marks_solved(tmp_path):
    write_assignment(tmp_path / "student", format="notebook")
    write_assignment(tmp_path / "solution", format="notebook", with_solution=True)
    assert sorted(p.name for p in (tmp_path / "solution").glob("*.ipynb")) == ["gru.ipynb", "lstm.ipynb",
                                                                               "rnn.ipynb"]
    untouched = grade(tmp_path / "student", timeout=TIMEOUT)
    assert untouched.score == 0 and untouched.max_score == 40 and {p.status for p in untouched.parts} == {"todo"}
    solved = grade(tmp_path / "solution", timeout=TIMEOUT)
    assert solved.score == solved.max_score == 40, solved.table()
