"""The grader: imports a student's cell files, checks every part against ``minirnn/cells`` and scores it.

Each part (a function listed in ``skeleton.PARTS``) is graded in its own child process, so an exception, an endless
loop or a crash in student code costs that part only and never stops the grader. In the child:

1. the student's ``<cell>.py`` is imported from the folder (with the folder on ``sys.path`` for ``common.py``);
2. every *other* part of that module is replaced by the reference function, so a part is graded on its own code
   only. Two exceptions, because the cache format is the student's choice: ``step_backward`` runs on the cache of the
   student's ``step_forward`` and ``backward`` on the cache of the student's ``forward``;
3. the part is called on fixed inputs (the same every run) and on random ones (from ``seed``), float64, with and
   without a padding mask and, for the RNN, with tanh and ReLU; every output is compared with the reference
   (``minirnn.cells``) on the same inputs: relative error ``|s - r| / max(|s| + |r|, 1e-6 max|r|)`` at most 1e-8;
4. a backward part (``step_backward``, ``backward``) must also pass ``gradcheck.check_gradients`` against central
   differences of the student's own forward.

Example:
    >>> import tempfile
    >>> from minirnn.course import write_assignment
    >>> folder = tempfile.mkdtemp(); _ = write_assignment(folder, cells=("rnn",), with_solution=True)
    >>> result = grade(folder, timeout=30)
    >>> result.score, result.max_score, result.passed
    (10, 10, True)
"""
from __future__ import annotations

import contextlib
import importlib.util
import io
import json
import multiprocessing
import sys
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .skeleton import CELLS, PARTS, part_names, reference_module

TOLERANCE = 1e-8                       # largest relative error that passes
DEFAULT_TIMEOUT = 10.0                 # seconds per part
FIXED_SEED = 20240                     # the "fixed" inputs: the same in every run, whatever --seed says
STATE_NAMES = {"rnn": ("h",), "lstm": ("h", "c"), "gru": ("h",)}
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
STEP_GRADS = {"rnn": ("dx", "dh_prev", "dW_ih", "dW_hh", "db_ih", "db_hh"),
              "lstm": ("dx", "dh_prev", "dc_prev", "dW_ih", "dW_hh", "db_ih", "db_hh"),
              "gru": ("dx", "dh_prev", "dW_ih", "dW_hh", "db_ih", "db_hh")}
OWN_FORWARD = {"step_backward": "step_forward", "backward": "forward"}  # parts that run on the student's own cache


# -- results ------------------------------------------------------------------------------------------------------------
@dataclass
class PartResult:
    """The grade of one part: ``status`` is pass, fail, todo (NotImplementedError), error, timeout or crashed."""

    cell: str
    part: str
    max_points: int
    points: int = 0
    status: str = "fail"
    max_rel_error: float | None = None  # worst relative error against the reference (None: never compared)
    where: str = ""                     # the output, entry and input case of that error, or the line that raised
    message: str = ""
    gradcheck_rel_error: float | None = None
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.cell}.{self.part}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["name"] = self.name
        for key in ("max_rel_error", "gradcheck_rel_error"):   # JSON has no inf/nan
            if d[key] is not None and not np.isfinite(d[key]):
                d[key] = str(d[key])
        return d


