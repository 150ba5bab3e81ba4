"""``minirnn vanishing``: per-step gradient norms of each cell, the sweeps and their figures."""

from __future__ import annotations


def add_parser(sub) -> None:
    """Declare ``vanishing`` on the ``minirnn`` subparsers."""
    van = sub.add_parser(
        "vanishing", help="why gradients vanish: per-step gradient norms, sweeps and their figures"
    )
    van.add_argument(
        "--cells",
        nargs="+",
        choices=["rnn", "lstm", "gru"],
        default=["rnn", "lstm", "gru"],
        help="the cells to measure",
    )
    van.add_argument("--T", type=int, default=100, help="sequence length (default 100)")
    van.add_argument("--hidden", type=int, default=64, help="hidden size H (default 64)")
    van.add_argument(
        "--input-size", type=int, default=8, help="input size of the x ~ N(0, 1) inputs (default 8)"
    )
    van.add_argument("--seeds", type=int, default=16, help="seeds per measurement (default 16)")
    van.add_argument("--out", default="vanishing_out", help="folder for the PNG, CSV and JSON files")
    van.add_argument(
        "--experiment",
        nargs="+",
        choices=[
            "profiles",
            "defaults",
            "trained",
            "gain",
            "heatmap",
            "bias",
            "spectra",
            "learnability",
            "clipping",
            "cliff",
        ],
        default=None,
        help="the experiments to run (default: profiles); the same as their flags below",
    )
    for name, what in (
        ("defaults", "profiles at PyTorch's and at Keras' default initialisation"),
        ("trained", "profiles at init and after training on the adding problem"),
        ("gain", "W_hh = g Q sweep against the exact g^(T-1-t) lines"),
        ("heatmap", "log ratio over gain x input scale"),
        ("bias", "LSTM forget-gate / GRU update-gate bias sweep and the constant error carousel"),
        ("spectra", "eigenvalues of W_hh and singular values of Jacobian products"),
        ("learnability", "success rate against T on the adding problem, 7 inits, over seeds"),
        ("clipping", "tanh RNN, W_hh = 1.3 Q: SGD with and without clipping, growth per step, 5 seeds"),
        ("cliff", "Pascanu's cliff: a one-unit RNN's loss surface, descents with and without clipping"),
    ):
        van.add_argument(f"--{name}", action="store_true", help=what)
    van.add_argument("--all", action="store_true", help="run every experiment (a few minutes on 2 cores)")
    van.add_argument(
        "--n-jobs", type=int, default=-1, help="parallel runs of --learnability (joblib; -1: all cores)"
    )
    van.add_argument("--steps", type=int, default=300, help="training steps per run (default 300)")
    van.add_argument("--no-progress", action="store_true", help="no progress bars")
    van.set_defaults(func=cmd_vanishing)


def cmd_vanishing(args) -> int:
    """Measure how the gradient vanishes in each cell (minirnn/analysis/vanishing.py); write figures,
    CSV/JSON and a table."""
    from ..analysis import vanishing

    for flag, value, least in (
        ("--T", args.T, 2),
        ("--hidden", args.hidden, 1),
        ("--input-size", args.input_size, 1),
        ("--seeds", args.seeds, 1),
        ("--steps", args.steps, 1),
    ):
        if value < least:
            raise SystemExit(f"{flag} must be an integer >= {least}, got {value}")
    _make_out(args.out)
    chosen = set(args.experiment or ()) | {e for e in vanishing.EXPERIMENTS[1:] if getattr(args, e)}
    exps = (
        vanishing.EXPERIMENTS
        if args.all
        else [e for e in vanishing.EXPERIMENTS if e in chosen] or ["profiles"]
    )
    print(f"minirnn vanishing: {', '.join(exps)} -> {args.out}")
    vanishing.run(
        args.out,
        tuple(args.cells),
        args.T,
        args.hidden,
        args.input_size,
        args.seeds,
        exps,
        steps=args.steps,
        progress=not args.no_progress,
        n_jobs=args.n_jobs,
    )
    return 0


def _make_out(folder) -> None:
    """Create the output folder now, so that a bad ``--out`` is one sentence before minutes of measuring."""
    import os

    if os.path.exists(folder) and not os.path.isdir(folder):
        raise SystemExit(f"--out {folder!r} is a file, not a folder")
    try:
        os.makedirs(folder, exist_ok=True)
    except OSError as e:
        raise SystemExit(f"--out {folder!r} cannot be created ({e.strerror})") from None
