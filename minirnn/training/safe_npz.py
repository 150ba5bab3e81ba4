"""Reading an ``.npz`` file that may be hostile: every declared size is checked before a byte of data is read.

An ``.npz`` is a zip archive of ``.npy`` files. ``numpy.load`` trusts both layers: a 0.8 MB archive whose
entry inflates to 800 MB is inflated in full before anything can look at it, and an ``.npy`` header declaring
shape ``(10**15,)`` makes NumPy try to allocate it. Here the zip's central directory (names, compressed and
declared sizes) and each ``.npy`` header (dtype, shape) are read first, and the file is refused unless

    declared size of each entry <= MAX_ENTRY_BYTES,           sum of declared sizes <= MAX_TOTAL_BYTES,
    declared size <= MAX_RATIO * compressed size + 4096       (np.savez stores without compression: ratio 1),
    header size + prod(shape) * itemsize == declared size     (the header says what the data must be),
    dtype is a plain number, bool or string (no objects: they would need pickle).

Only then is the data read, at most the declared number of bytes per entry. Anything else raises
``ValueError``
naming the file and the entry. This file knows nothing about checkpoints: ``checkpoint.py`` uses it.
"""

from __future__ import annotations

import os
import zipfile

import numpy as np

__all__ = ["read_npz", "MAX_ENTRY_BYTES", "MAX_TOTAL_BYTES", "MAX_RATIO", "MAX_ENTRIES"]

MAX_ENTRY_BYTES = 1 << 34  # 16 GiB: far beyond any model this library trains
MAX_TOTAL_BYTES = 1 << 35  # 32 GiB
MAX_RATIO = 20  # deflate reaches ~1000:1 on zeros; real float arrays barely compress
MAX_ENTRIES = 100_000
_MAX_HEADER = 10_000  # NumPy's own limit on an .npy header


def _header(member, path, name):
    """dtype, shape, fortran_order and header length of the ``.npy`` file ``member`` (an open zip entry)."""
    fmt = np.lib.format
    try:
        major, _minor = fmt.read_magic(member)
        if major == 1:
            shape, fortran, dtype = fmt.read_array_header_1_0(member, max_header_size=_MAX_HEADER)
        elif major in (2, 3):
            shape, fortran, dtype = fmt.read_array_header_2_0(member, max_header_size=_MAX_HEADER)
        else:
            raise ValueError(f"unknown .npy format version {major}")
    except (ValueError, OSError, EOFError, SyntaxError, TypeError, zipfile.BadZipFile) as e:
        raise ValueError(f"{path!r}: entry {name!r} is not a readable .npy array: {e}") from None
    return dtype, shape, fortran, member.tell()


def _check_declared(info, path, total, file_size):
    """Refuse an entry whose declared (uncompressed) size is out of bounds, before reading it."""
    name = info.filename
    if info.file_size > MAX_ENTRY_BYTES:
        raise ValueError(
            f"{path!r}: entry {name!r} declares {info.file_size} bytes, more than the "
            f"{MAX_ENTRY_BYTES} this reader accepts"
        )
    if info.file_size > MAX_RATIO * info.compress_size + 4096:
        raise ValueError(
            f"{path!r}: entry {name!r} declares {info.file_size} bytes from {info.compress_size} "
            f"compressed ones (more than {MAX_RATIO}:1): refused before inflating it"
        )
    if info.compress_size > file_size:
        raise ValueError(
            f"{path!r}: entry {name!r} declares {info.compress_size} compressed bytes in a file of "
            f"{file_size} (truncated?)"
        )
    if total > MAX_TOTAL_BYTES:
        raise ValueError(
            f"{path!r} declares {total} bytes in all, more than the {MAX_TOTAL_BYTES} this reader accepts"
        )


def read_npz(path) -> dict:
    """Every array of the ``.npz`` at ``path`` by name (without ``.npy``), checking sizes before reading data.

    Raises ``ValueError`` naming the file (and the entry) if it is not a zip, an entry is not an ``.npy``
    array, or a declared size is out of the bounds of the module docstring; ``FileNotFoundError`` if there is
    no file.

    Example:
        >>> import tempfile, os
        >>> p = os.path.join(tempfile.mkdtemp(), "a.npz"); np.savez(p, w=np.arange(3.0))
        >>> read_npz(p)["w"].tolist()
        [0.0, 1.0, 2.0]
    """
    path = os.fspath(path)
    file_size = os.path.getsize(path)
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
        raise ValueError(f"{path!r} is not a readable .npz file (truncated or corrupted?): {e}") from None
    with archive:
        infos = archive.infolist()
        if len(infos) > MAX_ENTRIES:
            raise ValueError(
                f"{path!r} has {len(infos)} entries, more than the {MAX_ENTRIES} this reader accepts"
            )
        total, names = 0, set()
        for info in infos:
            total += info.file_size
            _check_declared(info, path, total, file_size)
            if not info.filename.endswith(".npy") or info.filename[:-4] in names:
                raise ValueError(f"{path!r}: entry {info.filename!r} is not a (unique) .npy array")
            names.add(info.filename[:-4])
        out = {}
        for info in infos:
            out[info.filename[:-4]] = _read_entry(archive, info, path)
    return out


def _read_entry(archive, info, path):
    """One entry's array: header checked against the declared size, then at most that many bytes read."""
    name = info.filename
    try:
        with archive.open(info) as member:
            dtype, shape, fortran, header_len = _header(member, path, name)
            if dtype.hasobject or dtype.kind not in "biufcUS":
                raise ValueError(
                    f"{path!r}: entry {name!r} has dtype {dtype}; only numbers, bools and strings "
                    f"are read (objects would need pickle)"
                )
            count = 1
            for n in shape:
                count *= int(n)
            if count * dtype.itemsize + header_len != info.file_size:
                raise ValueError(
                    f"{path!r}: entry {name!r} declares shape {shape} of {dtype} "
                    f"({count * dtype.itemsize} bytes) but holds {info.file_size - header_len}"
                )
            data = member.read(count * dtype.itemsize)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError, NotImplementedError) as e:
        raise ValueError(f"{path!r}: entry {name!r} cannot be read (truncated or corrupted?): {e}") from None
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"{path!r}: entry {name!r} is truncated")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran else "C").copy()