@dataclass
class GradeResult:
    """All parts of one folder. ``print(result)`` gives the score table; ``result.to_json()`` the autograder's JSON."""

    folder: str
    seed: int
    parts: list[PartResult] = field(default_factory=list)

    @property
    def score(self) -> int:
        return sum(p.points for p in self.parts)

    @property
    def max_score(self) -> int:
        return sum(p.max_points for p in self.parts)

    @property
    def passed(self) -> bool:
        return bool(self.parts) and all(p.status == "pass" for p in self.parts)

    def part(self, name: str) -> PartResult:
        """The result of ``"cell.part"``, e.g. ``result.part("lstm.gate_gradients")``."""
        for p in self.parts:
            if p.name == name:
                return p
        raise KeyError(f"no part named {name!r}; parts are {[p.name for p in self.parts]}")

    def failed(self) -> list[str]:
        """Names of the parts that did not pass, in order."""
        return [p.name for p in self.parts if p.status != "pass"]

    def to_dict(self) -> dict:
        return {"folder": self.folder, "seed": self.seed, "tolerance": TOLERANCE, "score": self.score,
                "max_score": self.max_score, "passed": self.passed, "parts": [p.to_dict() for p in self.parts]}

    def to_json(self, **kwargs) -> str:
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    def table(self) -> str:
        header = ("part", "points", "status", "worst rel err", "where")
        rows = [(p.name, f"{p.points}/{p.max_points}", p.status,
                 "-" if p.max_rel_error is None else f"{p.max_rel_error:.1e}", p.where or "-") for p in self.parts]
        widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]

        def fmt(cells):
            return "  ".join(c.rjust(w) if k in (1, 3) else c.ljust(w)
                             for k, (c, w) in enumerate(zip(cells, widths))).rstrip()

        lines = [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]
        lines.append(f"score: {self.score}/{self.max_score}  ({sum(p.status == 'pass' for p in self.parts)} of "
                     f"{len(self.parts)} parts pass; tolerance {TOLERANCE:.0e} relative)")
        notes = [f"  {p.name}: {p.message}" for p in self.parts if p.status != "pass" and p.message]
        if notes:
            lines += ["", "not passing:", *notes]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()


# -- inputs -------------------------------------------------------------------------------------------------------------
@dataclass
class Case:
    """One set of inputs for a cell: a sequence, initial states, weights, a mask and upstream gradients."""

    label: str
    x: np.ndarray
    h0: np.ndarray
    c0: np.ndarray
    W_ih: np.ndarray
    W_hh: np.ndarray
    b_ih: np.ndarray
    b_hh: np.ndarray
    mask: np.ndarray | None
    dout: np.ndarray
    dh_n: np.ndarray
    dc_n: np.ndarray
    nonlinearity: str = "tanh"

    def describe(self, sequence: bool) -> str:
        """``"random 1 (B=4, I=5, H=3, T=6, padded)"``; a one-step part gets no T and no mask."""
        T, B, I = self.x.shape
        dims = f"B={B}, I={I}, H={self.h0.shape[1]}" + (f", T={T}" if sequence else "")
        extra = (", padded" if sequence and self.mask is not None else "") + \
            (", relu" if self.nonlinearity == "relu" else "")
        return f"{self.label} ({dims}{extra})"

    def copy(self) -> "Case":
        """Fresh arrays, so code that writes into its inputs cannot change what the next call sees."""
        return Case(**{k: v.copy() if isinstance(v, np.ndarray) else v for k, v in self.__dict__.items()})


def _make_case(cell, rng, label, B, I, H, T, mask=None, nonlinearity="tanh") -> Case:
    G = GATES[cell]
    s = 0.6 / np.sqrt(H)                                             # keeps gates away from saturation
    if mask == "prefix":
        lengths = np.linspace(T, 1, B).round().astype(int)
        mask = np.arange(T)[:, None] < lengths[None, :]
    elif mask == "random":
        mask = rng.random((T, B)) < 0.7
    return Case(label, rng.normal(size=(T, B, I)), 0.5 * rng.normal(size=(B, H)), 0.5 * rng.normal(size=(B, H)),
                rng.normal(size=(G * H, I)) * 3 * s, rng.normal(size=(G * H, H)) * 3 * s,
                rng.normal(size=G * H) * s, rng.normal(size=G * H) * s, mask,
                rng.normal(size=(T, B, H)), rng.normal(size=(B, H)), rng.normal(size=(B, H)), nonlinearity)


def make_cases(cell: str, seed: int = 0) -> list[Case]:
    """Two fixed cases (the same every run) and three random ones from ``seed``; the RNN's last one uses ReLU."""
    fixed = np.random.default_rng(FIXED_SEED)
    rng = np.random.default_rng(seed)
    return [
        _make_case(cell, fixed, "fixed 1", 2, 3, 4, 5),
        _make_case(cell, fixed, "fixed 2", 3, 3, 4, 5, mask="prefix"),
        _make_case(cell, rng, "random 1", 4, 5, 3, 6, mask="random"),
        _make_case(cell, rng, "random 2", 1, 2, 5, 3),
        _make_case(cell, rng, "random 3", 3, 4, 2, 7, mask="random", nonlinearity="relu" if cell == "rnn" else "tanh"),
    ]


