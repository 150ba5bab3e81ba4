"""The program that runs a student's code: the wire format, the part runner and the finite differences.

This file imports only NumPy and the standard library. The grader copies it into the sandbox and runs it there
(``python -I -S sandbox_child.py WORKDIR``) with a ``sys.path`` it builds itself: the standard library,
NumPy, the kit's ``common.py``, and the student's folder *last*. ``minirnn``, ``gradcheck`` and the grader
cannot be imported. The grader also imports this file, to run the reference through the very same calls and
to read the wire format.

Wire format (both directions): ``b"MRNN"``, a 4-byte header length, a JSON header, then each array as an
8-byte length and ``np.save`` bytes. In the header, an array is ``{"$a": k}``, a tuple ``{"$t": [...]}``, a
dict ``{"$d": [[key, value], ...]}``, anything else the student returns ``{"$o": "TypeName"}``. Reading never
unpickles (``np.load(allow_pickle=False)``), accepts only numeric dtypes and refuses sizes above the limits
before reading.

A part is described by plain data (``minirnn/course/parts.py`` writes it):
``{"name", "args": [names], "kwargs": {argument: name}, "returns": spec}``, where ``spec`` is a name, ``""``
(ignored), a list (a tuple of that many values), ``{"as": name, "of": spec}`` (bind the whole value, then
unpack) or ``{"keys": {key: name}}`` (a dict). The names are looked up in the case, a dict of arrays.

Example:
    >>> import io
    >>> buffer = io.BytesIO()
    >>> write_message(buffer, {"kind": "demo", "value": (np.arange(3.0), {"k": 1.5})})
    >>> _ = buffer.seek(0)
    >>> message = read_message(buffer)
    >>> message["kind"], message["value"][0].tolist(), message["value"][1]
    ('demo', [0.0, 1.0, 2.0], {'k': 1.5})
"""

from __future__ import annotations

import os
import sys

if __name__ == "__main__":  # in the sandbox: build sys.path before anything else is imported
    sys.path[:] = [p for p in sys.path if p and os.path.realpath(p) != os.path.realpath(sys.argv[1])]
    sys.path += [os.path.join(sys.argv[1], sub) for sub in ("site", "kit", "student")]  # the student's last

import importlib.util
import io
import json
import math
import struct
import traceback

import numpy as np

MAGIC = b"MRNN"
MAX_HEADER = 2**21  # bytes of JSON in one message
MAX_ARRAY_BYTES = 2**26  # bytes of arrays in one message
MAX_ARRAYS = 4096
MAX_DEPTH = 12
NUMERIC_KINDS = "biuf"  # bool, int, unsigned, float: nothing else is read


class WireError(Exception):
    """A message that is not in the wire format (or is too large): the part that sent it fails."""


class Mismatch(Exception):
    """The student's function returned something of the wrong kind (count, type or keys): the part fails."""


# -- the wire format -----------------------------------------------------------------------------------------
def _encode(value, arrays, depth=0):
    if depth > MAX_DEPTH:
        return {"$o": "too deeply nested"}
    if isinstance(value, (np.ndarray, np.generic)) and np.asarray(value).dtype.kind in NUMERIC_KINDS:
        arrays.append(np.ascontiguousarray(value))
        return {"$a": len(arrays) - 1}
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return value if math.isfinite(value) else {"$f": repr(float(value))}
    if isinstance(value, tuple):
        return {"$t": [_encode(v, arrays, depth + 1) for v in value]}
    if isinstance(value, list):
        return [_encode(v, arrays, depth + 1) for v in value]
    if isinstance(value, dict):
        return {"$d": [[str(k), _encode(v, arrays, depth + 1)] for k, v in value.items()]}
    return {"$o": type(value).__name__[:60]}


def write_message(stream, message: dict) -> None:
    """Write ``message`` (a dict of plain data and arrays) to the binary ``stream`` in the wire format."""
    arrays = []
    header = json.dumps(_encode(message, arrays)).encode()
    chunks = [MAGIC, struct.pack(">I", len(header)), header]
    for array in arrays:
        buffer = io.BytesIO()
        np.save(buffer, array, allow_pickle=False)
        chunks += [struct.pack(">Q", buffer.tell()), buffer.getvalue()]
    stream.write(b"".join(chunks))
    stream.flush()


def _exactly(stream, n: int) -> bytes:
    data = b""
    while len(data) < n:
        chunk = stream.read(n - len(data))
        if not chunk:
            raise EOFError("the stream ended inside a message")
        data += chunk
    return data


