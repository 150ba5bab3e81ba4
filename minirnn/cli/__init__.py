"""The ``minirnn`` command: one entry point, a file per command.

    minirnn demo            a tour: gradient checks of every cell (float64, central differences), agreement
        of the
                            NumPy and Numba backends, a short training run and the vanishing-gradient figure
    minirnn train TASK      train on adding, copy, forecast, char, classify or translate (cli/train.py)
    minirnn sample CKPT     generate text from a trained character model (cli/sample.py)
    minirnn translate CKPT TEXT   a trained sequence-to-sequence model's output and attention
    (cli/translate.py)
    minirnn vanishing       why gradients vanish: per-step gradient norms of each cell, sweeps, figures
    (--all) minirnn bench           speed against PyTorch CPU (runs benchmarks/speed.py of a checkout)
    minirnn assignment      the course kit: student skeletons and the grader (cli/assignment.py)
    minirnn gradcheck       the gradcheck command with minirnn's suite as its default (cli/gradcheck.py)

Each command's module has ``add_parser(sub)`` and a ``cmd_<name>(args) -> exit code``. Every ``--help`` shows
the defaults. A mistake is one line ``minirnn <command>: <sentence>`` on stderr with status 2, never a
traceback: commands raise :class:`UsageError` (or ``SystemExit`` with a sentence) for what they can name, and
:func:`main` turns any ``ValueError``, ``TypeError`` or ``OSError`` that still escapes into that one line;
Ctrl-C is status 130.
"""

from __future__ import annotations

import argparse
import sys

from . import assignment, bench, demo, gradcheck, sample, train, translate, vanishing
from ._errors import UsageError

COMMANDS = (demo, vanishing, bench, train, sample, translate, assignment, gradcheck)
_PASS_THROUGH = {
    "bench": (bench.cmd_bench, "bench_args"),
    "gradcheck": (gradcheck.cmd_gradcheck, "gradcheck_args"),
}


class DefaultsFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows ``(default: X)`` after every option's help unless the help already names its default."""

    def _get_help_string(self, action):
        text = action.help or ""
        if (
            "default" in text
            or action.default in (None, False, argparse.SUPPRESS)
            or not action.option_strings
        ):
            return text
        return super()._get_help_string(action)


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose help shows defaults; sub-parsers (``add_subparsers``) are Parsers too."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", DefaultsFormatter)
        super().__init__(*args, **kwargs)


def _version() -> str:
    try:
        from importlib.metadata import version

        return version("minirnn")
    except Exception:  # not installed (run from a checkout)
        return "0.1.0 (not installed)"


def build_parser() -> argparse.ArgumentParser:
    """The ``minirnn`` argument parser with every subcommand (``minirnn --help`` lists them)."""
    parser = Parser(
        prog="minirnn",
        description="Recurrent networks from scratch: hand-written BPTT, Numba loops, gradient checks.",
    )
    parser.add_argument("--version", action="version", version=f"minirnn {_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for command in COMMANDS:
        command.add_parser(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``minirnn`` console script; returns the exit code (see the module docstring)."""
    argv = sys.argv[1:] if argv is None else list(argv)
    name = argv[0] if argv else None
    try:
        if name in _PASS_THROUGH:  # every option after it belongs to that command
            func, key = _PASS_THROUGH[name]
            return func(argparse.Namespace(**{key: argv[1:]}))
        parser = build_parser()
        args = parser.parse_args(argv)
        if not hasattr(args, "func"):
            parser.print_help()
            return 2
        name = args.command
        return args.func(args)
    except SystemExit as e:
        if isinstance(e.code, str):  # a command's own sentence
            print(f"minirnn {name}: {e.code}", file=sys.stderr)
            return 2
        raise
    except KeyboardInterrupt:
        print(f"minirnn {name}: interrupted", file=sys.stderr)
        return 130
    except (UsageError, ValueError, TypeError, OSError) as e:
        print(f"minirnn {name}: {_sentence(e)}", file=sys.stderr)
        return 2


def _sentence(error) -> str:
    """One line for an error that reached :func:`main`."""
    if isinstance(error, OSError) and error.strerror:
        where = f" ({error.filename})" if error.filename else ""
        return f"{error.strerror}{where}"
    text = " ".join(str(error).split()) or type(error).__name__
    return text


if __name__ == "__main__":
    sys.exit(main())
