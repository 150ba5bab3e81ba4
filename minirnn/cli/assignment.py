"""``minirnn assignment new`` and ``minirnn assignment grade``: the command-line side of ``minirnn/assignment``.

    minirnn assignment new lstm --out hw3                      student files with TODO stubs
    minirnn assignment new all --out hw3-solution --with-solution
    minirnn assignment grade hw3 --json grade.json             score table; exit 0 when every part passes

Exit codes: 0 success (grade: all parts pass), 1 some part does not pass, 2 bad arguments (a sentence on stderr).
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from minirnn import course as assignment


def cmd_new(args) -> int:
    """Write the student's (or with ``--with-solution`` the instructor's) files into ``--out``."""
    cells = assignment.CELLS if args.cell == "all" else (args.cell,)
    try:
        paths = assignment.write_assignment(args.out, cells=cells, with_solution=args.with_solution,
                                            overwrite=args.force)
    except (FileExistsError, NotADirectoryError, ValueError) as e:
        print(f"minirnn assignment new: {e}", file=sys.stderr)
        return 2
    kind = "solution" if args.with_solution else "assignment"
    points = sum(p for cell in cells for _, p, _ in assignment.PARTS[cell])
    parts = sum(len(assignment.PARTS[cell]) for cell in cells)
    print(f"wrote the {kind} ({parts} parts, {points} points) to {args.out}:")
    for path in paths:
        print(f"  {path}")
    return 0


def cmd_grade(args) -> int:
    """Grade a folder, print the table, write JSON if asked; exit 0 only when every part passes."""
    folder = os.path.dirname(os.path.abspath(args.json)) if args.json else None
    if folder and not os.path.isdir(folder):                    # say so before grading, not after
        print(f"minirnn assignment grade: --json {args.json!r}: the folder {folder!r} does not exist",
              file=sys.stderr)
        return 2
    try:
        result = assignment.grade(args.folder, cells=args.cell, seed=args.seed, timeout=args.timeout)
    except (FileNotFoundError, ValueError) as e:
        print(f"minirnn assignment grade: {e}", file=sys.stderr)
        return 2
    print(result.table())
    if args.json:
        Path(args.json).write_text(result.to_json() + "\n")
        print(f"\nJSON written to {args.json}")
    return 0 if result.passed else 1


def add_parser(sub) -> None:
    """Declare ``assignment new`` and ``assignment grade`` on the ``minirnn`` subparsers."""
    p = sub.add_parser("assignment", help="course kit: student skeletons of the cells and a grader",
                       description="Generate the classic RNN/LSTM/GRU forward-and-backward assignment from "
                                   "minirnn's own cells, and grade a student's folder against them.")
    asub = p.add_subparsers(dest="assignment_command", metavar="{new,grade}", required=True)

    new = asub.add_parser("new", help="write student files with TODO stubs (or the solution)")
    new.add_argument("cell", choices=("rnn", "lstm", "gru", "all"), help="which cell(s) the assignment covers")
    new.add_argument("--out", required=True, help="folder to write into (created if missing)")
    new.add_argument("--with-solution", action="store_true",
                     help="write the instructor's version with the reference bodies filled in")
    new.add_argument("--force", action="store_true", help="overwrite files that already exist in --out")
    new.set_defaults(func=cmd_new)

    grade = asub.add_parser("grade", help="grade a student's folder part by part")
    grade.add_argument("folder", help="the student's folder (rnn.py, lstm.py, gru.py, common.py)")
    grade.add_argument("--cell", action="append", choices=assignment.CELLS, default=None,
                       help="grade only this cell (repeatable; default: every cell file in the folder)")
    grade.add_argument("--json", default=None, metavar="FILE", help="also write the result as JSON to FILE")
    grade.add_argument("--seed", type=int, default=0, help="seed of the random inputs (default 0)")
    grade.add_argument("--timeout", type=float, default=assignment.grader.DEFAULT_TIMEOUT,
                       help="seconds allowed per part (default %(default)g)")
    grade.set_defaults(func=cmd_grade)


def main(argv=None) -> int:
    """``python -m minirnn.cli.assignment {new,grade} ...``: the same as ``minirnn assignment ...``."""
    parser = argparse.ArgumentParser(prog="minirnn")
    add_parser(parser.add_subparsers(dest="command", metavar="COMMAND", required=True))
    args = parser.parse_args(["assignment", *(sys.argv[1:] if argv is None else argv)])
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
