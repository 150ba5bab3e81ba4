"""The ``minirnn train`` command: its options and the run (``cli/__init__.py`` only registers it).

    minirnn train adding --cell lstm --T 50 --steps 5000 --out runs/adding
    minirnn train char --cell gru --hidden 128 --steps 3000 --out runs/char      # then:
    minirnn sample runs/char/checkpoint.npz --prime "def " --length 300 --temperature 0.8
    minirnn train tmaze --cell gru --corridor 20      # reinforcement learning: cli/train_tmaze.py

``train`` writes ``OUT/checkpoint.npz`` (every ``--checkpoint-every`` steps, at Ctrl-C and at the end) and
``OUT/loss.png``, shows a progress bar, and prints the final held-out evaluation as its last line
(``test_mse=0.0034``, ``test_loss=1.234`` or ``accuracy=0.97``). ``--resume`` continues the run saved in
``OUT`` up to ``--steps``; an existing run is never replaced without ``--force``, and a lock keeps a second
``train`` out of a folder in use.
Every mistake is one sentence: :class:`UsageError` (status 2); a run that stops is one line too (status 1, or
130 at Ctrl-C with the run saved).
"""

from __future__ import annotations

import os
import sys
import time

from ..nn.optim import Adam
from ..training import loop as train
from ..training import recipes as experiments
from ..training.checkpoint import load_checkpoint, read_checkpoint  # noqa: F401
from . import train_tmaze
from ._errors import UsageError
from ._run_folder import run_folder
from .train_options import (
    check_numbers,
    check_sizes,
    check_video_options,
    prepare_folder,
    read_text,
    run_settings,
)

#: Default number of steps per task (enough to beat the task's baseline clearly with the default sizes).
DEFAULT_STEPS = {
    "adding": 5000,
    "copy": 3000,
    "forecast": 1500,
    "char": 3000,
    "classify": 1500,
    "video": 2000,
    "translate": 600,
    "tmaze": train_tmaze.DEFAULT_STEPS,
}
#: The labels of the video task (``--label``); memory takes ``--K`` noise frames after the flash.
VIDEO_LABELS = ("direction", "digit", "memory")