# -- calling one part ---------------------------------------------------------------------------------------------------
class Mismatch(Exception):
    """The student's function returned something of the wrong kind (count, type or shape): the part fails."""


def _unpack(value, names, fn, total=None):
    """``{name: value[k]}`` for a tuple result of ``total`` items (default ``len(names)``)."""
    total = len(names) if total is None else total
    if not isinstance(value, (tuple, list)) or len(value) != total:
        got = f"{len(value)} values" if isinstance(value, (tuple, list)) else type(value).__name__
        raise Mismatch(f"{fn} must return {total} values, got {got}")
    return dict(zip(names, value))


def _states(cell, c: Case):
    h, cc = (c.h0, c.c0)
    return (h, cc) if cell == "lstm" else (h,)


def _weights(c: Case):
    return c.W_ih, c.W_hh, c.b_ih, c.b_hh


def _kw(cell, c: Case):
    return {"nonlinearity": c.nonlinearity} if cell == "rnn" else {}


def _x_proj(c: Case):
    return c.x[0] @ c.W_ih.T + c.b_ih


def _ref_step_cache(cell, ref, c: Case):
    """The reference ``recurrent_step`` outputs that the helper backward parts take as inputs."""
    if cell == "lstm":
        return ref.recurrent_step(_x_proj(c), c.h0, c.c0, c.W_hh, c.b_hh)[2]
    _, gates, hn = ref.recurrent_step(_x_proj(c), c.h0, c.W_hh, c.b_hh)
    return gates, hn


def run_part(cell: str, part: str, mod, ref, c: Case) -> dict:
    """Call ``mod``'s ``part`` on the case ``c`` (for a backward part, after ``mod``'s own forward) -> outputs by name."""
    dh, dc = c.dout[0], c.dc_n
    if part == "step_forward":
        res = mod.step_forward(c.x[0], *_states(cell, c), *_weights(c), **_kw(cell, c))
        return _unpack(res, STATE_NAMES[cell], "step_forward", len(STATE_NAMES[cell]) + 1)
    if part == "recurrent_step":
        if cell == "rnn":
            return {"h": mod.recurrent_step(_x_proj(c), c.h0, c.W_hh, c.b_hh, c.nonlinearity)}
        if cell == "lstm":
            out = _unpack(mod.recurrent_step(_x_proj(c), c.h0, c.c0, c.W_hh, c.b_hh), ("h", "c", "cache"),
                          "recurrent_step")
            cache = _unpack(out.pop("cache"), ("h_prev", "c_prev", "W_hh", "gates", "tanh_c"), "its cache")
            return {**out, "gates": cache["gates"], "tanh_c": cache["tanh_c"]}
        return _unpack(mod.recurrent_step(_x_proj(c), c.h0, c.W_hh, c.b_hh), ("h", "gates", "hn"), "recurrent_step")
    if part == "gate_gradients":
        if cell == "lstm":
            _, c_prev, _, gates, tanh_c = _ref_step_cache(cell, ref, c)
            return _unpack(mod.gate_gradients(dh, dc, c_prev, gates, tanh_c), ("da", "dc_prev"), "gate_gradients")
        gates, hn = _ref_step_cache(cell, ref, c)
        return _unpack(mod.gate_gradients(dh, c.h0, gates, hn), ("dx_proj", "dh_proj", "dh_direct"), "gate_gradients")
    if part == "recurrent_step_backward":
        if cell == "lstm":
            return _unpack(mod.recurrent_step_backward(dh, dc, _ref_step_cache(cell, ref, c)),
                           ("da", "dh_prev", "dc_prev"), "recurrent_step_backward")
        gates, hn = _ref_step_cache(cell, ref, c)
        return _unpack(mod.recurrent_step_backward(dh, c.h0, c.W_hh, gates, hn), ("dx_proj", "dh_proj", "dh_prev"),
                       "recurrent_step_backward")
    if part == "step_backward":
        res = mod.step_forward(c.x[0], *_states(cell, c), *_weights(c), **_kw(cell, c))
        if not isinstance(res, (tuple, list)) or not res:
            raise Mismatch(f"step_forward must return a tuple ending with the cache, got {type(res).__name__}")
        upstream = (dh, dc) if cell == "lstm" else (dh,)
        return _unpack(mod.step_backward(*upstream, res[-1]), STEP_GRADS[cell], "step_backward")
    if part == "forward":
        res = mod.forward(c.x, *_states(cell, c), *_weights(c), mask=c.mask, **_kw(cell, c))
        names = ("out", "h_n", "c_n") if cell == "lstm" else ("out", "h_n")
        return _unpack(res, names, "forward", len(names) + 1)
    if part == "backward":
        res = mod.forward(c.x, *_states(cell, c), *_weights(c), mask=c.mask, **_kw(cell, c))
        if not isinstance(res, (tuple, list)) or not res:
            raise Mismatch(f"forward must return a tuple ending with the cache, got {type(res).__name__}")
        upstream = (c.dout, c.dh_n, c.dc_n) if cell == "lstm" else (c.dout, c.dh_n)
        grads = mod.backward(*upstream, res[-1])
        keys = ("x", "h0", "c0", "W_ih", "W_hh", "b_ih", "b_hh") if cell == "lstm" else \
            ("x", "h0", "W_ih", "W_hh", "b_ih", "b_hh")
        if not isinstance(grads, dict) or set(keys) - set(grads):
            got = sorted(grads) if isinstance(grads, dict) else type(grads).__name__
            raise Mismatch(f"backward must return a dict with keys {list(keys)}, got {got}")
        return {"d" + k: grads[k] for k in keys}
    raise ValueError(f"part must be one of {part_names(cell)}, got {part!r}")


