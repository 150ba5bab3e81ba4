"""How the benchmarks write their results: nothing is silently overwritten, writes are atomic, Ctrl-C saves
what was measured and exits with status 130, and a mistake on the command line is one sentence.

    if _output.refuse(PROG, "--json", args.json, [args.json], args.overwrite):
        return 2                                     # said before anything is measured
    try:
        rows = measure(...)
    except KeyboardInterrupt:
        return _output.interrupted(PROG, f"{len(rows)} of {total} rows", args.json, {"rows": rows})
    _output.write_json(args.json, {"rows": rows})

The atomic write itself (temporary file in the same folder, flush, fsync, ``os.replace``) is
``minirnn.training.checkpoint.atomic_write``, the one checkpoints use. Logs of runs (``.jsonl``) are appended
to, one whole line per run (``append_jsonl``, which is ``minirnn.analysis.sweep.append_row``, the sweeps'
own), and need no ``--overwrite``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import signal
import sys
import threading

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
    sys.path.insert(0, ROOT)  # this checkout's minirnn

from minirnn.analysis.sweep import append_row as append_jsonl  # noqa: E402,F401  (the logs' one line per run)
from minirnn.analysis.sweep import read_rows as read_jsonl  # noqa: E402,F401
from minirnn.training.checkpoint import atomic_write  # noqa: E402

OVERWRITE_HELP = "replace result files that already exist (without it they are refused before measuring)"


def add_overwrite(parser) -> None:
    """Declare ``--overwrite`` on an argparse parser."""
    parser.add_argument("--overwrite", action="store_true", help=OVERWRITE_HELP)


def _nearest_existing(folder):
    while not os.path.exists(folder):
        folder = os.path.dirname(folder)
    return folder


def why_not(flag, value, paths, overwrite=False, makes_folder=False):
    """Why this run must not write ``paths`` (the files that ``flag value`` names), in one sentence, or None.

    Refused: a path that is a folder; a folder that does not exist (unless the script creates it,
    ``makes_folder``) or is not writable; a file that exists, unless ``overwrite``.

    Example:
        >>> import tempfile, os
        >>> d = tempfile.mkdtemp(); p = os.path.join(d, "r.json"); _ = open(p, "w").write("{}")
        >>> why_not("--json", p, [p]).endswith("exists; replace it with --overwrite or choose another --json")
        True
        >>> why_not("--json", p, [p], overwrite=True) is None
        True
        >>> why_not("--json", "no/r.json", ["no/r.json"]).startswith("--json 'no/r.json': the folder")
        True
    """
    for path in paths:
        folder = os.path.dirname(os.path.abspath(path))
        if os.path.isdir(path):
            return f"{flag} {value!r}: {path!r} is a folder, not a file"
        if not os.path.isdir(folder) and not makes_folder:
            return f"{flag} {value!r}: the folder {folder!r} does not exist"
        existing = _nearest_existing(folder)
        if not os.path.isdir(existing):
            return f"{flag} {value!r}: the folder {folder!r} cannot be created ({existing!r} is a file)"
        if not os.access(existing, os.W_OK):
            return f"{flag} {value!r}: the folder {existing!r} is not writable"
    there = [p for p in paths if os.path.exists(p)]
    if there and not overwrite:
        if len(paths) == 1 and os.path.abspath(paths[0]) == os.path.abspath(value):
            return f"{flag} {value!r} already exists; replace it with --overwrite or choose another {flag}"
        names = ", ".join(os.path.basename(p) for p in there)
        them = "it" if len(there) == 1 else "them"
        return (f"{flag} {value!r} already holds {names}; "
                f"replace {them} with --overwrite or choose another {flag}")
    return None


def refuse(prog, flag, value, paths, overwrite=False, makes_folder=False) -> bool:
    """Print ``prog: <why>`` on stderr and return True if :func:`why_not` has a reason; else False."""
    why = why_not(flag, value, paths, overwrite, makes_folder)
    if why:
        print(f"{prog}: {why}", file=sys.stderr)
    return why is not None


def write_json(path, data, indent=1) -> str:
    """Write ``data`` as JSON (and a final newline) to ``path`` atomically; returns the path.

    Example:
        >>> import tempfile, os
        >>> p = write_json(os.path.join(tempfile.mkdtemp(), "r.json"), {"rows": [1]})
        >>> open(p).read()
        '{\\n "rows": [\\n  1\\n ]\\n}\\n'
    """
    text = json.dumps(data, indent=indent) + "\n"
    return atomic_write(path, lambda f: f.write(text.encode("utf-8")))


def write_png(fig, path, dpi=150) -> str:
    """Draw the matplotlib figure ``fig`` as a PNG and write it to ``path`` atomically; returns the path."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return atomic_write(path, lambda f: f.write(buffer.getvalue()))


@contextlib.contextmanager
def _sigint_ignored():
    """A second Ctrl-C while the first one's results are saved is ignored (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)


def interrupted(prog, done=None, path=None, data=None, flag="--json") -> int:
    """After a Ctrl-C: write ``data`` with ``"interrupted": true`` to ``path`` (if both are given and
    something was measured, ``done`` saying what, e.g. "3 of 12 rows"), print one line on stderr, return 130.

    Example:
        >>> interrupted("x.py")
        130
    """
    with _sigint_ignored():
        if not done:
            print(f"{prog}: interrupted before the first result; nothing written", file=sys.stderr)
        elif not path or data is None:
            print(f"{prog}: interrupted after {done}; nothing written (no {flag} given)", file=sys.stderr)
        else:
            try:
                write_json(path, {**data, "interrupted": True})
                said = f"wrote them to {path} (marked \"interrupted\": true)"
            except OSError as e:
                said = f"could not write them to {path} ({e.strerror or e})"
            print(f"{prog}: interrupted after {done}; {said}", file=sys.stderr)
    return 130


def interrupted_appending(prog, path, appended) -> int:
    """After a Ctrl-C in a script that appends one line per run: say how many lines this run added to
    ``path`` (the run under way is lost); returns 130."""
    said = f"this run appended {appended} row(s) to {path}, the run under way was dropped"
    print(f"{prog}: interrupted; {said}", file=sys.stderr)
    return 130
