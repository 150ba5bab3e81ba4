"""The result of a gradient check: one ``Row`` per tensor, gathered in a ``Report`` that prints as a table.

This file only holds and formats numbers; the finite differences that produce them live in ``numerics.py``.
It imports nothing but the standard library (``json``) and NumPy.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

import numpy as np

# The CS231n reading of a relative error: (upper bound, verdict), checked from the top.
READINGS = (
    (1e-7, "good"),
    (1e-4, "fine only with kinks"),
    (1e-2, "suspicious"),
    (np.inf, "wrong"),
)


def reading(rel_error: float) -> str:
    """The CS231n reading of a relative error.

    Above 1e-2 the gradient is probably wrong; 1e-2..1e-4 is suspicious; 1e-4..1e-7 is fine only if the
    function has kinks (ReLU, max); below 1e-7 is good.

    Example:
        >>> reading(3e-9), reading(5e-4)
        ('good', 'suspicious')
    """
    if not np.isfinite(rel_error):
        return "wrong"
    for bound, verdict in READINGS:
        if rel_error <= bound:
            return verdict
    return "wrong"  # pragma: no cover (the last bound is inf)


@dataclass
class Row:
    """The check of one tensor.

    Attributes:
        name: the tensor's key in ``params``.
        shape: its shape.
        checked: how many entries were compared (for ``method="direction"``: 1, the directional derivative).
        max_abs_error: max over checked entries of ``|a - n|`` (a analytic, n numeric).
        max_rel_error: max over checked entries of ``|a - n| / max(|a| + |n|, 1e-8)``.
        norm_rel_error: ``||a - n|| / max(||a|| + ||n||, 1e-8)`` over the checked entries (2-norms).
        worst_index: index (tuple) of the entry with the largest tolerance-scaled error; ``None`` for a
        direction check. worst_analytic, worst_numeric: the two values at ``worst_index`` (the directional
        derivatives for a
        direction check). passed: every checked entry away from a kink satisfies ``|a - n| <= atol + rtol *
        max(|a|, |n|)``.
        kinks: how many checked entries had a kink (a pre-activation changing sign) between ``x - eps`` and
            ``x + eps``; those entries are reported but do not decide ``passed``.
    """

    name: str
    shape: tuple
    checked: int
    max_abs_error: float
    max_rel_error: float
    norm_rel_error: float
    worst_index: tuple | None
    worst_analytic: float
    worst_numeric: float
    passed: bool
    kinks: int = 0
    verdict: str = ""
    numeric_zero: bool = False

    @property
    def reading(self) -> str:
        """What the errors mean: ``verdict`` when the check set it, else the CS231n reading of
        ``norm_rel_error``.

        ``check_gradients`` sets the verdict so that a failing tensor reads "wrong" (a definite error, such
        as a 0.1% or 1% scale) unless round-off (every failing error within 10 atol) or kinks (a few isolated
        entries) can explain it, which reads "suspicious"; a passing tensor keeps the CS231n reading below.

        The normwise error is read rather than the entry-wise maximum because the maximum is decided by
        entries whose
        gradient is near zero, where round-off alone gives large relative errors: a correct LSTM shows an
        entry-wise 3e-5 at an entry of size 1e-5 (abs error 1e-9) while its normwise error is 1e-10.
        """
        return self.verdict or reading(self.norm_rel_error)

    def to_dict(self) -> dict:
        """Plain Python types only (JSON-ready)."""
        return {
            "name": self.name,
            "shape": list(self.shape),
            "checked": int(self.checked),
            "max_abs_error": float(self.max_abs_error),
            "max_rel_error": float(self.max_rel_error),
            "norm_rel_error": float(self.norm_rel_error),
            "worst_index": None if self.worst_index is None else [int(i) for i in self.worst_index],
            "worst_analytic": float(self.worst_analytic),
            "worst_numeric": float(self.worst_numeric),
            "passed": bool(self.passed),
            "kinks": int(self.kinks),
            "numeric_zero": bool(self.numeric_zero),
            "reading": self.reading,
        }


_COLUMNS = (
    "tensor",
    "shape",
    "checked",
    "max abs err",
    "max rel err",
    "norm rel err",
    "worst entry",
    "analytic",
    "numeric",
    "kinks",
    "reading",
    "result",
)


@dataclass
class Report:
    """Rows of one gradient check plus the settings that produced them.

    ``report.passed`` is True when every row passed and no tensor lacks its gradient; ``report.failed_rows``
    lists the rows that did not (both properties); ``missing`` names the tensors that had no analytic gradient
    (a failure); ``print(report)`` shows the aligned table; ``report.to_dict()`` and ``report.to_json()`` give
    the same numbers as plain data.

    Example:
        >>> r = Report(rows=[Row("W", (2, 3), 6, 1e-11, 2e-10, 1e-10, (0, 1), 0.5, 0.5, True)], title="demo")
        >>> r.passed, r.failed_rows
        (True, [])
    """

    rows: list[Row] = field(default_factory=list)
    title: str = ""
    method: str = "full"
    eps: float = 1e-6
    rtol: float = 1e-5
    atol: float = 0.0
    seed: int | None = 0
    loss: float = float("nan")
    error: str = ""
    missing: list = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """True when every tensor passed (and there was at least one, none without a gradient, and no
        error)."""
        return (
            not self.error and not self.missing and bool(self.rows) and all(row.passed for row in self.rows)
        )

    @property
    def failed_rows(self) -> list[Row]:
        """The rows that failed, in order."""
        return [row for row in self.rows if not row.passed]

    def row(self, name: str) -> Row:
        """The row of the tensor called ``name``; ``KeyError`` if there is none."""
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"no row named {name!r} in this report; rows are {[r.name for r in self.rows]}")

    def to_dict(self) -> dict:
        """Settings, overall result and every row, as plain Python types."""
        return {
            "title": self.title,
            "method": self.method,
            "eps": float(self.eps),
            "rtol": float(self.rtol),
            "atol": float(self.atol),
            "seed": self.seed,
            "loss": float(self.loss),
            "passed": self.passed,
            "error": self.error,
            "missing": list(self.missing),
            "rows": [row.to_dict() for row in self.rows],
        }

    def to_json(self, **kwargs) -> str:
        """``json.dumps(self.to_dict())``; keyword arguments go to ``json.dumps`` (default ``indent=2``)."""
        kwargs.setdefault("indent", 2)
        return json.dumps(self.to_dict(), **kwargs)

    def table(self) -> str:
        """The aligned text table (what ``str(report)`` returns)."""
        lines = []
        for row in self.rows:
            worst = "-" if row.worst_index is None else "(" + ",".join(str(i) for i in row.worst_index) + ")"
            lines.append(
                (
                    row.name,
                    "(" + ",".join(str(s) for s in row.shape) + ")",
                    str(row.checked),
                    f"{row.max_abs_error:.1e}",
                    f"{row.max_rel_error:.1e}",
                    f"{row.norm_rel_error:.1e}",
                    worst,
                    f"{row.worst_analytic:+.6e}",
                    f"{row.worst_numeric:+.6e}",
                    str(row.kinks),
                    row.reading,
                    "ok" if row.passed else "FAIL",
                )
            )
        widths = [max([len(c)] + [len(line[k]) for line in lines]) for k, c in enumerate(_COLUMNS)]
        numeric = {2, 3, 4, 5, 7, 8, 9}

        def fmt(cells):
            return "  ".join(
                c.rjust(w) if k in numeric else c.ljust(w) for k, (c, w) in enumerate(zip(cells, widths))
            ).rstrip()

        header = (f"{self.title}: " if self.title else "") + (
            f"method={self.method} eps={self.eps:g} rtol={self.rtol:g} atol={self.atol:.1e}"
        )
        out = [header, fmt(_COLUMNS), fmt(["-" * w for w in widths])]
        out += [fmt(line) for line in lines]
        if self.missing:
            out.append(
                f"MISSING: no analytic gradient for {', '.join(self.missing)} (each counts as a failure)"
            )
        if self.error:
            out.append(f"ERROR: {self.error}")
        n_failed = len(self.failed_rows)
        n_all = len(self.rows) + len(self.missing)
        out.append(
            f"{'PASSED' if self.passed else 'FAILED'}: {len(self.rows) - n_failed} of {n_all} "
            f"tensors within tolerance"
        )
        return "\n".join(out)

    def __str__(self) -> str:
        return self.table()


_SUMMARY_COLUMNS = (
    "configuration",
    "tensors",
    "entries",
    "max abs err",
    "max rel err",
    "norm rel err",
    "worst tensor",
    "reading",
    "result",
)


def summary_table(reports) -> str:
    """One line per report: entries checked, the largest errors over its tensors, the worst tensor (a failed
    one first, else the largest normwise error) with its reading, and the result.

    Example:
        >>> r = Report(rows=[Row("W", (2,), 2, 1e-11, 2e-10, 1e-10, (0,), 0.5, 0.5, True)], title="demo")
        >>> print(summary_table([r]).splitlines()[-1])
        PASSED: 1 of 1 configurations within tolerance
    """
    reports = list(reports)
    lines = []
    for rep in reports:
        if rep.rows:
            worst = max(rep.rows, key=lambda r: (not r.passed, r.norm_rel_error))
            lines.append(
                (
                    rep.title,
                    str(len(rep.rows)),
                    str(sum(r.checked for r in rep.rows)),
                    f"{max(r.max_abs_error for r in rep.rows):.1e}",
                    f"{max(r.max_rel_error for r in rep.rows):.1e}",
                    f"{worst.norm_rel_error:.1e}",
                    worst.name,
                    worst.reading,
                    "ok" if rep.passed else "FAIL",
                )
            )
        else:
            lines.append(
                (rep.title, "0", "0", "-", "-", "-", "-", (rep.error or "nothing checked")[:70], "FAIL")
            )
    widths = [max([len(c)] + [len(line[k]) for line in lines]) for k, c in enumerate(_SUMMARY_COLUMNS)]
    numeric = {1, 2, 3, 4, 5}

    def fmt(cells):
        return "  ".join(
            c.rjust(w) if k in numeric else c.ljust(w) for k, (c, w) in enumerate(zip(cells, widths))
        ).rstrip()

    out = [fmt(_SUMMARY_COLUMNS), fmt(["-" * w for w in widths])] + [fmt(line) for line in lines]
    n_passed = sum(rep.passed for rep in reports)
    out.append(
        f"{'PASSED' if n_passed == len(reports) and reports else 'FAILED'}: {n_passed} of {len(reports)} "
        f"configurations within tolerance"
    )
    return "\n".join(out)
