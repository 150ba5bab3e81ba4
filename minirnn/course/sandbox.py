"""The isolated process that runs student code, seen from the grader: start it, talk to it, and make it
disappear.

A :class:`Sandbox` is a fresh temporary folder and a process tree:

    grader ──fork──> keeper (trusted: a new session, Linux child subreaper)
                       └──fork+exec──> python -I -S sandbox_child.py WORKDIR   (student code, its own session)

* the folder holds ``site/`` (NumPy only: a link to it or, where the sandbox user cannot reach NumPy's real
  folder, a read-only bind mount of it in the child's mount namespace: ``isolation.numpy_links``), ``kit/``
  (the kit's ``common.py`` and ``sandbox_child.py``), ``student/`` (a copy of the student's files, last on
  ``sys.path``) and ``scratch/`` (the working directory); ``minirnn``, ``gradcheck`` and the grader are on no
  path the child has;
* as root on Linux, the child gets its own mount namespace in which the grader's packages (minirnn, gradcheck)
  are covered by an empty tmpfs, so they cannot be read from disk either (``isolation.hidden_folders``);
* when the grader runs as root, the child runs as an unprivileged user (``nobody`` unless
  ``MINIRNN_SANDBOX_USER`` says otherwise) that can read the folder but write only ``scratch/``; results are
  never written by the child;
* the two talk through pipes in the wire format of ``sandbox_child`` (plain data, never a pickle), with a
  deadline;
* the keeper outlives every descendant of the child: orphans are re-parented to it (subreaper), and when the
  child ends or the grader says stop, it kills the child's group and every process re-parented to it, until
  it has no child left; only then does it exit. :meth:`Sandbox.close` waits for that before anything is
  reported.

Example:
    >>> import tempfile, os
    >>> folder = tempfile.mkdtemp(); open(os.path.join(folder, "rnn.py"), "w").write("x = 1\\n")
    6
    >>> with Sandbox(folder) as box:
    ...     box.start()
    >>> box.alive()
    False
"""

from __future__ import annotations

import os
import select
import shutil
import signal
import tempfile
import time
from pathlib import Path

from . import sandbox_child
from .isolation import (
    _LIBC,
    BIND_FAILED,
    bind_folders,
    child_python,
    hidden_folders,
    hide_folders,
    numpy_links,
    sandbox_user,
)
from .sandbox_child import read_message, write_message

STARTUP_TIMEOUT = 60.0  # seconds for the child to import NumPy on a busy machine
PR_SET_CHILD_SUBREAPER = 36
MAX_CALLS = 20000  # answers of the reference helpers per part


class SandboxTimeout(Exception):
    """The child did not answer within the deadline."""


class SandboxCrashed(Exception):
    """The child died, or sent something that is not a message."""


def _kit_common() -> str:
    from .skeleton import render_common

    return render_common()


def _process_table() -> dict:
    """pid -> (parent pid, state letter) of every process, from /proc (empty where there is no /proc)."""
    table = {}
    for entry in os.listdir("/proc") if os.path.isdir("/proc") else []:
        if entry.isdigit():
            try:
                fields = Path(f"/proc/{entry}/stat").read_text().rsplit(")", 1)[1].split()
            except (OSError, IndexError):
                continue
            table[int(entry)] = (int(fields[1]), fields[0])
    return table


def descendants(root: int) -> list[int]:
    """The live (not zombie) processes below ``root``, at any depth."""
    table = _process_table()
    children = {}
    for pid, (ppid, _) in table.items():
        children.setdefault(ppid, []).append(pid)
    found, todo = [], list(children.get(root, []))
    while todo:
        pid = todo.pop()
        todo += children.get(pid, [])
        if table[pid][1] != "Z":
            found.append(pid)
    return found


def _sweep(spare=()) -> None:
    """Kill every live process below this one except ``spare`` (their descendants included), until none is
    left; reap the ones that are our children, and never wait for a spared one."""
    while True:
        victims = [pid for pid in descendants(os.getpid()) if pid not in spare]
        if not victims:
            return
        for pid in victims:
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass
        time.sleep(0.001)
        for pid in victims:
            try:
                os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                pass


