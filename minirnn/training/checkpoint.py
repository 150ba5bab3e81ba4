"""Checkpoints: a model's parameters, its optimizer's state, the random generators and the training history
in one ``.npz`` file, written atomically and checked on the way back in.

This file holds only saving and loading; the training loop that calls it is in ``training/loop.py``, the
reader that checks every declared size before reading data in ``training/safe_npz.py``.

Layout of the ``.npz`` (plain arrays, ``allow_pickle=False``)::

    param/<name>        every model parameter (PyTorch names: rnn.weight_ih_l0, fc.bias, ...)
    optim/<key>         the optimizer's state_dict (hyperparameters, step, exp_avg:<name>, ...)
    array/<key>         extra arrays the caller wants back (the hidden state carried between BPTT chunks,
    history)
    meta                a JSON string: format version, model repr and config, step, RNG states, anything else
    checksum            sha256 over every other entry's name, dtype, shape and bytes

Writing goes to a temporary file in the same folder (with the permissions the umask gives any new file), is
flushed and fsync'ed, then ``os.replace``'d over the target:
a crash leaves either the old checkpoint or the new one, never half of one. Loading checks the checksum, the
format version, the type of every field, every generator state and the model's architecture BEFORE touching
anything: a
truncated, corrupted, crafted, mismatched or future file raises ``ValueError`` naming the file and the field,
and leaves the model, the optimizer and the generators exactly as they were.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zipfile

import numpy as np

from .safe_npz import read_npz

__all__ = [
    "FORMAT_VERSION",
    "atomic_write",
    "save_checkpoint",
    "load_checkpoint",
    "read_checkpoint",
    "rng_state",
    "set_rng_state",
]

#: Bumped whenever the layout changes; files with a larger version are refused.
FORMAT_VERSION = 1


def _checksum(arrays: dict) -> str:
    """sha256 over the entries in name order: name, dtype, shape and raw bytes of each."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(name.encode())
        h.update(str(a.dtype).encode())
        h.update(str(a.shape).encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _check_path(path) -> str:
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"path must be a str or os.PathLike naming the .npz file, got {type(path).__name__}")
    return os.fspath(path)


def rng_state(rng: np.random.Generator) -> dict:
    """The full state of a Generator as JSON-able data (the bit generator's own dict; 128-bit ints stay
    exact).

    Example:
        >>> g = np.random.default_rng(0); s = rng_state(g); a = g.random()
        >>> set_rng_state(g, s); g.random() == a
        True
    """
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    return rng.bit_generator.state


def set_rng_state(rng: np.random.Generator, state: dict) -> None:
    """Put ``rng`` back into ``state`` (from :func:`rng_state`), in place."""
    if state.get("bit_generator") != type(rng.bit_generator).__name__:
        raise ValueError(
            f"the saved RNG state is for a {state.get('bit_generator')!r} bit generator, "
            f"got a Generator on {type(rng.bit_generator).__name__!r}"
        )
    rng.bit_generator.state = state


def _module_rngs(model) -> dict:
    """Every Generator a model owns (the layers' dropout generators), by dotted module path."""
    found = {}

    def walk(module, prefix):
        for attr, value in vars(module).items():
            if isinstance(value, np.random.Generator):
                found[f"{prefix}{attr}"] = value
        for name, sub in getattr(module, "_modules", {}).items():
            walk(sub, f"{prefix}{name}.")

    walk(model, "")
    return found


