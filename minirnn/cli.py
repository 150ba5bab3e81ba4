"""The ``minirnn`` command.

    minirnn demo            a tour: gradient checks of every cell (float64, central differences), agreement of the
                            NumPy and Numba backends, and what a layer looks like
    minirnn train TASK      train on adding, copy, forecast, char or classify (minirnn/train_cli.py)
    minirnn sample CKPT     generate text from a trained character model

Each subcommand is a function ``cmd_<name>(args) -> exit code`` with its arguments declared in ``build_parser``.
"""
from __future__ import annotations

import argparse
import sys

import numpy as np


def cmd_demo(args) -> int:
    """Gradient-check every cell and a few layer configurations, then show the backends agree."""
    import gradcheck
    from minirnn import gradchecks, layers

    print("minirnn demo: every gradient of every cell against central differences (float64, eps=1e-6)\n")
    print("Loss L = sum(out * G) + sum(h_n * G_h) [+ sum(c_n * G_c)] with fixed random G; each tensor checked alone.\n")
    reports = gradchecks.run_suite(num_layers=(1,), bidirectional=(False,), lengths=(False, True), seed=args.seed)
    print(gradcheck.summary_table(reports))
    failed = [r for r in reports if not r.passed]
    print()
    print("Backends (same weights, same input): the readable NumPy loop and the compiled Numba loop")
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(20, 4, 8))
    for cls in (layers.RNN, layers.LSTM, layers.GRU):
        outs = {}
        for backend in ("numpy", "numba"):
            layer = cls(8, 16, num_layers=2, bidirectional=True, seed=args.seed, backend=backend)
            out = layer(x, lengths=[20, 15, 9, 1])[0]
            dx = layer.backward(np.ones_like(out))[0]
            outs[backend] = (out, dx, layer.grads)
        (o1, d1, g1), (o2, d2, g2) = outs["numpy"], outs["numba"]
        diff = max(np.abs(o1 - o2).max(), np.abs(d1 - d2).max(), *(np.abs(g1[k] - g2[k]).max() for k in g1))
        print(f"  {cls.__name__:<5} num_layers=2 bidirectional lengths=[20, 15, 9, 1]: "
              f"max |numpy - numba| = {diff:.1e}")
    print()
    from minirnn import train_cli
    train_cli.demo_training(seed=args.seed)
    print()
    print("all gradient checks passed" if not failed else f"{len(failed)} gradient check(s) FAILED")
    return 1 if failed else 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="minirnn", description="Recurrent networks from scratch: "
                                     "hand-written BPTT, Numba loops, gradient checks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="gradient checks of every cell and the backends side by side")
    demo.add_argument("--seed", type=int, default=0, help="seed for weights and inputs (default 0)")
    demo.set_defaults(func=cmd_demo)
    from minirnn import train_cli
    train_cli.add_parsers(sub)
    from minirnn import assignment_cli
    assignment_cli.add_parsers(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``minirnn`` console script; returns the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