def compare(student: dict, reference: dict, label: str):
    """Worst relative error of ``student`` against ``reference`` over all outputs -> ``(error, where)``."""
    worst, where = 0.0, ""
    for name, r in reference.items():
        r = np.asarray(r, dtype=np.float64)
        try:
            s = np.asarray(student[name], dtype=np.float64)
        except (TypeError, ValueError) as e:
            raise Mismatch(f"{name} is not an array of numbers ({type(student[name]).__name__}): {e}") from None
        if s.shape != r.shape:
            raise Mismatch(f"{name} has shape {s.shape}, expected {r.shape}, in {label}")
        if r.size == 0:
            continue
        floor = max(1e-6 * float(np.abs(r).max()), 1e-300)
        with np.errstate(invalid="ignore", over="ignore"):
            rel = np.abs(s - r) / np.maximum(np.abs(s) + np.abs(r), floor)
        rel = np.where(np.isfinite(s), rel, np.inf)
        k = np.unravel_index(int(np.argmax(rel)), rel.shape)
        if rel[k] > worst or not where:
            worst = float(rel[k])
            index = "" if r.ndim == 0 else "[" + ", ".join(str(int(i)) for i in k) + "]"
            where = f"{name}{index} in {label}"
    return worst, where


def gradient_check(cell: str, part: str, mod, c: Case):
    """``gradcheck.check_gradients`` of the student's backward against finite differences of the student's forward."""
    import gradcheck
    c = c.copy()
    if part == "step_backward":
        names = ("x", "h_prev", "c_prev") if cell == "lstm" else ("x", "h_prev")
        p = dict(zip(names, (c.x[0].copy(), c.h0, c.c0)))
        p.update(W_ih=c.W_ih, W_hh=c.W_hh, b_ih=c.b_ih, b_hh=c.b_hh)
        ups = (c.dout[0], c.dc_n)

        def loss(q):
            res = mod.step_forward(*(q[n] for n in names), q["W_ih"], q["W_hh"], q["b_ih"], q["b_hh"])
            return sum(float(np.sum(res[k] * ups[k])) for k in range(len(names) - 1))

        res = mod.step_forward(*(p[n] for n in names), p["W_ih"], p["W_hh"], p["b_ih"], p["b_hh"])
        g = mod.step_backward(*ups[:len(names) - 1], res[-1])
        grads = dict(zip(p, g))
    else:
        names = ("x", "h0", "c0") if cell == "lstm" else ("x", "h0")
        p = {n: getattr(c, n) for n in names}
        p.update(W_ih=c.W_ih, W_hh=c.W_hh, b_ih=c.b_ih, b_hh=c.b_hh)
        ups = (c.dout, c.dh_n, c.dc_n)

        def loss(q):
            res = mod.forward(*(q[n] for n in p), mask=c.mask)
            return sum(float(np.sum(res[k] * ups[k])) for k in range(len(names)))

        res = mod.forward(*(p[n] for n in p), mask=c.mask)
        grads = mod.backward(*ups[:len(names)], res[-1])
    return gradcheck.check_gradients(loss, p, {k: np.array(v, dtype=np.float64) for k, v in grads.items()})