def _decode(value, arrays, depth=0):
    if depth > MAX_DEPTH:
        raise WireError("the message is nested too deeply")
    if isinstance(value, list):
        return [_decode(v, arrays, depth + 1) for v in value]
    if not isinstance(value, dict):
        return value
    if set(value) == {"$a"} and isinstance(value["$a"], int) and 0 <= value["$a"] < len(arrays):
        return arrays[value["$a"]]
    if set(value) == {"$t"} and isinstance(value["$t"], list):
        return tuple(_decode(v, arrays, depth + 1) for v in value["$t"])
    if set(value) == {"$d"} and isinstance(value["$d"], list):
        return {str(k): _decode(v, arrays, depth + 1) for k, v in value["$d"]}
    if set(value) == {"$f"} and value["$f"] in ("nan", "inf", "-inf"):
        return float(value["$f"])
    if set(value) == {"$o"}:
        return Opaque(str(value["$o"]))
    raise WireError(f"the message holds an object of unknown form {str(value)[:60]}")


class Opaque:
    """Something the student returned that is not plain data (a function, a class instance): kept as its type
    name."""

    def __init__(self, type_name: str):
        self.type_name = type_name

    def __repr__(self) -> str:
        return f"<{self.type_name}>"


def read_message(stream) -> dict:
    """Read one message: sizes are checked before anything is read, arrays come back as plain NumPy arrays."""
    if _exactly(stream, 4) != MAGIC:
        raise WireError("the message does not start with the magic bytes")
    (n,) = struct.unpack(">I", _exactly(stream, 4))
    if n > MAX_HEADER:
        raise WireError(f"the header holds {n} bytes, more than the limit {MAX_HEADER}")
    try:
        header = json.loads(_exactly(stream, n))
    except ValueError as e:
        raise WireError(f"the header is not JSON: {e}") from None
    count = json.dumps(header).count('{"$a"')
    if count > MAX_ARRAYS:
        raise WireError(f"the message holds {count} arrays, more than the limit {MAX_ARRAYS}")
    arrays, total = [], 0
    for _ in range(count):
        (size,) = struct.unpack(">Q", _exactly(stream, 8))
        total += size
        if total > MAX_ARRAY_BYTES:
            raise WireError(f"the arrays hold more than {MAX_ARRAY_BYTES} bytes")
        try:
            array = np.load(io.BytesIO(_exactly(stream, size)), allow_pickle=False)
        except ValueError as e:
            raise WireError(f"an array could not be read: {e}") from None
        if array.dtype.kind not in NUMERIC_KINDS:
            raise WireError(f"an array has dtype {array.dtype}; only numbers are read")
        arrays.append(array)
    message = _decode(header, arrays)
    if not isinstance(message, dict):
        raise WireError("the message is not a dict")
    return message


# -- calling a part ------------------------------------------------------------------------------------------
def _count(value) -> str:
    return f"{len(value)} values" if isinstance(value, (tuple, list)) else type(value).__name__


def extract(value, spec, fn: str) -> dict:
    """The named pieces of ``value`` as ``spec`` describes them (see the module docstring); Mismatch if it
    does not fit.

    Example:
        >>> extract((1, (2, 3)), ["h", {"as": "cache", "of": ["", "gates"]}], "f")
        {'h': 1, 'cache': (2, 3), 'gates': 3}
    """
    if isinstance(spec, str):
        return {spec: value} if spec else {}
    if isinstance(spec, dict) and "as" in spec:
        out = {spec["as"]: value}
        if "of" in spec:
            out.update(extract(value, spec["of"], fn if spec["as"] != "cache" else f"{fn}'s cache"))
        return out
    if isinstance(spec, dict):
        keys = spec["keys"]
        if not isinstance(value, dict) or set(keys) - set(value):
            got = sorted(map(str, value)) if isinstance(value, dict) else type(value).__name__
            raise Mismatch(f"{fn} must return a dict with keys {list(keys)}, got {got}")
        return {name: value[key] for key, name in keys.items()}
    if not isinstance(value, (tuple, list)) or len(value) != len(spec):
        raise Mismatch(f"{fn} must return {len(spec)} values, got {_count(value)}")
    out = {}
    for item, sub in zip(value, spec):
        out.update(extract(item, sub, fn))
    return out


def _fresh(value):
    """A copy of an input, so code that writes into its arguments cannot change what the next call sees."""
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, tuple):
        return tuple(_fresh(v) for v in value)
    return value


def call(module, spec: dict, case: dict) -> dict:
    """Call ``module.<spec["name"]>`` with the case's values for its arguments -> its named outputs."""
    fn = getattr(module, spec["name"], None)
    if not callable(fn):
        raise Mismatch(f"the file has no function {spec['name']}")
    args = [_fresh(case[name]) for name in spec["args"]]
    kwargs = {key: _fresh(case[name]) for key, name in spec.get("kwargs", {}).items()}
    return extract(fn(*args, **kwargs), spec["returns"], spec["name"])


def run_case(module, task: dict, case: dict) -> dict:
    """One case of a part: its own forward first when it has one (``task["after"]``), then the part itself."""
    case = dict(case)
    if task.get("after"):
        case.update(call(module, task["after"], case))
    return call(module, task["part"], case)


