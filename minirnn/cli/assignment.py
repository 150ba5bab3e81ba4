"""``minirnn assignment new | grade | grade-all | gradescope``: the command-line side of ``minirnn/course``.

    minirnn assignment new lstm --out hw3                      student files with TODO stubs (forward hints)
    minirnn assignment new all --out hw3-sol --with-solution --format notebook
    minirnn assignment grade hw3 --json grade.json             score table; exit 0 when every part passes
    minirnn assignment grade-all submissions/ --out gradebook.csv
    minirnn assignment gradescope --out autograder.zip

Exit codes: 0 success (grade: all parts pass), 1 some part does not pass, 2 bad arguments (a sentence on
stderr). """

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from minirnn import course as assignment
from minirnn.course import classroom, gradescope


def _fail(command: str, error: Exception) -> int:
    print(f"minirnn assignment {command}: {error}", file=sys.stderr)
    return 2


def _writable(path, command: str, what: str) -> str | None:
    """A sentence when ``path``'s folder does not exist (checked before any grading), else None."""
    parent = Path(path).resolve().parent
    if not parent.is_dir():
        return f"{what} {path} cannot be written: the folder {parent} does not exist"
    return None


def cmd_new(args) -> int:
    """Write the student's (or with ``--with-solution`` the instructor's) files into ``--out``."""
    cells = assignment.CELLS if args.cell == "all" else (args.cell,)
    try:
        paths = assignment.write_assignment(
            args.out,
            cells=cells,
            with_solution=args.with_solution,
            overwrite=args.force,
            hints=args.hints,
            format=args.format,
        )
    except (FileExistsError, NotADirectoryError, ValueError) as e:
        return _fail("new", e)
    kind = "solution" if args.with_solution else "assignment"
    points = sum(p for cell in cells for _, p, _ in assignment.PARTS[cell])
    parts = sum(len(assignment.PARTS[cell]) for cell in cells)
    print(f"wrote the {kind} ({parts} parts, {points} points, {args.hints} hints) to {args.out}:")
    for path in paths:
        print(f"  {path}")
    return 0


def cmd_grade(args) -> int:
    """Grade a folder (or a notebook / .py file), print the table, write JSON if asked; exit 0 when all
    pass."""
    if args.json and _writable(args.json, "grade", "--json"):
        return _fail("grade", _writable(args.json, "grade", "--json"))
    try:
        result = assignment.grade(args.folder, cells=args.cell, seed=args.seed, timeout=args.timeout)
    except (OSError, ValueError, RuntimeError) as e:
        return _fail("grade", e)
    print(result.table())
    if args.json:
        Path(args.json).write_text(result.to_json() + "\n")
        print(f"\nJSON written to {args.json}")
    return 0 if result.passed else 1


def cmd_grade_all(args) -> int:
    """Grade every submission in a folder in parallel, write the CSV gradebook and print the common
    failures."""
    if _writable(args.out, "grade-all", "--out"):
        return _fail("grade-all", _writable(args.out, "grade-all", "--out"))
    if args.workers < 1:
        return _fail("grade-all", f"--workers must be at least 1, got {args.workers}")
    try:
        rows = classroom.grade_all(
            args.submissions, args.out, seed=args.seed, timeout=args.timeout, workers=args.workers
        )
    except (OSError, ValueError, RuntimeError) as e:
        return _fail("grade-all", e)
    scores = [r["score"] for r in rows]
    print(
        f"graded {len(rows)} submissions; total points: median {sorted(scores)[len(scores) // 2]}, "
        f"min {min(scores)}, max {max(scores)} (of {max(r['max_score'] for r in rows)})"
    )
    print(classroom.summary(rows))
    print(f"gradebook written to {args.out}")
    return 0


