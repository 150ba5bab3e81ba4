"""The Gradescope autograder bundle, and the command it runs inside Gradescope.

``build_bundle("autograder.zip")`` writes the zip Gradescope asks for: ``setup.sh`` (installs NumPy and the
kit), ``run_autograder`` (grades ``/autograder/submission`` and writes ``/autograder/results/results.json``)
and the kit itself (the ``minirnn`` and ``gradcheck`` packages). The paths come from ``AUTOGRADER_ROOT``
(default ``/autograder``), so a test can run the bundle in a temporary folder laid out the same way.
results.json follows Gradescope's schema: ``score``, ``output`` and ``tests`` (``name``, ``score``,
``max_score``, ``output``, ``visibility``); the notes for the instructor are a hidden test.

Example:
    >>> import tempfile, zipfile, os
    >>> path = build_bundle(os.path.join(tempfile.mkdtemp(), "autograder.zip"))
    >>> sorted(n for n in zipfile.ZipFile(path).namelist() if "/" not in n)
    ['run_autograder', 'setup.sh']
"""

from __future__ import annotations

import argparse
import json
import sys
import zipfile
from pathlib import Path

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once when the image is built: NumPy for the reference and the student, then the kit.
set -e
apt-get install -y python3 python3-pip > /dev/null 2>&1 || true
python3 -m pip install --break-system-packages numpy 2>/dev/null || python3 -m pip install numpy
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade ${AUTOGRADER_ROOT}/submission into results/results.json.
ROOT="${AUTOGRADER_ROOT:-/autograder}"
mkdir -p "$ROOT/results"
cd "$ROOT/source" && PYTHONPATH="$ROOT/source" python3 -m minirnn.course.gradescope \\
    --submission "$ROOT/submission" --results "$ROOT/results/results.json" --cells "${CELLS}"
"""


def build_bundle(out, cells=None) -> Path:
    """Write the autograder zip to ``out`` (grading ``cells``); returns its path."""
    import gradcheck
    import minirnn

    from .parts import CELLS

    cells = CELLS if cells is None else tuple(cells)
    out = Path(out)
    root = Path(minirnn.__file__).parent
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for name, text in (("setup.sh", SETUP), ("run_autograder", RUN.replace("${CELLS}", ",".join(cells)))):
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o755 << 16
            z.writestr(info, text)
        for package in (root, Path(gradcheck.__file__).parent):
            for path in sorted(package.rglob("*.py")):
                if "__pycache__" not in path.parts:
                    z.write(path, f"{package.name}/{path.relative_to(package)}")
    return out


def run(submission, results, cells) -> dict:
    """Grade ``submission`` and write Gradescope's results.json to ``results``; returns what was written."""
    from .grader import grade_submission
    from .submissions import load

    try:
        result = grade_submission(load(submission, name="submission"), cells=cells)
        data = result.gradescope()
    except (ValueError, FileNotFoundError) as e:
        data = {"score": 0, "output": f"The submission could not be read: {e}", "tests": []}
    Path(results).write_text(json.dumps(data, indent=2) + "\n")
    return data


def main(argv=None) -> int:
    """``python -m minirnn.course.gradescope --submission DIR --results FILE``: what ``run_autograder``
    calls."""
    parser = argparse.ArgumentParser(prog="minirnn.course.gradescope")
    parser.add_argument("--submission", default="/autograder/submission")
    parser.add_argument("--results", default="/autograder/results/results.json")
    parser.add_argument("--cells", default="", help="comma-separated cells (default: those submitted)")
    args = parser.parse_args(argv)
    run(args.submission, args.results, [c for c in args.cells.split(",") if c] or None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