def _loss(module, forward: dict, case: dict, pairs) -> float:
    out = call(module, forward, case)
    return sum(float(np.sum(np.asarray(out[o], dtype=np.float64) * case[u])) for o, u in pairs)


def directional_derivatives(module, forward: dict, case: dict, pairs, directions: dict, eps: float = 1e-6):
    """Central differences of ``L = sum_k <forward output_k, upstream_k>`` along ``directions[name]`` (one
    random direction per input, two forward passes each) -> ``(L, {name: (L(p + eps v) - L(p - eps v)) / 2
    eps})``."""
    case = {
        k: np.array(v, dtype=np.float64) if isinstance(v, np.ndarray) and v.dtype.kind == "f" else v
        for k, v in case.items()
    }
    slopes = {}
    for name, v in directions.items():
        values = [
            _loss(module, forward, {**case, name: case[name] + step * v}, pairs) for step in (eps, -eps)
        ]
        slopes[name] = (values[0] - values[1]) / (2 * eps)
    return _loss(module, forward, case, pairs), slopes


def run_task(module, task: dict) -> dict:
    """Every case of one part -> ``{"outputs": [...], "numeric": ..., "loss": ...}`` (or raises the student's
    error)."""
    outputs = [run_case(module, task, case) for case in task["cases"]]
    result = {"outputs": [{k: v for k, v in out.items() if k in task["graded"]} for out in outputs]}
    check = task.get("gradcheck")
    if check:
        case = task["cases"][check["case"]]
        result["loss"], result["numeric"] = directional_derivatives(
            module, task["after"], case, check["pairs"], check["directions"]
        )
    return result


# -- the child process ---------------------------------------------------------------------------------------
def student_line(exc: BaseException, folder: str) -> str:
    """``"lstm.py:57 in gate_gradients"``: the innermost frame of the traceback that lies in the student's
    folder."""
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if os.path.realpath(frame.filename).startswith(folder + os.sep):
            where = f"{os.path.basename(frame.filename)}:{frame.lineno} in {frame.name}"
    if not where and isinstance(exc, SyntaxError) and exc.filename:
        where = f"{os.path.basename(exc.filename)}:{exc.lineno}"
    return where


class Channel:
    """The child's end of the two pipes to the grader (file descriptors kept away from fd 0, 1 and 2)."""

    def __init__(self, read_fd: int, write_fd: int):
        self.reader = os.fdopen(read_fd, "rb", buffering=0)
        self.writer = os.fdopen(write_fd, "wb", buffering=0)

    def send(self, message: dict) -> None:
        write_message(self.writer, message)

    def receive(self) -> dict:
        return read_message(self.reader)


def oracle(channel: Channel, name: str):
    """A stand-in for the helper ``name``: the grader answers with the reference function's result on these
    inputs."""

    def helper(*args, **kwargs):
        channel.send({"kind": "call", "function": name, "args": args, "kwargs": kwargs})
        reply = channel.receive()
        if reply.get("kind") != "return":
            raise RuntimeError(reply.get("message", "the grader refused the call"))
        return reply["value"]

    helper.__name__ = name
    return helper


def load_student(folder: str, module_name: str):
    """Import ``folder/<module_name>.py`` by its path (a fresh module every time)."""
    spec = importlib.util.spec_from_file_location(module_name, os.path.join(folder, module_name + ".py"))
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    spec.loader.exec_module(module)
    return module


def serve(channel: Channel, folder: str) -> None:
    """Answer the grader's tasks one by one until it closes the pipe."""
    channel.send({"kind": "ready"})
    while True:
        try:
            task = channel.receive()
        except EOFError:
            return
        try:
            module = load_student(folder, task["module"])
        except BaseException as e:  # noqa: BLE001 - student code: report anything
            channel.send(
                {
                    "kind": "result",
                    "error": {
                        "type": "ImportError",
                        "where": student_line(e, folder),
                        "message": f"could not import {task['module']}.py: {type(e).__name__}: {e}",
                    },
                }
            )
            continue
        for name in task["oracles"]:
            setattr(module, name, oracle(channel, name))
        try:
            channel.send({"kind": "result", **run_task(module, task)})
        except BaseException as e:  # noqa: BLE001 - student code: report anything
            kind = "Mismatch" if isinstance(e, Mismatch) else type(e).__name__
            channel.send(
                {
                    "kind": "result",
                    "error": {"type": kind, "message": str(e)[:2000], "where": student_line(e, folder)},
                }
            )


def main(workdir: str) -> None:
    """Keep the pipes on private descriptors, silence fd 0, 1 and 2, and serve."""
    read_fd, write_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(null, fd)
    serve(Channel(read_fd, write_fd), os.path.realpath(os.path.join(workdir, "student")))


if __name__ == "__main__":
    main(sys.argv[1])
