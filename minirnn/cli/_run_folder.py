"""The run folder of ``minirnn train --out``: made writable, locked against a second ``train``, and never
replaced without being asked.

    with run_folder(out) as folder:      # made (or refused with a sentence), probed for writing, locked
        ...                              # a second process on the same folder gets RunFolderError at once

The lock is an advisory ``flock`` on ``OUT/.lock`` held for the whole run: the operating system releases it
when the process ends, however it ends, so a killed run never leaves a stale lock. Where ``fcntl`` does not
exist (Windows) there is no lock. Every problem raises :class:`RunFolderError` with one sentence for the user.
"""

from __future__ import annotations

import contextlib
import os
import tempfile

from ._errors import UsageError

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None

__all__ = ["RunFolderError", "run_folder", "memory_available"]


class RunFolderError(UsageError):
    """A problem with ``--out`` (not a folder, not writable, in use); the message is one sentence."""


def _make(folder):
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise RunFolderError(f"--out {folder!r} is a file, not a folder; choose a folder for the run")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise RunFolderError(
            f"--out {folder!r} cannot be created ({e.strerror}: "
            f"{e.filename or folder}); choose another folder"
        ) from None
    try:  # can we write there? (permissions, read-only file system)
        fd, probe = tempfile.mkstemp(prefix=".probe-", dir=folder)
        os.close(fd)
        os.remove(probe)
    except OSError as e:
        raise RunFolderError(
            f"--out {folder!r} is not writable ({e.strerror}); choose another folder"
        ) from None


@contextlib.contextmanager
def run_folder(folder):
    """Make ``folder``, check it can be written, and hold its lock while inside (see the module docstring)."""
    _make(folder)
    if fcntl is None:  # pragma: no cover
        yield folder
        return
    path = os.path.join(folder, ".lock")
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            other = os.pread(fd, 32, 0).decode(errors="replace").strip() or "unknown"
            raise RunFolderError(
                f"--out {folder!r} is in use by another `minirnn train` (pid {other}); wait for "
                f"it to finish or choose another --out"
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, str(os.getpid()).encode(), 0)
        yield folder
    finally:
        os.close(fd)  # releases the lock


def memory_available() -> int | None:
    """Bytes of memory available to a new allocation (``MemAvailable`` on Linux, else physical memory), or
    None."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return None
