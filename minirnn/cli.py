"""The ``minirnn`` command.

    minirnn vanishing       why gradients vanish: per-step gradient norms of each cell, sweeps, figures (--all)
    minirnn demo            a tour: gradient checks of every cell (float64, central differences), agreement of the
                            NumPy and Numba backends, a short training run and the vanishing-gradient figure
    minirnn train TASK      train on adding, copy, forecast, char or classify (minirnn/train_cli.py)
    minirnn sample CKPT     generate text from a trained character model
    minirnn bench           speed against PyTorch CPU (minirnn/bench.py, also benchmarks/speed.py)

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
    from minirnn import vanishing
    print("Vanishing gradients: how much of the gradient of a loss on step 99 reaches each earlier step")
    vanishing.run(args.out, experiments=("profiles",), seeds=4, progress=False)
    print(f"  figure: {args.out}/profiles.png")
    print()
    print("all gradient checks passed" if not failed else f"{len(failed)} gradient check(s) FAILED")
    return 1 if failed else 0


def cmd_vanishing(args) -> int:
    """Measure how the gradient vanishes in each cell (minirnn/vanishing.py); write figures, CSV/JSON and a table."""
    from minirnn import vanishing
    exps = vanishing.EXPERIMENTS if args.all else ["profiles"] + [e for e in vanishing.EXPERIMENTS[1:]
                                                                  if getattr(args, e)]
    print(f"minirnn vanishing: {', '.join(exps)} -> {args.out}")
    vanishing.run(args.out, tuple(args.cells), args.T, args.hidden, args.input_size, args.seeds, exps,
                  steps=args.steps, task=args.task, progress=not args.no_progress)
    return 0


def cmd_bench(args) -> int:
    """Time minirnn's backends against torch (minirnn/bench.py; ``minirnn bench --help`` lists its options)."""
    from minirnn import bench
    return bench.main(args.bench_args)


def build_parser() -> argparse.ArgumentParser:
    """The ``minirnn`` argument parser with every subcommand (``minirnn --help`` lists them)."""
    parser = argparse.ArgumentParser(prog="minirnn", description="Recurrent networks from scratch: "
                                     "hand-written BPTT, Numba loops, gradient checks.")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo = sub.add_parser("demo", help="gradient checks of every cell and the backends side by side")
    demo.add_argument("--seed", type=int, default=0, help="seed for weights and inputs (default 0)")
    demo.add_argument("--out", default="minirnn_demo", help="folder for the demo's figure (default minirnn_demo)")
    demo.set_defaults(func=cmd_demo)
    van = sub.add_parser("vanishing", help="why gradients vanish: per-step gradient norms, sweeps and their figures")
    van.add_argument("--cells", nargs="+", choices=["rnn", "lstm", "gru"], default=["rnn", "lstm", "gru"])
    van.add_argument("--T", type=int, default=100, help="sequence length (default 100)")
    van.add_argument("--hidden", type=int, default=64, help="hidden size H (default 64)")
    van.add_argument("--input-size", type=int, default=8, help="input size of the x ~ N(0, 1) inputs (default 8)")
    van.add_argument("--seeds", type=int, default=16, help="seeds per measurement (default 16)")
    van.add_argument("--out", default="vanishing_out", help="folder for the PNG, CSV and JSON files")
    for name, what in (("trained", "profiles at init and after training on the adding problem"),
                       ("gain", "W_hh = g Q sweep against the exact g^(T-1-t) lines"),
                       ("heatmap", "log ratio over gain x input scale"),
                       ("bias", "LSTM forget-gate / GRU update-gate bias sweep and the constant error carousel"),
                       ("spectra", "eigenvalues of W_hh and singular values of Jacobian products"),
                       ("learnability", "final loss against T at a fixed training budget"),
                       ("clipping", "gradient norm during training with and without clipping")):
        van.add_argument(f"--{name}", action="store_true", help=what)
    van.add_argument("--all", action="store_true", help="run every experiment (a few minutes on 2 cores)")
    van.add_argument("--task", choices=["adding", "copy"], default="adding", help="task of --learnability")
    van.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    van.add_argument("--no-progress", action="store_true", help="no progress bars")
    van.set_defaults(func=cmd_vanishing)
    bench = sub.add_parser("bench", add_help=False, help="speed against PyTorch CPU: table, JSON, chart "
                           "(options: minirnn bench --help)")
    bench.add_argument("bench_args", nargs=argparse.REMAINDER)
    bench.set_defaults(func=cmd_bench)
    from minirnn import train_cli
    train_cli.add_parsers(sub)
    from minirnn import assignment_cli
    assignment_cli.add_parsers(sub)
    return parser


def main(argv=None) -> int:
    """Entry point of the ``minirnn`` console script; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["bench"]:                       # every option after it belongs to minirnn/bench.py
        return cmd_bench(argparse.Namespace(bench_args=argv[1:]))
    parser = build_parser()
    args = parser.parse_args(argv)
    if not hasattr(args, "func"):
        parser.print_help()
        return 2
    return args.func(args)


if __name__ == "__main__":
    sys.exit(main())
