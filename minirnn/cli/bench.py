"""``minirnn bench``: runs ``benchmarks/speed.py`` of a source checkout (the benchmark is not part of the
installed
package: it imports torch and JAX, which minirnn itself never needs)."""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

SPEED = Path(__file__).resolve().parents[2] / "benchmarks" / "speed.py"


def add_parser(sub) -> None:
    """Declare ``bench`` on the ``minirnn`` subparsers; every option after it belongs to
    benchmarks/speed.py."""
    bench = sub.add_parser(
        "bench",
        add_help=False,
        help="speed against PyTorch CPU: table, JSON, chart (options: minirnn bench --help)",
    )
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)


def cmd_bench(args) -> int:
    """Load benchmarks/speed.py from the checkout this minirnn was installed from and run its ``main``."""
    if not SPEED.is_file():
        print(
            f"minirnn bench: {SPEED} not found; the benchmark runs from a clone of the repository "
            "(pip install -e . there, or run python benchmarks/speed.py)",
            file=sys.stderr,
        )
        return 2
    spec = importlib.util.spec_from_file_location("minirnn_benchmark_speed", SPEED)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.main(args.bench_args)
