"""The marks: one :class:`PartResult` per part, a :class:`GradeResult` per submission (table, JSON,
Gradescope).

Example:
    >>> r = GradeResult("hw", 0, [PartResult("rnn", "forward", 2, points=2, status="pass")])
    >>> r.score, r.passed, r.gradescope()["tests"][0]["name"]
    (2, True, 'rnn.forward')
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field

import numpy as np

from .feedback import TOLERANCE


@dataclass
class PartResult:
    """The grade of one part: ``status`` is pass, fail, todo (NotImplementedError), error, timeout or
    crashed."""

    cell: str
    part: str
    max_points: int
    points: int = 0
    status: str = "fail"
    max_rel_error: float | None = None  # worst relative error against the reference (None: never compared)
    where: str = ""  # the output, entry and input case of that error, or the line that raised
    message: str = ""
    gradcheck_rel_error: float | None = None
    seconds: float = 0.0

    @property
    def name(self) -> str:
        return f"{self.cell}.{self.part}"

    def to_dict(self) -> dict:
        d = asdict(self)
        d["name"] = self.name
        for key in ("max_rel_error", "gradcheck_rel_error"):  # JSON has no inf/nan
            if d[key] is not None and not np.isfinite(d[key]):
                d[key] = str(d[key])
        return d


@dataclass
class GradeResult:
    """All parts of one submission. ``print(result)`` gives the score table; ``result.to_json()`` the JSON."""

    folder: str
    seed: int
    parts: list[PartResult] = field(default_factory=list)
    # notes for the instructor (imports minirnn, reference code)
    flags: list[str] = field(default_factory=list)

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
        return {
            "folder": self.folder,
            "seed": self.seed,
            "tolerance": TOLERANCE,
            "score": self.score,
            "max_score": self.max_score,
            "passed": self.passed,
            "flags": list(self.flags),
            "parts": [p.to_dict() for p in self.parts],
        }

    def to_json(self, **kwargs) -> str:
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    def gradescope(self) -> dict:
        """Gradescope's results.json: ``score``, and ``tests`` with name, score, max_score, output,
        visibility."""
        tests = [
            {
                "name": p.name,
                "score": p.points,
                "max_score": p.max_points,
                "status": "passed" if p.status == "pass" else "failed",
                "visibility": "visible",
                "output": (p.status if not p.message else f"{p.status}: {p.message}")
                + (f"\nwhere: {p.where}" if p.where else ""),
            }
            for p in self.parts
        ]
        out = {"score": self.score, "output": self.table(), "visibility": "visible", "tests": tests}
        if self.flags:
            out["tests"].append(
                {
                    "name": "notes for the instructor",
                    "score": 0,
                    "max_score": 0,
                    "output": "\n".join(self.flags),
                    "visibility": "hidden",
                }
            )
        return out

    def table(self) -> str:
        header = ("part", "points", "status", "worst rel err", "where")
        rows = [
            (
                p.name,
                f"{p.points}/{p.max_points}",
                p.status,
                "-" if p.max_rel_error is None else f"{p.max_rel_error:.1e}",
                p.where or "-",
            )
            for p in self.parts
        ]
        widths = [max(len(h), *(len(r[k]) for r in rows)) for k, h in enumerate(header)]

        def fmt(cells):
            return "  ".join(
                c.rjust(w) if k in (1, 3) else c.ljust(w) for k, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        lines = [fmt(header), fmt(["-" * w for w in widths]), *(fmt(r) for r in rows)]
        lines.append(
            f"score: {self.score}/{self.max_score}  ({sum(p.status == 'pass' for p in self.parts)} of "
            f"{len(self.parts)} parts pass; tolerance {TOLERANCE:.0e} relative)"
        )
        notes = [f"  {p.name}: {p.message}" for p in self.parts if p.status != "pass" and p.message]
        if notes:
            lines += ["", "not passing:", *notes]
        if self.flags:
            lines += ["", "flagged for the instructor:", *(f"  {f}" for f in self.flags)]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.table()
