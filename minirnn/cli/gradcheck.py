"""``minirnn gradcheck ...``: the stand-alone ``gradcheck`` command, with minirnn's suite of every cell and
layer configuration as its default (``gradcheck`` itself imports only NumPy and loads that suite only when no
``--target``
is given; here loading minirnn is what was asked for)."""

from __future__ import annotations

import argparse

SUITE = "minirnn.analysis.gradient_suite:run_suite"


def add_parser(sub) -> None:
    """Declare ``gradcheck`` on the ``minirnn`` subparsers; every option after it belongs to ``gradcheck``."""
    p = sub.add_parser(
        "gradcheck",
        add_help=False,
        help="finite-difference checks of every cell and layer, or of "
        "your function (options: minirnn gradcheck --help)",
    )
    p.add_argument("gradcheck_args", nargs=argparse.REMAINDER)
    p.set_defaults(func=cmd_gradcheck)


def cmd_gradcheck(args) -> int:
    """Run ``gradcheck`` with ``args.gradcheck_args``; without ``--suite`` the suite is minirnn's."""
    from gradcheck.cli import main

    argv = list(args.gradcheck_args)
    if not any(a == "--suite" or a.startswith("--suite=") for a in argv):
        argv = ["--suite", SUITE] + argv
    return main(argv, prog="minirnn gradcheck")
