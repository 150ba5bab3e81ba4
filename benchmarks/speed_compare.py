"""Do two speed runs agree, and what do two threads buy? Reads the ``speed.json`` files that
``benchmarks/speed.py --out DIR`` writes and prints, per row, each run's ratio against torch and JAX and their
range, and, given a one-thread and a two-thread run, the speed-up ``t(1 thread) / t(2 threads)`` of minirnn
and of torch.

    python benchmarks/speed.py --reps 9 --out /tmp/speed-a
    python benchmarks/speed.py --reps 9 --out /tmp/speed-b
    python benchmarks/speed.py --reps 9 --threads 2 --no-growth --out /tmp/speed-2
    python benchmarks/speed_compare.py /tmp/speed-a /tmp/speed-b --two-threads /tmp/speed-2

Example:
    >>> run = {"machine_before": {"threads": 1, "load_avg_1_5_15": [0.5, 0.5, 0.5]}, "rows": [
    ...     {"size": "small", "cell": "rnn", "dtype": "float32", "target": 0.5,
    ...      "ms": {"auto": 1.0, "torch": 4.0, "jax": 2.0}}]}
    >>> table = agreement([run, run])
    >>> table[0]["vs_torch"], table[0]["meets"]
    ([0.25, 0.25], '2/2')
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path


def _key(row):
    return row["size"], row["cell"], row["dtype"]


def _ratio(row, peer):
    ms = row["ms"]
    return ms["auto"] / ms[peer] if ms.get(peer) else None


def agreement(runs: list) -> list:
    """One dict per row of the first run: ``vs_torch`` and ``vs_jax`` (one ratio per run, None where the peer
    was not timed) and ``meets`` ("k/n": in how many runs minirnn / torch met the row's target)."""
    by_run = [{_key(r): r for r in run["rows"]} for run in runs]
    table = []
    for row in runs[0]["rows"]:
        same = [rows[_key(row)] for rows in by_run if _key(row) in rows]
        torch = [_ratio(r, "torch") for r in same]
        met = sum(t is not None and t <= r["target"] for t, r in zip(torch, same))
        table.append(
            {
                "row": _key(row),
                "target": row["target"],
                "vs_torch": torch,
                "vs_jax": [_ratio(r, "jax") for r in same],
                "meets": f"{met}/{len(same)}",
            }
        )
    return table


def speedups(one: dict, two: dict) -> list:
    """Per row present in both: ``(row, minirnn t1/t2, torch t1/t2)`` (a value above 1: two threads are
    faster)."""
    rows = {_key(r): r for r in two["rows"]}
    out = []
    for row in one["rows"]:
        other = rows.get(_key(row))
        if other is None:
            continue
        torch = row["ms"].get("torch") and other["ms"].get("torch")
        out.append(
            (_key(row), row["ms"]["auto"] / other["ms"]["auto"], row["ms"]["torch"] / other["ms"]["torch"])
            if torch
            else (_key(row), row["ms"]["auto"] / other["ms"]["auto"], None)
        )
    return out


def markdown(runs: list) -> str:
    """The README's table: each contender's milliseconds in the first run, then minirnn / torch and minirnn /
    JAX as the median over the runs with their range, and in how many runs the torch target was met."""
    head = (
        "| size | cell | dtype | auto ms | numba ms | numpy ms | torch ms | JAX ms | / torch: median [range] "
        "| / JAX: median [range] | target vs torch (runs met) |"
    )
    lines = [head, "|---|---|---|---:|---:|---:|---:|---:|---:|---:|---:|"]
    short = {"float32": "f32", "float64": "f64"}

    def span(values):
        values = [v for v in values if v is not None]
        if not values:
            return "-"
        med = statistics.median(values)
        return f"{med:.2f} [{min(values):.2f}, {max(values):.2f}]" if len(values) > 1 else f"{med:.2f}"

    for row, first in zip(agreement(runs), runs[0]["rows"]):
        size, cell, dtype = row["row"]
        ms = first["ms"]
        cols = " | ".join(
            f"{ms[k]:.2f}" if ms.get(k) else "-" for k in ("auto", "numba", "numpy", "torch", "jax")
        )
        met, n = row["meets"].split("/")
        verdict = (
            f"ok ({n}/{n})" if met == n else (f"**miss** (0/{n})" if met == "0" else f"met {met} of {n}")
        )
        lines.append(
            f"| {size} | {cell} | {short[dtype]} | {cols} | {span(row['vs_torch'])} | "
            f"{span(row['vs_jax'])} | ≤ {row['target']:g} {verdict} |"
        )
    return "\n".join(lines)


def _fmt(values):
    shown = [f"{v:.2f}" for v in values if v is not None]
    if not shown:
        return "-"
    low, high = min(v for v in values if v is not None), max(v for v in values if v is not None)
    return " / ".join(shown) + (f"  (range {low:.2f}-{high:.2f})" if len(shown) > 1 else "")


def _load(folder: str) -> dict:
    path = Path(folder) / "speed.json" if Path(folder).is_dir() else Path(folder)
    if not path.is_file():
        raise SystemExit(f"speed_compare: {str(path)!r} is not a speed.json (or a folder holding one)")
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise SystemExit(f"speed_compare: {str(path)!r} is not valid JSON ({e.msg} at line {e.lineno})")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("runs", nargs="+", help="folders (or speed.json files) of one-thread runs")
    p.add_argument("--two-threads", help="a folder (or speed.json) of a --threads 2 run")
    p.add_argument("--markdown", action="store_true", help="print the README's table instead")
    args = p.parse_args(argv)
    runs = [_load(r) for r in args.runs]
    if args.markdown:
        print(markdown(runs))
        return 0
    for k, (name, run) in enumerate(zip(args.runs, runs)):
        m = run.get("machine_before", {})
        print(
            f"run {k + 1}: {name}: threads {m.get('threads')}, load before {m.get('load_avg_1_5_15')}, "
            f"after {run.get('machine_after', {}).get('load_avg_1_5_15')}"
        )
    print(f"\n{'row':<24} {'target':>6}  {'minirnn / torch':<32} {'minirnn / JAX':<32} meets")
    for row in agreement(runs):
        size, cell, dtype = row["row"]
        print(
            f"{size + ' ' + cell + ' ' + dtype:<24} {row['target']:>6}  {_fmt(row['vs_torch']):<32} "
            f"{_fmt(row['vs_jax']):<32} {row['meets']}"
        )
    if args.two_threads:
        two = _load(args.two_threads)
        print(
            f"\ntwo threads ({args.two_threads}, load before "
            f"{two.get('machine_before', {}).get('load_avg_1_5_15')}): speed-up t1/t2 against run 1"
        )
        print(f"{'row':<24} {'minirnn':>8} {'torch':>8}  at least torch's")
        for (size, cell, dtype), mine, torch in speedups(runs[0], two):
            ok = "-" if torch is None else ("yes" if mine >= torch else "no")
            torch_s = "-" if torch is None else f"{torch:.2f}"
            print(f"{size + ' ' + cell + ' ' + dtype:<24} {mine:>8.2f} {torch_s:>8}  {ok}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