def add_parser(sub) -> None:
    """Declare ``train`` on the ``minirnn`` subparsers.

    It is long because it declares every option of ``minirnn train`` in one place (the command's
    interface as ``--help`` prints it).
    """
    p = sub.add_parser(
        "train",
        help="train a model on a task, with a progress bar, a loss curve and a checkpoint",
        description="Train on one of the classic tasks. The last line printed is the held-out "
        "evaluation: test_mse=... (adding, forecast), test_loss=... in nats per symbol "
        "(copy, char), accuracy=... (classify, video), exact_match=... (translate) or success=... "
        "memoryless=... (tmaze: correct turns of the policy and of the memoryless control).",
    )
    p.add_argument("task", choices=experiments.TASKS + ("tmaze",))
    p.add_argument(
        "--cell",
        choices=("rnn", "lstm", "gru"),
        default=None,
        help="recurrent cell (default lstm; gru for translate)",
    )
    p.add_argument(
        "--out", default=None, help="folder for checkpoint.npz and loss.png (default runs/TASK-CELL)"
    )
    p.add_argument(
        "--steps",
        type=int,
        default=None,
        help="total training steps (default per task: "
        + ", ".join(f"{k} {v}" for k, v in DEFAULT_STEPS.items())
        + ")",
    )
    p.add_argument(
        "--seed", type=int, default=None, help="seed of weights, batches and test data (default 0)"
    )
    p.add_argument("--hidden", type=int, default=None, help="hidden size (default per task)")
    p.add_argument(
        "--T",
        type=int,
        default=None,
        help="sequence length: adding/classify length, copy delay, "
        "forecast window, char BPTT chunk, video frames (default per task)",
    )
    p.add_argument("--batch", type=int, default=None, help="batch size (default 32)")
    p.add_argument("--lr", type=float, default=None, help="Adam learning rate (default 1e-3; video 3e-3)")
    p.add_argument(
        "--clip", type=float, default=None, help="gradient norm clipping, 0 for none (default 1.0)"
    )
    p.add_argument(
        "--eval-every", type=int, default=None, help="held-out evaluation every N steps (default steps/10)"
    )
    p.add_argument(
        "--checkpoint-every", type=int, default=None, help="checkpoint every N steps (default steps/10)"
    )
    p.add_argument("--resume", action="store_true", help="continue the run saved in OUT/checkpoint.npz")
    p.add_argument(
        "--force",
        action="store_true",
        help="replace the run saved in OUT (without it, an existing run needs --resume)",
    )
    p.add_argument(
        "--backend",
        choices=("auto", "numpy", "numba"),
        default="auto",
        help="recurrent loops: compiled (numba), readable (numpy) or auto",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--label",
        choices=VIDEO_LABELS,
        default=None,
        help="video only: what to classify, the "
        "direction of motion, the digit, or the digit flashed before K noise frames (default direction)",
    )
    p.add_argument(
        "--K",
        type=int,
        default=None,
        help="video --label memory only: noise frames after the flash "
        "(default 10; the video has K + 1 frames)",
    )
    p.add_argument(
        "--text",
        default=None,
        metavar="FILE",
        help="char only: train on this UTF-8 text file (default: the Python standard library's own source)",
    )
    p.add_argument(
        "--attention",
        choices=("additive", "dot", "general", "none"),
        default=None,
        help="translate only: the decoder's attention (default additive)",
    )
    p.add_argument(
        "--data",
        choices=("dates", "reverse", "sort"),
        default=None,
        help="translate only: human-written dates -> ISO, or reverse / sort 1..T digits (default dates)",
    )
    p.add_argument(
        "--sampling",
        type=float,
        default=None,
        help="translate only: scheduled sampling, the "
        "probability (reached after 300 steps) of feeding the model's own prediction (default 0)",
    )
    train_tmaze.add_arguments(p)
    p.set_defaults(func=cmd_train)


def cmd_train(args) -> int:
    """Train ``args.task``; write the checkpoint and the curve; print the held-out metric last."""
    check_numbers(args)
    if args.task == "tmaze":  # its own trainer, the same protections of the run folder
        args.out = args.out or os.path.join("runs", f"tmaze-{args.cell or train_tmaze._DEFAULTS['cell']}")
        with run_folder(args.out):
            prepare_folder(args, os.path.join(args.out, "checkpoint.npz"))
            return train_tmaze.cmd_train_tmaze(args)
    for flag in ("corridor", "forget_bias"):
        if getattr(args, flag) is not None:
            raise UsageError(f"--{flag.replace('_', '-')} is for the tmaze task, got task {args.task!r}")
    check_video_options(args)
    default_cell = "gru" if args.task == "translate" else "lstm"
    args.out = args.out or os.path.join("runs", f"{args.task}-{args.cell or default_cell}")
    if args.text is not None and args.task != "char":
        raise UsageError(f"--text is for the char task, got task {args.task!r}")
    extra = {"text": read_text(args.text)} if args.text is not None else {}
    path = os.path.join(args.out, "checkpoint.npz")
    with run_folder(args.out):  # made, writable, locked until the run ends
        prepare_folder(args, path)
        st = run_settings(args)
        steps = DEFAULT_STEPS[args.task] if args.steps is None else args.steps
        if args.task == "translate" and st["data"] == "dates" and args.T is not None:
            raise UsageError(
                "--T is the longest digit string of --data reverse or sort; dates set their own lengths"
            )
        if args.task == "translate":
            extra = {"attention": st["attention"], "data": st["data"], "sampling": st["sampling"]}
        if args.task == "video":
            extra["label"] = st["label"]
        if args.resume:
            done = read_checkpoint(path)["meta"].get("step", 0)
            if steps < done:
                raise UsageError(
                    f"--steps {steps} is fewer than the {done} steps the run in {args.out!r} has "
                    f"done; --steps is the total, so give at least {done}"
                )
        check_sizes(args.task, st)
        return _run(args, st, steps, path, extra)


