"""The sandboxed child can import NumPy wherever the grader's Python lives, and still cannot read the grader.

CI runs as root with a pyenv Python under ``/root`` (mode 0700): the unprivileged child could not follow a
symlink to that NumPy, so every part crashed. Here NumPy is copied into a folder closed to other users and
the grader is pointed at the copy.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

import numpy as np
import pytest

from minirnn.course import grade, isolation, write_assignment
from minirnn.course.sandbox import Sandbox


@pytest.fixture(scope="module")
def closed_numpy(tmp_path_factory):
    """A copy of NumPy (and numpy.libs) inside a folder only its owner may enter."""
    closed = tmp_path_factory.mktemp("closed")
    source = Path(np.__file__).parent
    for name in ("numpy", "numpy.libs"):
        if (source.parent / name).is_dir():
            shutil.copytree(source.parent / name, closed / "site-packages" / name, symlinks=True)
    closed.chmod(0o700)
    return closed / "site-packages" / "numpy"


def test_a_reachable_numpy_is_linked_and_a_closed_one_is_mounted(tmp_path, closed_numpy, monkeypatch):
    site = tmp_path / "site"
    site.mkdir()
    assert isolation.numpy_links(site, user=None) == []  # the same user: a symlink, whatever the modes
    assert (site / "numpy").is_symlink()
    closed_site = tmp_path / "closed-site"
    closed_site.mkdir()
    monkeypatch.setattr(isolation, "numpy_folder", lambda: closed_numpy)
    binds = isolation.numpy_links(closed_site, user=(65534, 65534))
    assert binds[0] == (str(closed_numpy), str(closed_site / "numpy"))
    assert (closed_site / "numpy").is_dir() and not (closed_site / "numpy").is_symlink()
    assert not list((closed_site / "numpy").iterdir())  # an empty mount point


def test_the_solution_scores_full_marks_when_numpy_lies_in_a_closed_folder(tmp_path, closed_numpy, monkeypatch):
    solution = tmp_path / "solution"
    write_assignment(solution, cells=("rnn",), with_solution=True)
    monkeypatch.setattr(isolation, "numpy_folder", lambda: closed_numpy)
    with Sandbox(files={"rnn.py": "import numpy\n"}) as box:
        # as root the child runs as nobody, who cannot enter the closed folder: NumPy is mounted instead
        assert bool(box.binds) == (os.geteuid() == 0)
        box.start()
    result = grade(solution, timeout=20)
    assert result.score == result.max_score == 10, result.table()


def test_an_unknown_sandbox_user_is_one_sentence_before_any_part_is_graded(tmp_path, monkeypatch, capsys):
    """Found inside the first part, a mistyped MINIRNN_SANDBOX_USER scored every part 'fail' (the students'
    fault, it said); it is the machine's, and it is said once."""
    from minirnn.cli import assignment as assignment_cli
    from minirnn.course.classroom import grade_all

    solution = tmp_path / "solution"
    write_assignment(solution, cells=("rnn",), with_solution=True)
    monkeypatch.setattr(isolation.os, "geteuid", lambda: 0)  # the variable is read only as root
    monkeypatch.setenv("MINIRNN_SANDBOX_USER", "no-such-user-here")
    with pytest.raises(ValueError, match="MINIRNN_SANDBOX_USER must name a user of this system.*no-such-user"):
        grade(solution, timeout=20)
    assert assignment_cli.main(["grade", str(solution)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "MINIRNN_SANDBOX_USER" in err[0] and "Traceback" not in err[0]
    subs = tmp_path / "subs"
    shutil.copytree(solution, subs / "alice")
    with pytest.raises(ValueError, match="MINIRNN_SANDBOX_USER"):
        grade_all(subs, tmp_path / "grades.csv", progress=False)
    assert not (tmp_path / "grades.csv").exists()  # no gradebook of zeros