def _start_child(
    workdir: str, python: str, user, to_child: tuple, from_child: tuple, hide: list, binds: list
) -> None:
    """In the keeper's fork: a new session, the pipes on fd 0 and 1, folders hidden, NumPy mounted where the
    sandbox user can read it (``binds``), privileges dropped, exec."""
    try:
        os.setsid()
        os.dup2(to_child[0], 0)
        os.dup2(from_child[1], 1)
        os.dup2(os.open(os.devnull, os.O_WRONLY), 2)
        hidden = hide_folders(hide)  # best effort: Linux and root only
        if binds and not (hidden and bind_folders(binds)):
            os._exit(BIND_FAILED)
        if user is not None:
            os.setgroups([])
            os.setgid(user[1])
            os.setuid(user[0])
        scratch = os.path.join(workdir, "scratch")
        os.chdir(scratch)
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": scratch,
            "TMPDIR": scratch,
            "OPENBLAS_NUM_THREADS": "1",
            "OMP_NUM_THREADS": "1",
            "MKL_NUM_THREADS": "1",
        }
        os.execve(
            python, [python, "-I", "-S", os.path.join(workdir, "kit", "sandbox_child.py"), workdir], env
        )
    finally:
        os._exit(127)


def _keeper(
    workdir: str, python: str, user, to_child: tuple, from_child: tuple, hide: list, binds: list, ack: int
) -> None:
    """The trusted process between the grader and the child (runs in the fork; never returns).

    SIGUSR1 (between two parts): kill every process below it but the child, then write one byte to ``ack``.
    SIGTERM, or the child's end: kill everything below it, reap it all, exit with the child's status.
    """
    status = 250
    try:
        signal.signal(signal.SIGTERM, _stop)
        os.setsid()
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0)
        child = os.fork()
        if child == 0:
            _start_child(workdir, python, user, to_child, from_child, hide, binds)

        def between_parts(*_):
            _sweep(spare=(child,))
            os.write(ack, b"k")

        signal.signal(signal.SIGUSR1, between_parts)
        for fd in (*to_child, *from_child):
            os.close(fd)
        try:
            status = os.waitstatus_to_exitcode(os.waitpid(child, 0)[1])
        except _Stop:
            status = 0
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGUSR1, signal.SIG_IGN)
        _kill_all(child)
        status = status if status >= 0 else 128 - status
    finally:
        os._exit(min(max(status, 0), 255))


class _Stop(Exception):
    """The grader asked the keeper to end the tree."""


def _stop(*_):
    raise _Stop


def _kill_all(child: int) -> None:
    """Kill the child's group and every process below us, and reap them all, until none is left."""
    try:
        os.killpg(child, signal.SIGKILL)
    except OSError:
        pass
    while True:
        _sweep()
        try:
            pid, _ = os.waitpid(-1, os.WNOHANG)
        except ChildProcessError:
            if not descendants(os.getpid()):
                return
            continue
        if pid == 0:
            time.sleep(0.001)


