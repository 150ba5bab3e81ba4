"""A whole class at once: grade every submission in a folder in parallel, write a gradebook, summarise
failures.

Each entry of the folder is one student: a sub-folder, a ``.zip`` or a notebook / ``.py`` file (its name,
without the suffix, is the student's). Students are graded in worker processes (each with its own sandboxes);
a
progress bar goes to stderr. The CSV has one row per student: the points of every part, the total, the
maximum and the flags.

Example:
    >>> fail, todo = {"rnn.forward": ("fail", "out[1, 0] in fixed 1")}, {"rnn.forward": ("todo", "")}
    >>> summary_lines([fail, fail, todo], 3)
    ['2 of 3 fail rnn.forward at out (also 1 todo)']
"""

from __future__ import annotations

import csv
import sys
from collections import Counter
from concurrent.futures import ProcessPoolExecutor, as_completed
from pathlib import Path

from .feedback import output_of
from .grader import DEFAULT_TIMEOUT, grade_submission
from .isolation import check_sandbox
from .submissions import SOURCE_SUFFIXES, load


def entries(folder) -> list[Path]:
    """The submissions in ``folder``: sub-folders, zips, notebooks and ``.py`` files, sorted by name."""
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(
            f"submissions must be a folder of student folders, zips or notebooks, got "
            f"{str(folder)!r}" + (" (a file)" if folder.exists() else " (it does not exist)")
        )
    found = [
        p
        for p in sorted(folder.iterdir())
        if not p.name.startswith(".") and (p.is_dir() or p.suffix == ".zip" or p.suffix in SOURCE_SUFFIXES)
    ]
    if not found:
        raise FileNotFoundError(f"submissions folder {str(folder)!r} holds no folder, zip or notebook")
    return found


def _grade_one(path: str, seed: int, timeout: float) -> dict:
    """One student (in a worker process): the row of the gradebook and the failures."""
    name = Path(path).stem if Path(path).is_file() else Path(path).name
    try:
        result = grade_submission(load(path, name=name), seed=seed, timeout=timeout)
    except (ValueError, OSError, RuntimeError) as e:
        return {"student": name, "error": str(e), "parts": {}, "flags": [], "score": 0, "max_score": 0}
    return {
        "student": name,
        "score": result.score,
        "max_score": result.max_score,
        "flags": result.flags,
        "parts": {p.name: (p.points, p.max_points, p.status, p.where) for p in result.parts},
        "error": "",
    }


def _progress(done: int, total: int, stream) -> None:
    width = 30
    filled = width * done // total
    stream.write(f"\rgrading [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    stream.flush()


def grade_all(
    folder, out, seed: int = 0, timeout: float = DEFAULT_TIMEOUT, workers: int = 2, progress: bool = True
) -> list[dict]:
    """Grade every submission in ``folder``, write the CSV gradebook ``out``; returns the rows (by student).

    ``workers`` processes grade students side by side; ``progress`` draws a bar on stderr.
    """
    paths = entries(folder)
    check_sandbox()  # a machine the sandbox cannot start on is one error, not a gradebook of zeros
    progress = sys.stderr if progress else None
    rows = []
    with ProcessPoolExecutor(max_workers=max(1, workers)) as pool:
        futures = [pool.submit(_grade_one, str(p), seed, timeout) for p in paths]
        for k, future in enumerate(as_completed(futures), 1):
            rows.append(future.result())
            if progress is not None:
                _progress(k, len(paths), progress)
    if progress is not None:
        progress.write("\n")
    rows.sort(key=lambda r: r["student"])
    write_gradebook(rows, out)
    return rows


def write_gradebook(rows: list[dict], out) -> None:
    """The CSV: student, points per part, total, max, flags (and the reason a submission could not be
    read)."""
    parts = sorted(
        {name for row in rows for name in row["parts"]},
        key=lambda n: next(list(r["parts"]).index(n) for r in rows if n in r["parts"]),
    )
    with open(out, "w", newline="") as f:
        writer = csv.writer(f)
        writer.writerow(["student", *parts, "total", "max", "flags"])
        for row in rows:
            points = [row["parts"][p][0] if p in row["parts"] else 0 for p in parts]
            notes = "; ".join(row["flags"] + ([row["error"]] if row["error"] else []))
            writer.writerow([row["student"], *points, row["score"], row["max_score"], notes])


def summary_lines(failures: list[dict], total: int) -> list[str]:
    """Per part, the most common failure first: ``"12 of 40 fail lstm.gate_gradients at dc_prev"``, then how
    many did not get that far (``"(also 3 todo, 1 error)"``). ``failures`` holds, per student, ``{part:
    (status, where)}`` of the parts that did not pass."""
    by_part = {}
    for student in failures:
        for part, (status, where) in student.items():
            key = f"at {output_of(where)}" if status == "fail" and where else status
            by_part.setdefault(part, Counter())[key] += 1
    lines = []
    for part, counts in sorted(by_part.items(), key=lambda item: -max(item[1].values())):
        at = [(key, n) for key, n in counts.most_common() if key.startswith("at ")]
        other = [(key, n) for key, n in counts.most_common() if not key.startswith("at ")]
        if at:
            rest = at[1:] + other
            lines.append(
                f"{at[0][1]} of {total} fail {part} {at[0][0]}"
                + (f" (also {', '.join(f'{n} {key}' for key, n in rest)})" if rest else "")
            )
        else:
            lines.append(
                f"{sum(counts.values())} of {total} fail {part} "
                f"({', '.join(f'{n} {key}' for key, n in other)})"
            )
    return lines


def summary(rows: list[dict], top: int = 10) -> str:
    """The most common failures per part over the class, and the students flagged."""
    failures = [
        {name: (status, where) for name, (_, _, status, where) in row["parts"].items() if status != "pass"}
        for row in rows
    ]
    lines = summary_lines(failures, len(rows))[:top]
    flagged = [f"  {row['student']}: {'; '.join(row['flags'])}" for row in rows if row["flags"]]
    unread = [f"  {row['student']}: {row['error']}" for row in rows if row["error"]]
    text = ["most common failures:", *(f"  {line}" for line in lines)] if lines else ["every part passed"]
    if flagged:
        text += ["flagged for the instructor:", *flagged]
    if unread:
        text += ["could not be read:", *unread]
    return "\n".join(text)
