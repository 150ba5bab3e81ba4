"""The ``minirnn train`` and ``minirnn sample`` commands (``cli.py`` only registers them).

    minirnn train adding --cell lstm --T 50 --steps 5000 --out runs/adding
    minirnn train char --cell gru --hidden 128 --steps 3000 --out runs/char      # then:
    minirnn sample runs/char/checkpoint.npz --prime "def " --length 300 --temperature 0.8

``train`` writes ``OUT/checkpoint.npz`` (every ``--checkpoint-every`` steps and at the end) and ``OUT/loss.png``, shows a
progress bar, and prints the final held-out evaluation as its last line (``test_mse=0.0034``, ``test_loss=1.234`` or
``accuracy=0.97``). ``--resume`` continues the run saved in ``OUT`` up to ``--steps``.
"""
from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ..nn.optim import Adam
from ..training import loop as train
from ..training import recipes as experiments
from ..training.checkpoint import load_checkpoint, read_checkpoint

#: Default number of steps per task (enough to beat the task's baseline clearly with the default sizes).
DEFAULT_STEPS = {"adding": 5000, "copy": 3000, "forecast": 1500, "char": 3000, "classify": 1500, "video": 2000}
#: Settings that must not change between a run and its resumption (None on the command line: take the saved one).
_RUN_KEYS = ("cell", "hidden", "T", "batch", "seed", "lr", "clip", "label")
#: The labels of the video task (``--label``); memory takes ``--K`` noise frames after the flash.
VIDEO_LABELS = ("direction", "digit", "memory")


def add_parser(sub) -> None:
    """Declare ``train`` on the ``minirnn`` subparsers."""
    p = sub.add_parser("train", help="train a model on a task, with a progress bar, a loss curve and a checkpoint",
                       description="Train on one of the classic tasks. The last line printed is the held-out "
                                   "evaluation: test_mse=... (adding, forecast), test_loss=... in nats per symbol "
                                   "(copy, char) or accuracy=... (classify, video).")
    p.add_argument("task", choices=experiments.TASKS)
    p.add_argument("--cell", choices=("rnn", "lstm", "gru"), default=None, help="recurrent cell (default lstm)")
    p.add_argument("--out", default=None, help="folder for checkpoint.npz and loss.png (default runs/TASK-CELL)")
    p.add_argument("--steps", type=int, default=None, help="total training steps (default per task: "
                   + ", ".join(f"{k} {v}" for k, v in DEFAULT_STEPS.items()) + ")")
    p.add_argument("--seed", type=int, default=None, help="seed of weights, batches and test data (default 0)")
    p.add_argument("--hidden", type=int, default=None, help="hidden size (default per task)")
    p.add_argument("--T", type=int, default=None, help="sequence length: adding/classify length, copy delay, "
                   "forecast window, char BPTT chunk, video frames (default per task)")
    p.add_argument("--batch", type=int, default=None, help="batch size (default 32)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-3; video 3e-3)")
    p.add_argument("--clip", type=float, default=None, help="gradient norm clipping, 0 for none (default 1.0)")
    p.add_argument("--eval-every", type=int, default=None, help="held-out evaluation every N steps (default "
                   "steps/10)")
    p.add_argument("--checkpoint-every", type=int, default=None, help="checkpoint every N steps (default "
                   "steps/10)")
    p.add_argument("--resume", action="store_true", help="continue the run saved in OUT/checkpoint.npz")
    p.add_argument("--backend", choices=("auto", "numpy", "numba"), default="auto")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument("--label", choices=VIDEO_LABELS, default=None, help="video only: what to classify, the "
                   "direction of motion, the digit, or the digit flashed before K noise frames (default direction)")
    p.add_argument("--K", type=int, default=None, help="video --label memory only: noise frames after the flash "
                   "(default 10; the video has K + 1 frames)")
    p.add_argument("--text", default=None, metavar="FILE", help="char only: train on this UTF-8 text file "
                   "(default: the Python standard library's own source)")
    p.set_defaults(func=cmd_train)


def _settings(args) -> dict:
    """The run's settings: the command line, completed from the checkpoint when resuming, then the defaults."""
    given = {k: getattr(args, k) for k in _RUN_KEYS}
    path = os.path.join(args.out, "checkpoint.npz")
    if args.resume and os.path.exists(path):
        saved = read_checkpoint(path)["meta"]
        if saved.get("task") != args.task:
            raise SystemExit(f"--resume: {path} holds a {saved.get('task')!r} run, not {args.task!r}")
        for k in _RUN_KEYS:
            if given[k] is not None and given[k] != saved["settings"].get(k):
                raise SystemExit(f"--resume: the run in {path} used --{k} {saved['settings'].get(k)}, got --{k} "
                                 f"{given[k]}; leave it out or start a new --out")
            given[k] = saved["settings"].get(k)
    defaults = {"cell": "lstm", "batch": 32, "seed": 0, "lr": 3e-3 if args.task == "video" else 1e-3, "clip": 1.0,
                "label": "direction" if args.task == "video" else None}
    return {k: (defaults.get(k) if v is None else v) for k, v in given.items()}


def _check_positive(args):
    if args.lr is not None and not 0 < args.lr < float("inf"):
        raise SystemExit(f"--lr must be a positive number, got {args.lr}")
    if args.clip is not None and not 0 <= args.clip < float("inf"):
        raise SystemExit(f"--clip must be a number >= 0 (0 for no clipping), got {args.clip}")
    for name in ("steps", "hidden", "T", "batch", "eval_every", "checkpoint_every", "K"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "steps" else 1):
            raise SystemExit(f"--{name.replace('_', '-')} must be a positive integer, got {value}")