def _mode_from_umask() -> int:
    """The permissions ``open()`` gives a new file under the current umask (0o666 minus the umask's bits)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return 0o666 & ~mask


def atomic_write(path, write) -> str:
    """Make ``path`` hold what ``write(f)`` writes to the binary file ``f``, all of it or none of it.

    ``write`` writes to a temporary file in the same folder (with the permissions the umask gives any new
    file), which is flushed, fsync'ed and ``os.replace``'d over ``path``: a crash, an error or a Ctrl-C
    leaves the old file (or none) and no temporary. Checkpoints, and the benchmarks' result files, go
    through here.

    Returns:
        ``path`` as a str.

    Example:
        >>> import tempfile, os
        >>> p = atomic_write(os.path.join(tempfile.mkdtemp(), "a.txt"), lambda f: f.write(b"new"))
        >>> open(p, "rb").read()
        b'new'
    """
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", suffix=os.path.splitext(path)[1], dir=folder)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, _mode_from_umask())  # mkstemp makes it 0600; a figure next to it gets 0644
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    try:  # make the rename itself durable
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except OSError:  # pragma: no cover - some filesystems refuse fsync on a folder
        pass
    return path


def save_checkpoint(path, model, optimizer=None, *, rng=None, arrays=None, meta=None) -> str:
    """Write ``model`` (+ ``optimizer``, ``rng``, extra ``arrays`` and JSON ``meta``) to ``path`` atomically.

    Args:
        path: the ``.npz`` file to (over)write; its folder must exist.
        model: a Module (``params``); its dropout generators are saved too.
        optimizer: an optimizer with ``state_dict()``, or None.
        rng: the training loop's Generator (batches), or None.
        arrays: dict name -> ndarray to store as well (e.g. the carried hidden state), or None.
        meta: a JSON-able dict (step, config, ...), or None.

    Returns:
        the path written, a str.

    Example:
        >>> import tempfile, os
        >>> from minirnn.nn import Linear
        >>> lin = Linear(3, 2, seed=0)
        >>> p = save_checkpoint(os.path.join(tempfile.mkdtemp(), "ck.npz"), lin, meta={"step": 7})
        >>> read_checkpoint(p)["meta"]["step"]
        7

    The file is written by :func:`atomic_write`, after the checksum over every entry is computed.
    """
    path = _check_path(path)
    if not isinstance(getattr(model, "params", None), dict):
        raise TypeError(f"model must be a minirnn Module (with a params dict), got {type(model).__name__}")
    if optimizer is not None and not callable(getattr(optimizer, "state_dict", None)):
        raise TypeError(
            f"optimizer must be a minirnn optimizer (with state_dict()) or None, "
            f"got {type(optimizer).__name__}"
        )
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"path must be in an existing folder, got {path!r} (no folder {folder!r})")
    entries = {f"param/{k}": np.asarray(v) for k, v in model.params.items()}
    info = {
        "format_version": FORMAT_VERSION,
        "model": repr(model),
        "meta": meta or {},
        "rng": None if rng is None else rng_state(rng),
        "module_rngs": {k: rng_state(g) for k, g in _module_rngs(model).items()},
        "optimizer": None,
    }
    if optimizer is not None:
        scalars = {}
        for key, value in optimizer.state_dict().items():
            if isinstance(value, np.ndarray):
                entries[f"optim/{key}"] = value
            else:
                scalars[key] = value
        info["optimizer"] = scalars
    for key, value in (arrays or {}).items():
        entries[f"array/{key}"] = np.asarray(value)
    for key, value in entries.items():  # object arrays would be pickled: unreadable without pickle
        if value.dtype.hasobject:
            raise TypeError(
                f"{key.replace('/', ' ')} must be a numeric array (it is saved without pickle), "
                f"got dtype object"
            )
    try:
        encoded = json.dumps(info)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"meta must be JSON-serialisable (numbers, strings, lists, dicts), got {meta!r}: {e}"
        ) from None
    entries["meta"] = np.array(encoded)
    entries["checksum"] = np.array(_checksum(entries))
    return atomic_write(path, lambda f: np.savez(f, **entries))


def _field_error(path, field, expected, value) -> ValueError:
    shown = repr(value)
    shown = shown if len(shown) <= 60 else shown[:57] + "..."
    return ValueError(f"checkpoint {path!r}: field {field!r} must be {expected}, got {shown}")


def _decode_info(path, entries) -> dict:
    """The ``meta`` entry as a dict whose fields have the types this file writes, or a ValueError naming the
    field."""
    raw = entries.pop("meta")
    if raw.shape != () or raw.dtype.kind != "U":
        raise _field_error(
            path, "meta", "a JSON string", f"an array of shape {raw.shape} and dtype {raw.dtype}"
        )
    try:
        info = json.loads(str(raw))
    except json.JSONDecodeError as e:  # pragma: no cover - the checksum would have caught it
        raise ValueError(f"checkpoint {path!r} has an unreadable meta entry: {e}") from None
    except RecursionError:
        raise ValueError(
            f"checkpoint {path!r}: field 'meta' is JSON nested too deeply to be a checkpoint's"
        ) from None
    if not isinstance(info, dict):
        raise _field_error(path, "meta", "a JSON object", info)
    version = info.get("format_version")
    if isinstance(version, bool) or not isinstance(version, int) or version > FORMAT_VERSION:
        raise ValueError(
            f"checkpoint {path!r} has format version {version!r}; this minirnn reads versions up to "
            f"{FORMAT_VERSION} (upgrade minirnn to read it)"
        )
    expected = {
        "meta": (dict, "a JSON object"),
        "model": (str, "a string (the model's repr)"),
        "optimizer": ((dict, type(None)), "a JSON object or null"),
        "rng": ((dict, type(None)), "a JSON object or null"),
        "module_rngs": (dict, "a JSON object"),
    }
    defaults = {"meta": {}, "model": None, "optimizer": None, "rng": None, "module_rngs": {}}
    for field, (kind, what) in expected.items():
        value = info.get(field, defaults[field])
        if field == "model" and value is None:
            continue
        if not isinstance(value, kind):
            raise _field_error(path, field, what, value)
    for name, state in info.get("module_rngs", {}).items():
        if not isinstance(state, dict):
            raise _field_error(path, f"module_rngs.{name}", "a JSON object (a bit generator's state)", state)
    step = info.get("meta", {}).get("step", 0)
    if isinstance(step, bool) or not isinstance(step, int) or step < 0:
        raise _field_error(path, "meta.step", "an integer >= 0", step)
    return info


def read_checkpoint(path) -> dict:
    """Read and verify a checkpoint without applying it.

    Returns ``{"params": {...}, "optimizer": {...} or None, "arrays": {...}, "meta": {...}, "rng": state or
    None, "module_rngs": {...}, "model": repr string, "format_version": int}``.

    Raises ``ValueError`` naming the file for anything that is not an intact checkpoint of a version this
    code knows: a missing entry, a bad zip, a declared size beyond the bounds of ``safe_npz`` (checked before
    any data is read), a checksum mismatch, a future format version, a field of the wrong type.
    """
    path = _check_path(path)
    if os.path.isdir(path):
        raise ValueError(f"checkpoint {path!r} is a folder, not a checkpoint file")
    if not os.path.isfile(path):
        raise FileNotFoundError(f"checkpoint {path!r} does not exist")
    try:
        entries = read_npz(path)
    except ValueError as e:
        raise ValueError(f"checkpoint {e}") from None
    except OSError as e:
        raise ValueError(f"checkpoint {path!r} cannot be read: {e}") from None
    for key in ("meta", "checksum"):
        if key not in entries:
            raise ValueError(f"checkpoint {path!r} has no {key!r} entry: not a minirnn checkpoint")
    checksum = entries.pop("checksum")
    if checksum.shape != () or checksum.dtype.kind != "U" or _checksum(entries) != str(checksum):
        raise ValueError(f"checkpoint {path!r} is corrupted: its sha256 checksum does not match its contents")
    info = _decode_info(path, entries)
    out = {
        "params": {},
        "arrays": {},
        "optimizer": None,
        "meta": info.get("meta", {}),
        "rng": info.get("rng"),
        "module_rngs": info.get("module_rngs", {}),
        "model": info.get("model"),
        "format_version": info["format_version"],
    }
    optim = None if info.get("optimizer") is None else dict(info["optimizer"])
    for key, value in entries.items():
        kind, _, name = key.partition("/")
        if kind == "param":
            out["params"][name] = value
        elif kind == "array":
            out["arrays"][name] = value
        elif kind == "optim" and optim is not None:
            optim[name] = value
    out["optimizer"] = optim
    return out


def _check_rng_state(path, field, state, bit_generator) -> None:
    """Refuse a saved generator state that ``bit_generator`` would not take, without touching any live
    generator."""
    if state.get("bit_generator") != type(bit_generator).__name__:
        raise ValueError(
            f"checkpoint {path!r}: field {field!r} saved a {state.get('bit_generator')!r} generator, "
            f"the one to restore is a {type(bit_generator).__name__!r} one"
        )
    try:
        type(bit_generator)().state = state  # a throwaway generator of the same kind
    except (TypeError, ValueError, KeyError, OverflowError) as e:
        raise _field_error(
            path, field, f"a valid {type(bit_generator).__name__} state ({e})", state
        ) from None


def load_checkpoint(path, model, optimizer=None, *, rng=None) -> dict:
    """Restore ``model`` (and ``optimizer``, ``rng``, the model's dropout generators) from ``path``, all or
    nothing.

    The model must have the same architecture as the saved one: same ``repr`` and the same parameter names
    and shapes. Any problem (see :func:`read_checkpoint`, or a mismatch) raises ``ValueError`` and changes
    nothing.

    Returns:
        the checkpoint as :func:`read_checkpoint` gives it (``meta``, ``arrays``, ...), to restore the rest
            of a run.

    Example:
        >>> import tempfile, os
        >>> from minirnn.nn import Linear
        >>> p = save_checkpoint(os.path.join(tempfile.mkdtemp(), "ck.npz"), Linear(3, 2, seed=0))
        >>> lin = Linear(3, 2, seed=1); _ = load_checkpoint(p, lin)
        >>> bool(np.all(lin.weight == Linear(3, 2, seed=0).weight))
        True
    """
    if not isinstance(getattr(model, "params", None), dict):
        raise TypeError(f"model must be a minirnn Module (with a params dict), got {type(model).__name__}")
    if rng is not None and not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator or None, got {type(rng).__name__}")
    ck = read_checkpoint(path)
    if ck["model"] != repr(model):
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} holds a {ck['model']}, which cannot be loaded into a {model!r}"
        )
    params = model.params
    saved = ck["params"]
    if set(saved) != set(params):
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} has parameters {sorted(saved)}, the model has {sorted(params)}"
        )
    for name, p in params.items():
        if saved[name].shape != p.shape or saved[name].dtype != p.dtype:
            raise ValueError(
                f"checkpoint {os.fspath(path)!r}: parameter {name!r} must have shape {p.shape} and "
                f"dtype {p.dtype}, got {saved[name].shape} {saved[name].dtype}"
            )
    if optimizer is not None and ck["optimizer"] is None:
        raise ValueError(f"checkpoint {os.fspath(path)!r} has no optimizer state, but an optimizer was given")
    if rng is not None and ck["rng"] is None:
        raise ValueError(f"checkpoint {os.fspath(path)!r} has no RNG state, but rng was given")
    if rng is not None:
        _check_rng_state(os.fspath(path), "rng", ck["rng"], rng.bit_generator)
    module_rngs = _module_rngs(model)
    if set(module_rngs) != set(ck["module_rngs"]):
        raise ValueError(
            f"checkpoint {os.fspath(path)!r} has generators {sorted(ck['module_rngs'])}, the model "
            f"has {sorted(module_rngs)}"
        )
    for name, g in module_rngs.items():
        _check_rng_state(os.fspath(path), f"module_rngs.{name}", ck["module_rngs"][name], g.bit_generator)
    # Everything checked that can be checked without writing; keep a copy so a late failure can undo.
    old_params = model.state_dict()
    old_optim = optimizer.state_dict() if optimizer is not None else None
    try:
        model.load_state_dict(saved)  # checks every array (finite, fits the dtype), then writes
    except (ValueError, TypeError) as e:
        raise ValueError(
            f"checkpoint {os.fspath(path)!r}: field 'param' does not fit the model: {e}"
        ) from None
    if optimizer is not None:
        try:
            optimizer.load_state_dict(ck["optimizer"])  # checks every value, then writes
        except (ValueError, TypeError) as e:
            model.load_state_dict(old_params)
            optimizer.load_state_dict(old_optim)
            raise ValueError(
                f"checkpoint {os.fspath(path)!r}: field 'optimizer' does not fit {optimizer!r}: {e}"
            ) from None
    # Every state was tried on a throwaway generator above: these cannot fail half-way.
    if rng is not None:
        set_rng_state(rng, ck["rng"])
    for name, g in module_rngs.items():
        set_rng_state(g, ck["module_rngs"][name])
    return ck