# -- one part, in the child process -------------------------------------------------------------------------------------
def load_student(folder, cell: str):
    """Import ``folder/<cell>.py`` as the module ``<cell>``, with ``folder`` first on ``sys.path`` (for common.py)."""
    folder = str(Path(folder).resolve())
    sys.path.insert(0, folder)
    for name in (cell, "common"):
        sys.modules.pop(name, None)
    spec = importlib.util.spec_from_file_location(cell, str(Path(folder) / f"{cell}.py"))
    mod = importlib.util.module_from_spec(spec)
    sys.modules[cell] = mod
    spec.loader.exec_module(mod)
    return mod


def _student_line(exc: BaseException, folder: str) -> str:
    """``"lstm.py:57 in gate_gradients"``: the innermost frame of the traceback that lies in the student's folder."""
    folder = str(Path(folder).resolve())
    where = ""
    for frame in traceback.extract_tb(exc.__traceback__):
        if str(Path(frame.filename).resolve()).startswith(folder):
            where = f"{Path(frame.filename).name}:{frame.lineno} in {frame.name}"
    if not where and isinstance(exc, SyntaxError) and exc.filename:
        where = f"{Path(exc.filename).name}:{exc.lineno}"
    return where


def grade_part_here(folder: str, cell: str, part: str, seed: int) -> dict:
    """Grade one part in this process (the child): the fields of a PartResult, minus the points."""
    ref = reference_module(cell)
    try:
        mod = load_student(folder, cell)
    except BaseException as e:                                       # noqa: BLE001 - student code: report anything
        return {"status": "error", "where": _student_line(e, folder),
                "message": f"could not import {cell}.py: {type(e).__name__}: {e}"}
    if not callable(getattr(mod, part, None)):
        return {"status": "error", "message": f"{cell}.py has no function {part}"}
    for other in part_names(cell):
        if other not in (part, OWN_FORWARD.get(part)):
            setattr(mod, other, getattr(ref, other))                 # grade this part on its own code only
    worst, where, message = 0.0, "", ""
    try:
        for case in make_cases(cell, seed):
            expected = run_part(cell, part, ref, ref, case.copy())
            got = run_part(cell, part, mod, ref, case.copy())
            err, at = compare(got, expected, case.describe(sequence=part in ("forward", "backward")))
            if err > worst or not where:
                worst, where = err, at
        if worst > TOLERANCE:
            message = f"{where.split('[')[0].split(' in ')[0]} differs from the reference (relative error {worst:.1e})"
        result = {"max_rel_error": worst, "where": where if worst > 0 else ""}
        if part in OWN_FORWARD and worst <= TOLERANCE:
            case = make_cases(cell, seed)[2]                         # random and padded
            report = gradient_check(cell, part, mod, case)
            result["gradcheck_rel_error"] = max(r.max_rel_error for r in report.rows)
            if not report.passed:
                bad = report.failed_rows[0]
                index = ", ".join(str(i) for i in bad.worst_index or ())
                result["where"] = f"gradcheck: d{bad.name}[{index}] in {case.describe(part == 'backward')}"
                message = (f"your gradients match the reference, but not finite differences of your "
                           f"{OWN_FORWARD[part]} (gradcheck relative error {bad.max_rel_error:.1e}): "
                           f"is {OWN_FORWARD[part]}'s output wrong?")
        result.update(status="fail" if message else "pass", message=message)
        return result
    except NotImplementedError as e:
        return {"status": "todo", "where": _student_line(e, folder), "message": f"NotImplementedError: {e}"}
    except Mismatch as e:
        return {"status": "fail", "where": "", "max_rel_error": float("inf"), "message": str(e)}
    except BaseException as e:                                       # noqa: BLE001 - student code: report anything
        return {"status": "error", "where": _student_line(e, folder), "message": f"{type(e).__name__}: {e}"}


