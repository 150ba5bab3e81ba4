"""What the options of ``minirnn train`` may be, and the settings of the run they make (``cli/train.py``
declares the options and runs the command).

Read top to bottom: the numbers and the options each task allows (:func:`check_numbers`,
:func:`check_video_options`), the text of ``--text`` (:func:`read_text`), the sizes this machine can hold
(:func:`check_sizes`), what may happen to a folder that already holds a run (:func:`prepare_folder`), and the
run's settings, completed from the checkpoint when resuming (:func:`run_settings`). Every mistake is one
sentence: a :class:`UsageError`.
"""

from __future__ import annotations

import os

from ..cells import registry
from ..training.checkpoint import read_checkpoint
from ._errors import UsageError
from ._run_folder import memory_available

#: Settings that must not change between a run and its resumption (None on the command line: take the saved
#: one).
_RUN_KEYS = ("cell", "hidden", "T", "batch", "seed", "lr", "clip", "label", "attention", "data", "sampling")
#: The translate task's own options and their defaults (the other tasks ignore them).
_TRANSLATE_DEFAULTS = {"attention": "additive", "data": "dates", "sampling": 0.0}


def check_numbers(args):
    """Refuse a number out of its range (``--lr``, ``--clip``, ``--sampling``, the sizes and counts) and the
    translate options on another task."""
    if args.lr is not None and not 0 < args.lr < float("inf"):
        raise UsageError(f"--lr must be a positive number, got {args.lr}")
    if args.task != "translate" and any(getattr(args, k) is not None for k in _TRANSLATE_DEFAULTS):
        raise UsageError(
            f"--attention, --data and --sampling are for the translate task, got task {args.task!r}"
        )
    if args.sampling is not None and not 0 <= args.sampling <= 1:
        raise UsageError(f"--sampling must be a probability in [0, 1], got {args.sampling}")
    if args.clip is not None and not 0 <= args.clip < float("inf"):
        raise UsageError(f"--clip must be a number >= 0 (0 for no clipping), got {args.clip}")
    for name in ("steps", "hidden", "T", "batch", "eval_every", "checkpoint_every", "K"):
        value = getattr(args, name)
        if value is not None and value < (0 if name == "steps" else 1):
            raise UsageError(f"--{name.replace('_', '-')} must be a positive integer, got {value}")


def check_video_options(args):
    """Check ``--label`` and ``--K`` (video only; K for memory only) and turn ``--K`` into ``--T`` = K + 1."""
    if args.task != "video":
        for name in ("label", "K"):
            if getattr(args, name) is not None:
                raise UsageError(f"--{name} is for the video task, got task {args.task!r}")
        return
    if args.K is not None:
        if (args.label or "direction") != "memory":
            raise UsageError(f"--K is for --label memory, got --label {args.label or 'direction'}")
        if args.T is not None and args.T != args.K + 1:
            raise UsageError(
                f"--K {args.K} means --T {args.K + 1} (the flash and K noise frames), got --T {args.T}"
            )
        args.T = args.K + 1
    if args.T is not None and args.T < (4 if (args.label or "direction") == "direction" else 2):
        raise UsageError(f"--T must be at least 4 for --label direction and 2 otherwise, got {args.T}")
    if args.T is not None and args.label == "digit" and args.T > 5:
        raise UsageError(
            f"--T must be at most 5 for --label digit (the path must fit on the 12x12 canvas), got {args.T}"
        )


def read_text(path) -> str:
    """The text of ``--text FILE`` (UTF-8), or a one-sentence exit when it cannot be read or is too short."""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except (OSError, UnicodeDecodeError) as e:
        raise UsageError(f"--text: cannot read {path!r} as UTF-8 text: {e}") from None
    if len(text) < 1000:
        raise UsageError(
            f"--text: {path!r} has {len(text)} characters; a character model needs at least 1000"
        )
    return text


