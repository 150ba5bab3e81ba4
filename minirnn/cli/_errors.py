"""The one error class of the command line: a mistake of the user's, printed by ``minirnn.cli.main`` as one
line
``minirnn <command>: <sentence>`` with exit status 2, never a traceback."""

from __future__ import annotations


class UsageError(Exception):
    """A mistake on the command line (or in the files it names); the message is one sentence."""
