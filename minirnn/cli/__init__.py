"""The ``minirnn`` command: one entry point, a file per command.

    minirnn demo            a tour: gradient checks of every cell (float64, central differences), agreement of the
                            NumPy and Numba backends, a short training run and the vanishing-gradient figure
    minirnn train TASK      train on adding, copy, forecast, char, classify or translate (cli/train.py)
    minirnn sample CKPT     generate text from a trained character model (cli/sample.py)
    minirnn translate CKPT TEXT   a trained sequence-to-sequence model's output and attention (cli/translate.py)
    minirnn vanishing       why gradients vanish: per-step gradient norms of each cell, sweeps, figures (--all)
    minirnn bench           speed against PyTorch CPU (runs benchmarks/speed.py of a checkout)
    minirnn assignment      the course kit: student skeletons and the grader (cli/assignment.py)

Each command's module has ``add_parser(sub)`` and a ``cmd_<name>(args) -> exit code``.
"""
from __future__ import annotations

import argparse
import sys

from . import assignment, bench, demo, sample, train, translate, vanishing

COMMANDS = (demo, vanishing, bench, train, sample, translate, assignment)


def build_parser() -> argparse.ArgumentParser:
    """The ``minirnn`` argument parser with every subcommand (``minirnn --help`` lists them)."""
    parser = argparse.ArgumentParser(prog="minirnn", description="Recurrent networks from scratch: "
                                     "hand-written BPTT, Numba loops, gradient checks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``minirnn`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:                       # every option after it belongs to benchmarks/speed.py
        return bench.cmd_bench(argparse.Namespace(bench_args=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