def check_sizes(task, st):
    """Refuse a sequence length the task cannot use, and sizes whose memory this machine does not have."""
    T = (
        st["T"]
        if st["T"] is not None
        else {"adding": 50, "copy": 20, "forecast": 24, "char": 64, "classify": 60}.get(task, 50)
    )
    if task in ("adding", "classify") and T < 2:
        raise UsageError(
            f"--T must be at least 2 for the {task} task (its sequences need two steps), got {T}"
        )
    if task == "forecast":
        from ..data import nino_sst

        n = len(nino_sst()[1])
        longest = n - int(round(n * 0.2)) - 1  # the training years must hold one window + target
        if T > longest:
            raise UsageError(
                f"--T must be at most {longest} for forecast (the training part of the {n}-month "
                f"series must hold a window and its next month), got {T}"
            )
    H = (
        st["hidden"]
        if st["hidden"] is not None
        else {"adding": 64, "copy": 64, "forecast": 32, "char": 128, "classify": 32}.get(task, 64)
    )
    B = st["batch"]
    gates, inputs = registry.get(st["cell"]).num_gates, 256
    n_params = gates * H * (inputs + H + 2) + H * inputs
    n_eval = 1000 if task in ("adding", "classify", "copy") else B
    need = 8 * (
        6 * n_params + 3 * (gates + 2) * H * T * (B + n_eval)
    )  # weights, Adam, grads; caches of a forward
    have = memory_available()
    if have is not None and need > have:
        raise UsageError(
            f"--hidden {H}, --batch {B} and --T {T} need about {need / 1e9:.3g} GB of memory "
            f"(weights, optimizer state, activations), and {have / 1e9:.3g} GB are available; "
            f"choose smaller sizes"
        )


def prepare_folder(args, path):
    """Refuse to replace a run without --force, to resume nothing, or to go back in steps; remove a forced
    run."""
    exists = os.path.exists(path)
    if args.resume and args.force:
        raise UsageError(
            "--resume and --force contradict each other: --resume continues the run in OUT, "
            "--force replaces it"
        )
    if args.resume and not exists:
        raise UsageError(
            f"--resume: there is no run to resume in {args.out!r} (no checkpoint.npz); leave out "
            f"--resume to start one"
        )
    if exists and not args.resume and not args.force:
        raise UsageError(
            f"--out {args.out!r} already holds a run ({path}); continue it with --resume or replace "
            f"it with --force"
        )
    if exists and args.force:
        for name in ("checkpoint.npz", "loss.png"):
            if os.path.exists(os.path.join(args.out, name)):
                os.remove(os.path.join(args.out, name))


def run_settings(args) -> dict:
    """The run's settings: the command line, completed from the checkpoint when resuming, then the
    defaults."""
    given = {k: getattr(args, k) for k in _RUN_KEYS}
    path = os.path.join(args.out, "checkpoint.npz")
    if args.resume:
        try:
            saved = read_checkpoint(path)["meta"]
        except ValueError as e:
            raise UsageError(f"--resume: {e}; start a new run with --force") from None
        if not isinstance(saved.get("settings"), dict) or set(_RUN_KEYS) - set(saved["settings"]):
            raise UsageError(
                f"--resume: {path} was not written by `minirnn train` (no settings); start a new run "
                f"with --force"
            )
        if saved.get("task") != args.task:
            raise UsageError(f"--resume: {path} holds a {saved.get('task')!r} run, not {args.task!r}")
        for k in _RUN_KEYS:
            if given[k] is not None and given[k] != saved["settings"].get(k):
                raise UsageError(
                    f"--resume: the run in {path} used --{k} {saved['settings'].get(k)}, got --{k} "
                    f"{given[k]}; leave it out or start a new --out"
                )
            given[k] = saved["settings"].get(k)
    defaults = {
        "cell": "lstm",
        "batch": 32,
        "seed": 0,
        "lr": 3e-3 if args.task == "video" else 1e-3,
        "clip": 1.0,
        "label": "direction" if args.task == "video" else None,
    }
    if args.task == "translate":
        defaults.update(_TRANSLATE_DEFAULTS, cell="gru", batch=64, lr=3e-3)
    return {k: (defaults.get(k) if v is None else v) for k, v in given.items()}
