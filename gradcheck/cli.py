"""The ``gradcheck`` command (also ``python -m gradcheck``).

Two uses:

    gradcheck                                    check every minirnn cell and layer configuration: runs the
        suite
                                                 named by --suite, whose default is minirnn's
                                                 ``minirnn.analysis.gradient_suite:run_suite``; that is the
                                                 only case in which gradcheck imports minirnn (it says so
                                                 first)
    gradcheck --target my_rnn.py:loss_and_grads  check your own function (imports NumPy and your module only)
    minirnn gradcheck ...                        the same command as a minirnn subcommand

The --target protocol (a module name or a .py file, a colon, a function name)::

    def loss_and_grads(params):          # params: dict name -> float64 ndarray (parameters AND inputs)
        ...                              # compute the loss from params (they are perturbed in place)
        return loss, grads               # float, dict name -> analytic d loss / d params[name]

    def make_params(seed=0):             # the point to check at: dict name -> float64 ndarray
        ...

``make_params`` is looked up in the same module unless ``--params module:function`` names another. A parameter
without a gradient in ``grads`` is a failure unless ``--allow-missing`` is given. The exit status is 0 when
every tensor passes, 1 when one fails (or lacks its gradient), 2 for a usage error (bad target, float32
parameters, a ``--json`` folder that does not exist, ...), always with one sentence on stderr.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import inspect
import os
import sys
from pathlib import Path

import numpy as np

from .numerics import METHODS, check_gradients, eps_sweep
from .report import summary_table

DEFAULT_SUITE = "minirnn.analysis.gradient_suite:run_suite"
CELLS = ("rnn_tanh", "rnn_relu", "lstm", "gru")


class UsageError(Exception):
    """A problem with what the user asked for; printed as one sentence, exit status 2."""


def load_callable(spec: str, what: str = "--target"):
    """The function named by ``"module:function"`` or ``"path/to/file.py:function"``.

    The current directory is put on ``sys.path`` first, so ``gradcheck --target my_rnn:loss`` finds
    ``./my_rnn.py``.

    Example:
        >>> load_callable("numpy:tanh") is np.tanh
        True
    """
    module_name, sep, func_name = spec.rpartition(":")
    if not sep or not module_name or not func_name:
        raise UsageError(f"{what} must look like module:function or path/to/file.py:function, got {spec!r}")
    if os.getcwd() not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        if module_name.endswith(".py") or os.sep in module_name:
            path = Path(module_name)
            if not path.is_file():
                raise UsageError(f"{what} names the file {module_name!r}, which does not exist")
            spec_obj = importlib.util.spec_from_file_location(path.stem, path)
            module = importlib.util.module_from_spec(spec_obj)
            sys.modules[path.stem] = module
            spec_obj.loader.exec_module(module)
        else:
            module = importlib.import_module(module_name)
    except ImportError as exc:
        raise UsageError(f"{what}: cannot import module {module_name!r} ({exc})") from exc
    func = getattr(module, func_name, None)
    if not callable(func):
        raise UsageError(f"{what}: module {module_name!r} has no function {func_name!r}")
    return func


def _split_list(text: str, cast=str):
    return tuple(cast(item.strip()) for item in text.split(",") if item.strip())


def _choice(text: str):
    """'yes' -> (True,), 'no' -> (False,), 'both' -> (False, True)."""
    return {"yes": (True,), "no": (False,), "both": (False, True)}[text]


def build_parser(prog: str = "gradcheck") -> argparse.ArgumentParser:
    """The ``gradcheck`` argument parser (``gradcheck --help`` shows every option).

    It is long because it declares every option of the command in one place, which is the command's
    interface as ``--help`` prints it.
    """
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Finite-difference gradient checks (central differences in float64). Without --target, "
        "runs the "
        f"suite named by --suite (default {DEFAULT_SUITE}: every minirnn cell and layer configuration; "
        "only then is minirnn imported); with --target, checks your own function.",
        epilog="--target protocol: loss_and_grads(params) -> (loss, grads) where params and grads are dicts "
        "of float64 "
        "arrays by name; the point to check at comes from make_params() in the same module (or --params).",
    )
    parser.add_argument(
        "--target",
        metavar="MODULE:FUNCTION",
        help="check your function: FUNCTION(params) -> (loss, grads); MODULE may be a .py path",
    )
    parser.add_argument(
        "--params",
        metavar="MODULE:FUNCTION",
        help="where the target's parameters come from (default: make_params in the target's module)",
    )
    parser.add_argument(
        "--suite",
        metavar="MODULE:FUNCTION",
        default=DEFAULT_SUITE,
        help=f"the suite run without --target, imported only then (default {DEFAULT_SUITE})",
    )
    parser.add_argument(
        "--allow-missing",
        action="store_true",
        help="with --target: check only the parameters your function returns gradients for (without "
        "it, a missing gradient is a failure)",
    )
    suite = parser.add_argument_group("the minirnn suite (without --target)")
    suite.add_argument(
        "--cell", default=",".join(CELLS), help=f"comma list of cells (default: all of {','.join(CELLS)})"
    )
    suite.add_argument("--layers", default="1,2", help="comma list of num_layers (default 1,2)")
    suite.add_argument(
        "--bidirectional",
        choices=("no", "yes", "both"),
        default="both",
        help="unidirectional, bidirectional or both (default both)",
    )
    suite.add_argument(
        "--lengths",
        choices=("no", "yes", "both"),
        default="both",
        help="without or with a variable-length batch, or both (default both)",
    )
    suite.add_argument(
        "--level",
        choices=("cell", "layer", "both"),
        default="both",
        help="check the functional cells, the layers, or both (default both)",
    )
    for flag, default, name in (
        ("-T", 5, "sequence length"),
        ("-B", 3, "batch size"),
        ("-I", 4, "input size"),
        ("-H", 6, "hidden size"),
    ):
        suite.add_argument(flag, type=int, default=default, help=f"{name} (default {default})")
    suite.add_argument(
        "--backend",
        default=None,
        help="comma list of layer backends to check: auto, numpy, numba (default: the layers' auto)",
    )
    suite.add_argument("--verbose", action="store_true", help="print every configuration's per-tensor table")
    check = parser.add_argument_group("checking")
    check.add_argument(
        "--method",
        choices=METHODS,
        default="full",
        help="full: every entry; sampled: --samples random entries per tensor; direction: one random "
        "directional derivative per tensor (default full)",
    )
    check.add_argument(
        "--samples", type=int, default=20, help="entries per tensor for --method sampled (default 20)"
    )
    check.add_argument(
        "--eps", type=float, default=1e-6, help="half step of the central difference (default 1e-6)"
    )
    check.add_argument("--rtol", type=float, default=1e-5, help="relative tolerance per entry (default 1e-5)")
    check.add_argument(
        "--atol",
        type=float,
        default=None,
        help="absolute tolerance per entry (default: 100 * 2.2e-16 * max(|loss|, 1) / eps)",
    )
    check.add_argument(
        "--seed", type=int, default=0, help="seed for sampled entries, directions and data (default 0)"
    )
    check.add_argument("--json", metavar="FILE", help="also write the report(s) as JSON to FILE")
    check.add_argument(
        "--sweep",
        metavar="PNG",
        help="with --target: also draw the error against eps from 1e-2 to 1e-10 into PNG",
    )
    return parser


def _run_target(args):
    """Check a user's --target function; it is long because it checks, in order, every way a target can
    be wrong before any finite difference runs, each with its own sentence."""
    target = load_callable(args.target, "--target")
    if args.params:
        make_params = load_callable(args.params, "--params")
    else:
        module_name = args.target.rpartition(":")[0]
        try:
            make_params = load_callable(f"{module_name}:make_params", "--target")
        except UsageError as exc:
            raise UsageError(
                f"--target: the module {module_name!r} has no make_params() giving the point to check "
                f"at; define make_params() there or name one with --params module:function"
            ) from exc
    takes_seed = "seed" in inspect.signature(make_params).parameters
    params = make_params(seed=args.seed) if takes_seed else make_params()
    if not isinstance(params, dict):
        raise UsageError(
            f"{args.params or 'make_params'}() must return a dict name -> float64 array, "
            f"got {type(params).__name__}"
        )
    result = target(params)
    if not (isinstance(result, tuple) and len(result) == 2 and isinstance(result[1], dict)):
        raise UsageError(
            f"{args.target} must return (loss, grads) with grads a dict name -> array, "
            f"got {type(result).__name__}"
        )
    grads = {k: np.array(v, dtype=np.float64) for k, v in result[1].items()}
    names = [name for name in params if name in grads]
    if not names:
        raise UsageError(
            f"{args.target} returned gradients for {sorted(grads)} but the parameters are "
            f"{sorted(params)}: no name in common"
        )
    skipped = [name for name in params if name not in grads]
    report = check_gradients(
        lambda p: target(p)[0],
        params,
        grads,
        eps=args.eps,
        method=args.method,
        seed=args.seed,
        num_samples=args.samples,
        rtol=args.rtol,
        atol=args.atol,
        names=names,
        title=args.target,
    )
    if not args.allow_missing:
        report.missing = skipped
    print(report)
    if skipped and args.allow_missing:
        print(f"not checked (no gradient returned, --allow-missing): {', '.join(skipped)}")
    if args.sweep:
        from .plot import plot_eps_sweep

        sweep = eps_sweep(
            lambda p: target(p)[0],
            params,
            grads,
            method=args.method,
            seed=args.seed,
            num_samples=args.samples,
            names=names,
        )
        plot_eps_sweep(sweep, args.sweep, title=f"{args.target}: error against eps", chosen_eps=args.eps)
        print(f"eps sweep written to {args.sweep}")
    return [report]


def _run_suite(args):
    print(
        f"gradcheck: no --target, so running the suite {args.suite} (--suite MODULE:FUNCTION chooses "
        "another; "
        f"--target checks your own function)",
        file=sys.stderr,
    )
    try:
        run = load_callable(args.suite, "--suite")
    except UsageError as exc:
        if args.suite == DEFAULT_SUITE:
            raise UsageError(
                f"no --target was given, and the default suite {DEFAULT_SUITE} needs minirnn, which "
                f"cannot be imported ({exc}); check your own function with --target MODULE:FUNCTION"
            ) from None
        raise
    extra = {"backends": _split_list(args.backend)} if args.backend else {}
    reports = run(
        **extra,
        cells=_split_list(args.cell),
        num_layers=_split_list(args.layers, int),
        bidirectional=_choice(args.bidirectional),
        lengths=_choice(args.lengths),
        levels=("cell", "layer") if args.level == "both" else (args.level,),
        T=args.T,
        B=args.B,
        I=args.I,
        H=args.H,
        seed=args.seed,
        method=args.method,
        num_samples=args.samples,
        eps=args.eps,
        rtol=args.rtol,
        atol=args.atol,
    )
    if len(reports) == 1:
        print(reports[0])
        return reports
    print(summary_table(reports))
    for report in reports:
        if args.verbose or not report.passed:
            print()
            print(report)
    return reports


def main(argv=None, prog: str = "gradcheck") -> int:
    """Run the command; returns the exit status (0 all passed, 1 a check failed, 2 a usage error).

    Example:
        >>> main(["--cell", "gru", "--level", "cell", "--lengths", "no"])      # doctest: +SKIP
        0
    """
    args = build_parser(prog).parse_args(argv)
    try:
        if args.json and not os.path.isdir(os.path.dirname(os.path.abspath(args.json))):
            raise UsageError(
                f"--json {args.json!r}: the folder {os.path.dirname(os.path.abspath(args.json))!r} "
                f"does not exist"
            )
        reports = _run_target(args) if args.target else _run_suite(args)
        if args.json:
            import json

            data = reports[0].to_dict() if args.target else [r.to_dict() for r in reports]
            Path(args.json).write_text(json.dumps(data, indent=2) + "\n")
    except (UsageError, ValueError, TypeError, KeyError, OSError) as exc:
        message = exc.args[0] if isinstance(exc, KeyError) and exc.args else exc
        print(f"{prog}: error: {message}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    return 0 if reports and all(r.passed for r in reports) else 1