def _child(conn, folder, cell, part, seed):
    sink = io.StringIO()                                             # the student's prints stay out of the table
    with contextlib.redirect_stdout(sink), contextlib.redirect_stderr(sink):
        try:
            result = grade_part_here(folder, cell, part, seed)
        except BaseException as e:                                   # noqa: BLE001 - never die silently
            result = {"status": "error", "message": f"grader error: {type(e).__name__}: {e}"}
    conn.send(result)
    conn.close()


def _context():
    methods = multiprocessing.get_all_start_methods()
    return multiprocessing.get_context("fork" if sys.platform.startswith("linux") and "fork" in methods else "spawn")


def grade_part(folder, cell: str, part: str, seed: int = 0, timeout: float = DEFAULT_TIMEOUT) -> PartResult:
    """Grade one part in a child process that is killed after ``timeout`` seconds."""
    points = dict((name, pts) for name, pts, _ in PARTS[cell])[part]
    ctx = _context()
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(send, str(folder), cell, part, seed), daemon=True)
    start = time.perf_counter()
    child.start()
    send.close()
    if receive.poll(timeout):
        try:
            fields = receive.recv()
        except EOFError:
            child.join(5)
            fields = {"status": "crashed", "message": f"the grading process died (exit code {child.exitcode}) "
                                                      f"while running {cell}.{part}"}
    else:
        fields = {"status": "timeout", "message": f"did not finish within {timeout:g} s (an endless loop?)"}
    receive.close()
    child.join(1)
    if child.is_alive():
        child.kill()
        child.join()
    result = PartResult(cell, part, points, seconds=round(time.perf_counter() - start, 3), **fields)
    result.points = points if result.status == "pass" else 0
    return result


def grade(folder, cells=None, seed: int = 0, timeout: float = DEFAULT_TIMEOUT) -> GradeResult:
    """Grade every part of every cell file found in ``folder`` (or of ``cells``) -> ``GradeResult``.

    Args:
        folder: the student's folder, holding some of ``rnn.py``, ``lstm.py``, ``gru.py`` and ``common.py``.
        cells: which cells to grade (default: those whose file is in the folder); a listed cell without its file
            scores 0 with status ``error``.
        seed: seed of the random inputs (the fixed inputs never change).
        timeout: seconds each part may take before it is stopped and reported as ``timeout``.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"folder must be an existing directory with the student's files, got {str(folder)!r}"
                                + (" (a file)" if folder.exists() else " (it does not exist)"))
    if cells is None:
        cells = [cell for cell in CELLS if (folder / f"{cell}.py").is_file()]
        if not cells:
            raise FileNotFoundError(f"folder {str(folder)!r} holds none of rnn.py, lstm.py, gru.py; point it at "
                                    f"the folder written by `minirnn assignment new`")
    for cell in cells:
        if cell not in CELLS:
            raise ValueError(f"cells must be among {CELLS}, got {cell!r}")
    if not timeout > 0:
        raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
    result = GradeResult(str(folder), seed)
    for cell in cells:
        for part in part_names(cell):
            if not (folder / f"{cell}.py").is_file():
                points = dict((n, p) for n, p, _ in PARTS[cell])[part]
                result.parts.append(PartResult(cell, part, points, status="error",
                                               message=f"{folder / (cell + '.py')} does not exist"))
                continue
            result.parts.append(grade_part(folder, cell, part, seed=seed, timeout=timeout))
    return result