def cmd_gradescope(args) -> int:
    """Build the Gradescope autograder zip."""
    if _writable(args.out, "gradescope", "--out"):
        return _fail("gradescope", _writable(args.out, "gradescope", "--out"))
    cells = assignment.CELLS if args.cell == "all" else (args.cell,)
    try:
        path = gradescope.build_bundle(args.out, cells=cells)
    except OSError as e:
        return _fail("gradescope", e)
    print(
        f"wrote the Gradescope autograder ({', '.join(cells)}) to {path}: upload it as the assignment's "
        f"autograder (setup.sh, run_autograder and the kit)"
    )
    return 0


def add_parser(sub) -> None:
    """Declare ``assignment new|grade|grade-all|gradescope`` on the ``minirnn`` subparsers."""
    p = sub.add_parser(
        "assignment",
        help="course kit: student skeletons of the cells and a grader",
        description="Generate the classic RNN/LSTM/GRU forward-and-backward assignment from "
        "minirnn's own cells, and grade students' work against them in a sandbox.",
    )
    asub = p.add_subparsers(
        dest="assignment_command", metavar="{new,grade,grade-all,gradescope}", required=True
    )
    _add_new(asub)
    _add_grade(asub)
    _add_grade_all(asub)
    scope = asub.add_parser("gradescope", help="build the Gradescope autograder zip")
    scope.add_argument(
        "cell",
        nargs="?",
        default="all",
        choices=(*assignment.CELLS, "all"),
        help="the cells graded (default all)",
    )
    scope.add_argument("--out", required=True, help="the zip to write (autograder.zip)")
    scope.set_defaults(func=cmd_gradescope)


def _add_new(asub) -> None:
    new = asub.add_parser("new", help="write student files with TODO stubs (or the solution)")
    new.add_argument("cell", choices=(*assignment.CELLS, "all"), help="which cell(s) the assignment covers")
    new.add_argument("--out", required=True, help="folder to write into (created if missing)")
    new.add_argument(
        "--with-solution",
        action="store_true",
        help="write the instructor's version with the reference bodies filled in",
    )
    new.add_argument(
        "--hints",
        choices=assignment.HINT_LEVELS,
        default="forward",
        help="forward: forward equations and shapes only (default); backward: the backward equations "
        "too (an easier version)",
    )
    new.add_argument(
        "--format",
        choices=assignment.FORMATS,
        default="py",
        help="py files (default) or one Jupyter notebook per cell",
    )
    new.add_argument("--force", action="store_true", help="overwrite files that already exist in --out")
    new.set_defaults(func=cmd_new)


def _add_grade(asub) -> None:
    grade = asub.add_parser("grade", help="grade a student's folder part by part")
    grade.add_argument("folder", help="the student's folder (rnn.py / lstm.ipynb ...), a zip, or one file")
    grade.add_argument(
        "--cell",
        action="append",
        choices=assignment.CELLS,
        default=None,
        help="grade only this cell (repeatable; default: every cell file in the folder)",
    )
    grade.add_argument("--json", default=None, metavar="FILE", help="also write the result as JSON to FILE")
    grade.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    grade.add_argument(
        "--timeout",
        type=float,
        default=assignment.grader.DEFAULT_TIMEOUT,
        help="seconds allowed per part (default %(default)g)",
    )
    grade.set_defaults(func=cmd_grade)


def _add_grade_all(asub) -> None:
    every = asub.add_parser("grade-all", help="grade a whole class: a folder of folders, zips or notebooks")
    every.add_argument("submissions", help="folder with one sub-folder, zip or notebook per student")
    every.add_argument("--out", required=True, metavar="CSV", help="the gradebook to write")
    every.add_argument("--workers", type=int, default=2, help="parallel worker processes (default 2)")
    every.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    every.add_argument(
        "--timeout",
        type=float,
        default=assignment.grader.DEFAULT_TIMEOUT,
        help="seconds allowed per part (default %(default)g)",
    )
    every.set_defaults(func=cmd_grade_all)


def main(argv=None) -> int:
    """``python -m minirnn.cli.assignment {new,grade,grade-all,gradescope} ...``: as ``minirnn assignment
    ...``."""
    parser = argparse.ArgumentParser(prog="minirnn")
    add_parser(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(["assignment", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
