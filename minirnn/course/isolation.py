"""Who the sandboxed child runs as and what it can see: the unprivileged user, an interpreter that user can
run, the grader's packages hidden and NumPy shown (Linux mount namespaces, as root).

Used by :mod:`minirnn.course.sandbox` in the forked child before it executes the student's interpreter.

Example:
    >>> user = sandbox_user()  # None unless the grader runs as root
    >>> os.path.isfile(child_python(user))
    True
"""

from __future__ import annotations

import ctypes
import os
import pwd
import sys
from pathlib import Path

import numpy as np

# loaded before any fork
_LIBC = ctypes.CDLL(None, use_errno=True) if sys.platform.startswith("linux") else None


def sandbox_user():
    """(uid, gid) the child runs as: None when the grader is not root; else ``MINIRNN_SANDBOX_USER`` or
    nobody."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("MINIRNN_SANDBOX_USER", "nobody")
    if name in ("", "root"):
        return None  # explicitly asked: same user (tests only)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise ValueError(
            f"MINIRNN_SANDBOX_USER must name a user of this system for the student code to run as, "
            f"got {name!r}"
        ) from None
    return entry.pw_uid, entry.pw_gid


def check_sandbox() -> None:
    """Refuse, before anything is graded, a sandbox that cannot start on this machine: an unknown
    ``MINIRNN_SANDBOX_USER`` (``ValueError``) or no interpreter the sandbox user can run (``RuntimeError``).
    Found only inside the first part, either would score every part of every student 0."""
    child_python(sandbox_user())


def _reachable(path) -> bool:
    """Whether anyone (the 'other' permission bits) can reach ``path`` and run it (a file) or list it (a
    folder)."""
    real = Path(os.path.realpath(path))
    wanted = 0o005 if real.is_dir() else 0o001
    if not (real.is_file() or real.is_dir()) or real.stat().st_mode & wanted != wanted:
        return False
    return all(parent.stat().st_mode & 0o001 for parent in real.parents)


def child_python(user) -> str:
    """The interpreter for the child: ``MINIRNN_SANDBOX_PYTHON``, this one, or a system one of the same
    version."""
    chosen = os.environ.get("MINIRNN_SANDBOX_PYTHON")
    if chosen:
        return chosen
    if user is None or _reachable(sys.executable):
        return sys.executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for candidate in (f"/usr/bin/{version}", f"/usr/local/bin/{version}"):
        if _reachable(candidate):
            return candidate
    raise RuntimeError(
        f"the sandbox user cannot run {sys.executable} and there is no /usr/bin/{version}; set "
        f"MINIRNN_SANDBOX_PYTHON to an interpreter every user can run"
    )


MS_RDONLY, MS_NOSUID, MS_NODEV, MS_REMOUNT, MS_BIND, MS_REC = 1, 2, 4, 32, 4096, 1 << 14
MS_PRIVATE, CLONE_NEWNS = 1 << 18, 0x00020000
BIND_FAILED = 125  # the child's exit status when NumPy could not be mounted into the sandbox


def hidden_folders() -> list[str]:
    """The folders the child must not read: the grader's own packages (minirnn, gradcheck) and
    ``MINIRNN_SANDBOX_HIDE`` (folders separated by ``:``)."""
    import gradcheck
    import minirnn

    folders = [str(Path(minirnn.__file__).parent), str(Path(gradcheck.__file__).parent)]
    return folders + [f for f in os.environ.get("MINIRNN_SANDBOX_HIDE", "").split(":") if f]


def hide_folders(folders) -> bool:
    """In a new mount namespace, cover each folder with an empty read-only tmpfs (Linux, as root; else
    False)."""
    if _LIBC is None or os.geteuid() != 0 or _LIBC.unshare(CLONE_NEWNS) != 0:
        return False
    if _LIBC.mount(b"none", b"/", None, MS_REC | MS_PRIVATE, None) != 0:
        return False
    return all(
        _LIBC.mount(b"tmpfs", f.encode(), b"tmpfs", MS_RDONLY | MS_NOSUID | MS_NODEV, b"size=4k") == 0
        for f in folders
        if os.path.isdir(f)
    )


def bind_folders(binds) -> bool:
    """In the child's mount namespace, show each ``(source, target)`` folder read-only at ``target`` (a bind
    mount: the sandbox user reads NumPy there even when a folder above its real place is closed to it)."""
    for source, target in binds:
        if _LIBC.mount(source.encode(), target.encode(), None, MS_BIND | MS_REC, None) != 0:
            return False
        flags = MS_BIND | MS_REMOUNT | MS_RDONLY | MS_NOSUID | MS_NODEV
        if _LIBC.mount(None, target.encode(), None, flags, None) != 0:
            return False
    return True


def numpy_folder() -> Path:
    """The folder of the NumPy the grader imported (the child imports the very same one)."""
    return Path(np.__file__).parent


def numpy_links(site: Path, user) -> list:
    """Put NumPy on the child's path in ``site``: a symlink where the sandbox user can read NumPy's folder,
    else an empty folder to bind-mount it onto; returns the ``(source, target)`` pairs to mount.

    A Python installed under a closed folder (pyenv in ``/root``, say) has its NumPy there too: the
    unprivileged child could not follow a symlink into it.
    """
    numpy_dir = numpy_folder()
    binds = []
    for name in ("numpy", "numpy.libs"):
        source = numpy_dir.parent / name
        if not source.is_dir():
            continue
        if user is None or _reachable(source):
            (site / name).symlink_to(source)
        else:
            (site / name).mkdir()
            binds.append((str(source), str(site / name)))
    return binds
