"""``minirnn train tmaze``: a recurrent policy learns Bakker's T-maze with REINFORCE, beside a memoryless
control.

    minirnn train tmaze --cell gru --corridor 20
    minirnn train tmaze --cell lstm --forget-bias 1 --corridor 50 --out runs/tmaze50

Trains the recurrent policy, then the memoryless control (the same heads on this step's observation only)
with the same budget, evaluates both on the same held-out episodes (greedy turns), writes
``OUT/checkpoint.npz`` (the recurrent policy), ``OUT/control.npz`` and ``OUT/success.png``, and prints last
``success=... memoryless=...``. ``cli/train.py`` sends the ``tmaze`` task here.
"""

from __future__ import annotations

import os
import time

from ..cells import registry

from ..training import loop
from ..training.checkpoint import read_checkpoint
from ..training.rl import reinforce
from ..training.rl.figures import plot_success

#: The default number of updates (one batch of episodes each).
DEFAULT_STEPS = 2000
_DEFAULTS = {"cell": "lstm", "corridor": 20, "hidden": 32, "batch": 32, "seed": 0, "lr": 3e-3, "clip": 1.0}


def add_arguments(p) -> None:
    """The options only the tmaze task has, on the ``train`` parser."""
    p.add_argument(
        "--corridor",
        type=int,
        default=None,
        help="tmaze only: corridor cells between the signal and the junction (default 20)",
    )
    p.add_argument(
        "--forget-bias",
        type=float,
        default=None,
        help="tmaze, lstm only: the forget-gate block of bias_ih_l0 (default 1)",
    )


def _settings(args, path) -> dict:
    """The run's settings: the command line, completed from the checkpoint in ``path`` when resuming, then the
    defaults. One sentence and exit on a mistake."""
    for flag, value in (("--T", args.T), ("--text", args.text)):
        if value is not None:
            raise SystemExit(
                f"{flag} is not used by the tmaze task (its length is --corridor), got {flag} {value}"
            )
    given = {k: getattr(args, k, None) for k in _DEFAULTS}
    given["forget_bias"] = args.forget_bias
    if args.resume and os.path.exists(path):
        saved = read_checkpoint(path)["meta"]
        if saved.get("task") != "tmaze":
            raise SystemExit(f"--resume: {path} holds a {saved.get('task')!r} run, not 'tmaze'")
        for k, v in given.items():
            if v is not None and v != saved["settings"][k]:
                raise SystemExit(
                    f"--resume: the run in {path} used --{k.replace('_', '-')} {saved['settings'][k]}, "
                    f"got {v}; leave it out or start a new --out"
                )
        return saved["settings"]
    st = {k: (_DEFAULTS[k] if given[k] is None else given[k]) for k in _DEFAULTS}
    if st["corridor"] < 1:
        raise SystemExit(f"--corridor must be a positive integer, got {st['corridor']}")
    if args.forget_bias is not None and "f" not in registry.get(st["cell"]).gates:
        raise SystemExit(f"--forget-bias is for --cell lstm, got --cell {st['cell']}")
    st["forget_bias"] = (
        (1.0 if args.forget_bias is None else args.forget_bias)
        if "f" in registry.get(st["cell"]).gates
        else None
    )
    return st


def _run(exp, st, steps, args, path, desc):
    """Train one policy through ``loop.fit``; returns its history."""
    every = max(1, steps // 10)
    meta = {"task": "tmaze", "settings": st, "model_config": exp.model_config, "metric": "success"}
    return reinforce.train(
        exp,
        steps,
        lr=st["lr"],
        clip_norm=st["clip"] or None,
        eval_every=args.eval_every or every,
        checkpoint_path=path,
        checkpoint_every=args.checkpoint_every or every,
        resume=args.resume,
        progress=not args.no_progress,
        meta=meta,
        desc=desc,
    )


def cmd_train_tmaze(args) -> int:
    """Train the recurrent policy and the memoryless control; print ``success=... memoryless=...`` last."""
    args.out = args.out or os.path.join("runs", f"tmaze-{args.cell or _DEFAULTS['cell']}")
    paths = {
        "policy": os.path.join(args.out, "checkpoint.npz"),
        "control": os.path.join(args.out, "control.npz"),
    }
    st = _settings(args, paths["policy"])
    steps = DEFAULT_STEPS if args.steps is None else args.steps
    os.makedirs(args.out, exist_ok=True)
    common = dict(corridor=st["corridor"], hidden=st["hidden"], batch=st["batch"], seed=st["seed"])
    exp = reinforce.tmaze_experiment(
        st["cell"], forget_bias=st["forget_bias"], backend=args.backend, **common
    )
    control = reinforce.tmaze_experiment("none", **common)
    print(
        f"minirnn train tmaze: {exp.model!r}, {exp.model.num_parameters()} parameters, corridor "
        f"{st['corridor']}, "
        f"{st['batch']} episodes per step, REINFORCE with a value "
        f"baseline, Adam lr={st['lr']} clip={st['clip']}, {steps} steps -> {args.out}"
    )
    print(
        f"the best a memoryless policy can do on the held-out episodes ({exp.baseline[0]}): "
        f"success={exp.baseline[1]:.4g}"
    )
    t0 = time.perf_counter()
    try:
        history = _run(exp, st, steps, args, paths["policy"], f"tmaze {st['cell']}")
        print(
            "  "
            + ", ".join(
                f"step {s}: {v:.3g}" for s, v in zip(history["eval_step"], history["eval"]["success"])
            )
        )
        control_history = _run(control, st, steps, args, paths["control"], "tmaze memoryless")
    except loop.NonFiniteError as e:
        print(f"error: {e}")
        return 1
    seconds = time.perf_counter() - t0
    figure = os.path.join(args.out, "success.png")
    fig = plot_success(
        {f"{st['cell'].upper()} policy": history, "memoryless control": control_history},
        figure,
        title=f"T-maze, corridor {st['corridor']}: held-out success",
    )
    import matplotlib.pyplot as plt

    plt.close(fig)
    result, baseline = exp.evaluate(exp.model), control.evaluate(control.model)
    print(f"held-out: {st['cell']} policy {result}; memoryless control {baseline}")
    print(f"wrote {paths['policy']}, {paths['control']} and {figure} ({seconds:.1f} s)")
    print(f"success={result['success']:.4g} memoryless={baseline['success']:.4g}")
    return 0