class Sandbox:
    """One sandbox for the files of ``folder`` (or the dict ``files``: name -> text); use it as a context
    manager."""

    def __init__(self, folder=None, files: dict | None = None):
        self.user = sandbox_user()
        self.python = child_python(self.user)
        self.workdir = tempfile.mkdtemp(prefix="minirnn-sandbox-")
        root = Path(self.workdir)
        for sub in ("site", "kit", "student", "scratch"):
            (root / sub).mkdir()
        self.binds = numpy_links(root / "site", self.user)
        (root / "kit" / "common.py").write_text(_kit_common())
        (root / "kit" / "sandbox_child.py").write_text(Path(sandbox_child.__file__).read_text())
        files = dict(files or {})
        if folder is not None:
            files.update(
                {
                    p.name: p.read_text(errors="replace")
                    for p in sorted(Path(folder).glob("*.py"))
                    if p.is_file() and p.name != "common.py"
                }
            )
        for name, text in files.items():
            (root / "student" / Path(name).name).write_text(text)
        for path in (root, *root.iterdir(), *(root / "kit").iterdir(), *(root / "student").iterdir()):
            if not path.is_symlink():
                path.chmod(0o755 if path.is_dir() else 0o644)
        if self.user is not None:
            os.chown(root / "scratch", *self.user)
        self.keeper = None
        self.hide = hidden_folders()

    # -- lifetime --------------------------------------------------------------------------------------------
    def start(self) -> None:
        """Start the keeper and the child, and wait for the child's first message."""
        to_child, from_child, ack = os.pipe(), os.pipe(), os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(ack[0])
            _keeper(self.workdir, self.python, self.user, to_child, from_child, self.hide, self.binds, ack[1])
        self.keeper = pid
        os.close(to_child[0])
        os.close(from_child[1])
        os.close(ack[1])
        self.ack = os.fdopen(ack[0], "rb", buffering=0)
        self.writer = os.fdopen(to_child[1], "wb", buffering=0)
        self.reader = os.fdopen(from_child[0], "rb", buffering=0)
        try:
            ready = self.receive(STARTUP_TIMEOUT).get("kind") == "ready"
        except SandboxCrashed:
            if self.stop() != BIND_FAILED:
                raise
            raise SandboxCrashed(
                f"the sandbox user cannot read NumPy at {self.binds[0][0]} and it could not be mounted into "
                "the sandbox (that needs root on Linux): install NumPy where every user can read it, or set "
                "MINIRNN_SANDBOX_PYTHON to an interpreter whose NumPy they can"
            ) from None
        if not ready:
            raise SandboxCrashed("the grading process did not start")

    def run(self, task: dict, timeout: float, answer) -> dict:
        """Send one task; answer the child's helper calls with ``answer(message) -> reply``; return its
        result."""
        self.send(task)
        deadline, calls = time.monotonic() + timeout, 0
        while True:
            message = self.receive(deadline - time.monotonic())
            if message.get("kind") == "result":
                return message
            if message.get("kind") != "call" or calls >= MAX_CALLS:
                raise SandboxCrashed("the grading process sent a message that is neither a result nor a call")
            calls += 1
            self.send(answer(message))

    def sweep(self, timeout: float = 10.0) -> None:
        """Between two parts: the keeper kills every process of the sandbox but the child itself."""
        try:
            os.kill(self.keeper, signal.SIGUSR1)
        except OSError:
            raise SandboxCrashed("the sandbox's keeper is gone") from None
        if not select.select([self.ack], [], [], timeout)[0] or self.ack.read(1) != b"k":
            raise SandboxCrashed("the sandbox's keeper did not clear the processes left by the last part")

    def alive(self) -> bool:
        """Whether the keeper (and so possibly some process of the sandbox) still runs."""
        return self.keeper is not None

    def stop(self) -> int | None:
        """End the tree: the keeper kills every descendant and exits; returns its exit status (the
        child's)."""
        if self.keeper is None:
            return None
        for stream in (self.writer, self.reader, self.ack):
            stream.close()
        status = None
        try:
            os.kill(self.keeper, signal.SIGTERM)
        except OSError:
            pass
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            pid, code = os.waitpid(self.keeper, os.WNOHANG)
            if pid:
                status = os.waitstatus_to_exitcode(code)
                break
            time.sleep(0.005)
        if status is None:  # the keeper hung: end its session by force
            os.killpg(self.keeper, signal.SIGKILL)
            status = os.waitstatus_to_exitcode(os.waitpid(self.keeper, 0)[1])
        self.keeper = None
        return status

    def close(self) -> None:
        """Stop the tree and remove the folder."""
        self.stop()
        shutil.rmtree(self.workdir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # -- talking ---------------------------------------------------------------------------------------------
    def send(self, message: dict) -> None:
        try:
            write_message(self.writer, message)
        except (BrokenPipeError, OSError) as e:
            raise SandboxCrashed(f"the grading process is gone ({e.__class__.__name__})") from None

    def receive(self, timeout: float) -> dict:
        """The child's next message within ``timeout`` seconds (SandboxTimeout, or SandboxCrashed for
        anything else)."""
        ready, _, _ = select.select([self.reader], [], [], max(timeout, 0))
        if not ready:
            raise SandboxTimeout(f"no answer within {timeout:g} s")
        try:
            return _with_deadline(self.reader, time.monotonic() + max(timeout, 1.0))
        except EOFError:
            raise SandboxCrashed("the grading process died") from None
        except sandbox_child.WireError as e:
            raise SandboxCrashed(f"the grading process sent something that is not a result ({e})") from None


class _DeadlineReader:
    """A binary stream whose reads fail once the deadline has passed (a child cannot stall the grader
    mid-message)."""

    def __init__(self, stream, deadline: float):
        self.stream, self.deadline = stream, deadline

    def read(self, n: int) -> bytes:
        left = self.deadline - time.monotonic()
        if left <= 0 or not select.select([self.stream], [], [], left)[0]:
            raise SandboxTimeout("the grading process stopped in the middle of a message")
        return self.stream.read(n)


def _with_deadline(stream, deadline: float) -> dict:
    return read_message(_DeadlineReader(stream, deadline))