def _run(args, st, steps, path, extra) -> int:
    """Build the experiment, train, plot, print; the run's failures are one line each.

    It is long because every failure of a run (interrupt, non-finite loss, full disk) gets its own
    one-line message here, beside the call that can raise it.
    """
    exp = experiments.make(
        args.task,
        cell=st["cell"],
        T=st["T"],
        hidden=st["hidden"],
        batch=st["batch"],
        seed=st["seed"],
        backend=args.backend,
        **extra,
    )
    st["T"], st["hidden"] = exp.info["T"], exp.model_config["hidden_size"]
    opt = Adam(exp.model, lr=st["lr"])
    every = max(1, steps // 10)
    meta = {
        "task": args.task,
        "settings": st,
        "model_config": exp.model_config,
        "metric": exp.metric,
        "baseline": list(exp.baseline),
    }
    print(
        f"minirnn train {args.task}: {exp.model!r}, {exp.model.num_parameters()} parameters, "
        f"{st['cell']} H={st['hidden']} T={st['T']}{' label=' + st['label'] if st['label'] else ''} "
        f"batch={st['batch']} Adam lr={st['lr']} clip={st['clip']}, "
        f"{steps} steps -> {args.out}",
        flush=True,
    )
    print(f"baseline ({exp.baseline[0]}): {exp.metric}={exp.baseline[1]:.4g}", flush=True)
    t0 = time.perf_counter()
    try:
        history = train.fit(
            exp.model,
            opt,
            exp.train_step,
            steps,
            rng=exp.rng,
            evaluate=exp.evaluate,
            eval_every=args.eval_every or every,
            clip_norm=st["clip"] or None,
            checkpoint_path=path,
            checkpoint_every=args.checkpoint_every or every,
            resume=args.resume,
            progress=not args.no_progress,
            meta=meta,
            desc=f"{args.task} {st['cell']}",
        )
    except train.TrainingInterrupted as e:
        print(
            f"minirnn train: interrupted after step {e.step} of {steps}; the run is saved in {path}: "
            "continue "
            f"it with the same command and --resume",
            file=sys.stderr,
        )
        return 130
    except train.NonFiniteError as e:
        print(f"minirnn train: {e}", file=sys.stderr)
        return 1
    except OSError as e:
        print(
            f"minirnn train: cannot write the checkpoint {path} ({e.strerror or e}); the previous "
            "checkpoint, "
            f"if any, was kept",
            file=sys.stderr,
        )
        return 1
    seconds = time.perf_counter() - t0
    _report(args, exp, st, history, path, seconds)
    return 0


def _report(args, exp, st, history, path, seconds):
    """The curve, the evaluations, a sample for char, and the metric as the last line."""
    fig = train.plot_history(
        history,
        os.path.join(args.out, "loss.png"),
        baseline=exp.baseline,
        title=f"{args.task}, {st['cell']} H={st['hidden']} T={st['T']}",
    )
    import matplotlib.pyplot as plt

    plt.close(fig)
    for step, *values in zip(history["eval_step"], *history["eval"].values()):
        print(f"  step {step:>6}: " + ", ".join(f"{k}={v:.4g}" for k, v in zip(history["eval"], values)))
    if args.task == "char":
        prime = "\n" if "\n" in exp.model.vocab.chars else exp.model.vocab.chars[0]
        print("sample (temperature 0.8):")
        print(prime + exp.model.sample(prime, 200, temperature=0.8, seed=st["seed"]))
        print("-" * 40)
    if "examples" in exp.info:
        print(exp.info["examples"](exp.model))
    print(f"wrote {path} and {os.path.join(args.out, 'loss.png')} ({seconds:.1f} s)")
    print(f"{exp.metric}={history['eval'][exp.metric][-1]:.4g}")