def _video_options(args):
    """Check ``--label`` and ``--K`` (video only; K for memory only) and turn ``--K`` into ``--T`` = K + 1."""
    if args.task != "video":
        for name in ("label", "K"):
            if getattr(args, name) is not None:
                raise SystemExit(f"--{name} is for the video task, got task {args.task!r}")
        return
    if args.K is not None:
        if (args.label or "direction") != "memory":
            raise SystemExit(f"--K is for --label memory, got --label {args.label or 'direction'}")
        if args.T is not None and args.T != args.K + 1:
            raise SystemExit(f"--K {args.K} means --T {args.K + 1} (the flash and K noise frames), got --T {args.T}")
        args.T = args.K + 1
    if args.T is not None and args.T < (4 if (args.label or "direction") == "direction" else 2):
        raise SystemExit(f"--T must be at least 4 for --label direction and 2 otherwise, got {args.T}")
    if args.T is not None and args.label == "digit" and args.T > 5:
        raise SystemExit(f"--T must be at most 5 for --label digit (the path must fit on the 12x12 canvas), "
                         f"got {args.T}")


def _read_text(path) -> str:
    """The text of ``--text FILE`` (UTF-8), or a one-sentence exit when it cannot be read or is too short."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise SystemExit(f"--text: cannot read {path!r} as UTF-8 text: {e}") from None
    if len(text) < 1000:
        raise SystemExit(f"--text: {path!r} has {len(text)} characters; a character model needs at least 1000")
    return text


def cmd_train(args) -> int:
    """Train ``args.task``; write the checkpoint and the curve; print the held-out metric last."""
    _check_positive(args)
    _video_options(args)
    args.out = args.out or os.path.join("runs", f"{args.task}-{args.cell or 'lstm'}")
    os.makedirs(args.out, exist_ok=True)
    st = _settings(args)
    steps = DEFAULT_STEPS[args.task] if args.steps is None else args.steps
    extra = {"text": _read_text(args.text)} if args.text is not None else {}
    if extra and args.task != "char":
        raise SystemExit(f"--text is for the char task, got task {args.task!r}")
    if args.task == "video":
        extra["label"] = st["label"]
    exp = experiments.make(args.task, cell=st["cell"], T=st["T"], hidden=st["hidden"], batch=st["batch"],
                           seed=st["seed"], backend=args.backend, **extra)
    st["T"], st["hidden"] = exp.info["T"], exp.model_config["hidden_size"]
    opt = Adam(exp.model, lr=st["lr"])
    every = max(1, steps // 10)
    path = os.path.join(args.out, "checkpoint.npz")
    meta = {"task": args.task, "settings": st, "model_config": exp.model_config, "metric": exp.metric,
            "baseline": list(exp.baseline)}
    print(f"minirnn train {args.task}: {exp.model!r}, {exp.model.num_parameters()} parameters, "
          f"{st['cell']} H={st['hidden']} T={st['T']}{' label=' + st['label'] if st['label'] else ''} "
          f"batch={st['batch']} Adam lr={st['lr']} clip={st['clip']}, "
          f"{steps} steps -> {args.out}")
    print(f"baseline ({exp.baseline[0]}): {exp.metric}={exp.baseline[1]:.4g}")
    t0 = time.perf_counter()
    try:
        history = train.fit(exp.model, opt, exp.train_step, steps, rng=exp.rng, evaluate=exp.evaluate,
                            eval_every=args.eval_every or every, clip_norm=st["clip"] or None,
                            checkpoint_path=path, checkpoint_every=args.checkpoint_every or every,
                            resume=args.resume, progress=not args.no_progress, meta=meta,
                            desc=f"{args.task} {st['cell']}")
    except train.NonFiniteError as e:
        print(f"error: {e}")
        return 1
    seconds = time.perf_counter() - t0
    fig = train.plot_history(history, os.path.join(args.out, "loss.png"), baseline=exp.baseline,
                             title=f"{args.task}, {st['cell']} H={st['hidden']} T={st['T']}")
    import matplotlib.pyplot as plt
    plt.close(fig)
    for step, *values in zip(history["eval_step"], *history["eval"].values()):
        print(f"  step {step:>6}: " + ", ".join(f"{k}={v:.4g}" for k, v in zip(history["eval"], values)))
    if args.task == "char":
        prime = "\n" if "\n" in exp.model.vocab.chars else exp.model.vocab.chars[0]
        print("sample (temperature 0.8):")
        print(prime + exp.model.sample(prime, 200, temperature=0.8, seed=st["seed"]))
        print("-" * 40)
    print(f"wrote {path} and {os.path.join(args.out, 'loss.png')} ({seconds:.1f} s)")
    print(f"{exp.metric}={history['eval'][exp.metric][-1]:.4g}")
    return 0


def demo_training(seed=0, steps=300) -> float:
    """The training part of ``minirnn demo``: a GRU learns the adding problem at T=20; returns the test MSE."""
    exp = experiments.adding("gru", T=20, hidden=32, seed=seed, n_test=500)
    print(f"Training: a GRU (H=32) learns the adding problem at T=20 for {steps} steps (Adam, lr 3e-3); "
          f"baseline '{exp.baseline[0]}' has test MSE {exp.baseline[1]:.3f}")
    history = train.fit(exp.model, Adam(exp.model, lr=3e-3), exp.train_step, steps, rng=exp.rng,
                        evaluate=exp.evaluate, eval_every=max(1, steps // 3), clip_norm=1.0, desc="adding gru")
    for step, value in zip(history["eval_step"], history["eval"]["test_mse"]):
        print(f"  step {step:>4}: test_mse={value:.4f}")
    return history["eval"]["test_mse"][-1]
