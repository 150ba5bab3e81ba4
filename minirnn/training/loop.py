"""The training loop: one ``fit`` function, truncated-BPTT chunking, the history and its plot.

    history = fit(model, optimizer, train_step, steps=5000, rng=rng, evaluate=evaluate, eval_every=500,
                  clip_norm=1.0, checkpoint_path="out/checkpoint.npz", checkpoint_every=500)

Each step: ``train_step`` draws a batch from ``rng``, runs forward and backward (filling ``model.grads``);
then ``fit`` checks the loss and every gradient are finite, clips the gradient norm, lets the optimizer
update, records loss / gradient norm / metric, evaluates every ``eval_every`` steps and writes a checkpoint
every ``checkpoint_every`` steps and at the end. ``resume=True`` reloads the checkpoint (parameters, optimizer
state, RNG,
carried hidden state, history) and continues the same run: the numbers are bit-identical to an uninterrupted
    run.

Truncated BPTT: a long stream is cut into chunks of ``bptt`` steps (:func:`stream_chunk`). The hidden state
at the end of one chunk is the initial state of the next (``carry``), but backward stops at the chunk
boundary: the next
chunk's ``backward`` is called without a gradient for its initial state, so nothing flows into the previous
chunk. Here the
cut is literal: the carried state is a plain array and the previous chunk's cache is gone.

What this file does not hold: the tasks' data and models (``minirnn/experiments.py``), saving and loading
(``minirnn/checkpoint.py``).
"""

from __future__ import annotations

import contextlib
import math
import os
import signal
import sys
import threading

import numpy as np

from ..kernels.threads import blas_threads_for
from ..nn.optim import clip_grad_norm, grad_norm
from ..nn.validation import NonFiniteInputError
from .checkpoint import load_checkpoint, read_checkpoint, save_checkpoint

__all__ = [
    "fit",
    "NonFiniteError",
    "TrainingInterrupted",
    "new_history",
    "plot_history",
    "stream_chunk",
    "num_chunks",
]


class NonFiniteError(FloatingPointError):
    """Training met a NaN or Inf in the loss or a gradient; the message says at which step and where."""


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped :func:`fit` between two steps. ``step``: the last step completed; ``checkpoint``: the
    file it
    was saved to (None without ``checkpoint_path``). The message says both."""

    def __init__(self, message, step, checkpoint):
        super().__init__(message)
        self.step, self.checkpoint = step, checkpoint


@contextlib.contextmanager
def _deferred_interrupt():
    """While inside, Ctrl-C (SIGINT) only sets ``flag["pending"]``, which the loop reads between two steps: a
    step is never left half done (the optimizer updates parameters one by one). A second Ctrl-C interrupts at
    once.

    Only in the main thread and when SIGINT has Python's default handler; otherwise nothing changes.
    """
    flag = {"pending": False}
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield flag
        return

    def handler(signum, frame):
        if flag["pending"]:
            raise KeyboardInterrupt
        flag["pending"] = True

    previous = signal.signal(signal.SIGINT, handler)
    try:
        yield flag
    finally:
        signal.signal(signal.SIGINT, previous)


def new_history() -> dict:
    """An empty history: per step ``step``, ``loss``, ``grad_norm``, ``metric``; per evaluation ``eval_step``
    and
    ``eval`` (name -> list of values)."""
    return {"step": [], "loss": [], "grad_norm": [], "metric": [], "eval_step": [], "eval": {}}


def num_chunks(length: int, bptt: int) -> int:
    """How many chunks of ``bptt`` inputs (each with its next-step targets) a stream of ``length`` steps
    holds."""
    return max(1, (length - 1) // bptt)


def stream_chunk(data, step: int, bptt: int):
    """The chunk of a batchified stream used at training ``step`` under truncated BPTT.

    ``data`` (L, B) holds B parallel streams (``tasks.batchify``). Chunk k = step mod K, K = (L - 1) // bptt,
    covers
    inputs data[k*bptt : (k+1)*bptt] and targets one step later. ``first`` is True at k = 0, where the
    carried hidden state must be reset (the streams start over).

    Returns:
        x (bptt, B), y (bptt, B), first (bool).

    Example:
        >>> data = np.arange(20).reshape(10, 2)
        >>> x, y, first = stream_chunk(data, 1, 4)
        >>> x[:, 0].tolist(), y[:, 0].tolist(), first
        ([8, 10, 12, 14], [10, 12, 14, 16], False)
    """
    L = data.shape[0]
    if L < 2:
        raise ValueError(f"data must have at least 2 steps, got shape {data.shape}")
    bptt = min(int(bptt), L - 1)
    k = step % num_chunks(L, bptt)
    s = k * bptt
    return data[s : s + bptt], data[s + 1 : s + bptt + 1], k == 0


def _first_nonfinite(grads: dict):
    for name, g in grads.items():
        if not np.all(np.isfinite(g)):
            return name
    return None


def _pack_carry(carry) -> dict:
    if carry is None:
        return {}
    parts = carry if isinstance(carry, tuple) else (carry,)
    out = {f"carry/{i}": np.asarray(a) for i, a in enumerate(parts)}
    out["carry/is_tuple"] = np.array(isinstance(carry, tuple))
    return out


def _unpack_carry(arrays: dict):
    parts = [arrays[f"carry/{i}"] for i in range(len([k for k in arrays if k.startswith("carry/")]) - 1)]
    if not parts:
        return None
    return tuple(parts) if bool(arrays["carry/is_tuple"]) else parts[0]


def _pack_history(h: dict) -> dict:
    out = {
        f"history/{k}": np.asarray(h[k], dtype=np.float64)
        for k in ("step", "loss", "grad_norm", "metric", "eval_step")
    }
    out.update({f"history/eval/{k}": np.asarray(v, dtype=np.float64) for k, v in h["eval"].items()})
    return out


def _unpack_history(arrays: dict) -> dict:
    h = new_history()
    for k in ("step", "loss", "grad_norm", "metric", "eval_step"):
        values = arrays.get(f"history/{k}", np.zeros(0)).tolist()
        h[k] = [int(v) for v in values] if k.endswith("step") else values
    for key, v in arrays.items():
        if key.startswith("history/eval/"):
            h["eval"][key[len("history/eval/") :]] = v.tolist()
    return h


def fit(
    model,
    optimizer,
    train_step,
    steps,
    *,
    rng,
    evaluate=None,
    eval_every=0,
    clip_norm=None,
    checkpoint_path=None,
    checkpoint_every=0,
    resume=False,
    progress=True,
    meta=None,
    desc="train",
):
    """Train ``model`` until ``steps`` updates in total have been made; returns the history.

    Args:
        model: a Module. optimizer: an optimizer of ``minirnn.optim`` on that model.
        train_step: ``train_step(model, rng, step, carry) -> (loss, metric, carry)``. Draws the batch of
            ``step`` (0-based) with ``rng``, runs forward and backward (filling ``model.grads``), returns the
            loss (float), a metric of the batch (float, ``nan`` if none) and the state to carry into the next
            step (None for none).
        steps: the total number of updates of the run (a resumed run continues up to it).
        rng: the ``numpy.random.Generator`` of the batches; saved and restored with the checkpoint.
        evaluate: ``evaluate(model) -> {name: value}`` on held-out data (called in eval mode), or None.
        eval_every: evaluate every this many steps (0: only at the end, if ``evaluate`` is given).
        clip_norm: clip the global gradient norm to this (``optim.clip_grad_norm``), or None.
        checkpoint_path: ``.npz`` to write every ``checkpoint_every`` steps and at the end, or None.
        resume: if True, first load ``checkpoint_path`` (if it exists) and continue from its step (which must
        not exceed ``steps``). progress: show a tqdm bar with the running loss on stderr. meta: JSON-able dict
        saved in checkpoints.

    Returns:
        history: ``{"step", "loss", "grad_norm", "metric": lists per step, "eval_step": list, "eval": {name:
        list}}`` (the whole run's, including what came before a resume).

    Raises:
        NonFiniteError: at the first step whose loss or gradient is not finite, naming the step and the
        parameter; the parameters are not updated and the last good checkpoint is left as it was.
        TrainingInterrupted (a KeyboardInterrupt): Ctrl-C; the step under way is finished, the run is saved to
        ``checkpoint_path`` (if given) and ``resume=True`` continues it bit-identically. A second Ctrl-C
        stops at once.
        ValueError: ``resume=True`` and ``steps`` is fewer than the steps the checkpoint has done.

    ``fit`` is longer than 60 lines because its step (``_one_step``), saving and evaluation are closures over
    the run's state (history, carry, the bar), read top to bottom in the order they happen.

    Example:
        >>> from minirnn.nn import Linear
        >>> from minirnn.nn.optim import SGD
        >>> from minirnn.nn.losses import mse
        >>> lin = Linear(1, 1, seed=0); opt = SGD(lin, lr=0.1)
        >>> def step_fn(model, rng, step, carry):
        ...     x = rng.normal(size=(16, 1)); loss, d = mse(model(x), 3 * x); model.backward(d)
        ...     return loss, float("nan"), None
        >>> h = fit(lin, opt, step_fn, 200, rng=np.random.default_rng(0), progress=False)
        >>> round(float(lin.weight[0, 0]), 3), len(h["loss"])
        (3.0, 200)
    """
    if isinstance(steps, bool) or not isinstance(steps, (int, np.integer)) or steps < 0:
        raise ValueError(f"steps must be an integer >= 0, got {steps!r}")
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator, got {type(rng).__name__}")
    if not callable(train_step):
        raise TypeError(
            f"train_step must be a function (model, rng, step, carry) -> (loss, metric, carry), "
            f"got {type(train_step).__name__}"
        )
    for name, value in (("eval_every", eval_every), ("checkpoint_every", checkpoint_every)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < 0:
            raise ValueError(f"{name} must be an integer >= 0, got {value!r}")
    if clip_norm is not None and not (isinstance(clip_norm, (int, float)) and 0 < clip_norm < math.inf):
        raise ValueError(f"clip_norm must be a number > 0 or None, got {clip_norm!r}")
    if (resume or checkpoint_every) and checkpoint_path is None:
        raise ValueError("checkpoint_path must be given with resume=True or checkpoint_every > 0, got None")

    history, start, carry = new_history(), 0, None
    if resume and os.path.exists(checkpoint_path):
        done = read_checkpoint(checkpoint_path)["meta"].get("step", 0)
        if done > steps:
            raise ValueError(
                f"steps={steps} is fewer than the {done} steps the run in {checkpoint_path!r} has "
                f"done; give steps >= {done} (nothing was changed)"
            )
        ck = load_checkpoint(checkpoint_path, model, optimizer, rng=rng)
        start = int(ck["meta"].get("step", 0))
        carry = _unpack_carry(ck["arrays"])
        history = _unpack_history(ck["arrays"])
    last_good = start if resume and os.path.exists(checkpoint_path or "") else None

    def save(step_done):
        info = dict(meta or {}, step=step_done)
        arrays = {**_pack_carry(carry), **_pack_history(history)}
        save_checkpoint(checkpoint_path, model, optimizer, rng=rng, arrays=arrays, meta=info)

    def run_eval(step_done):
        model.eval()
        try:
            result = evaluate(model)
        finally:
            model.train()
        history["eval_step"].append(step_done)
        for k, v in result.items():
            history["eval"].setdefault(k, []).append(float(v))
        return result

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(
            total=steps, initial=start, desc=desc, file=sys.stderr, dynamic_ncols=True, mininterval=0.5
        )
    state = {"running": None, "last_good": last_good}

    def _one_step(step):
        """One update (see the module docstring); returns the running loss."""
        nonlocal carry
        last = state["last_good"]
        kept = (
            f"; the last good checkpoint {checkpoint_path!r} (step {last}) was kept"
            if last is not None
            else "; no checkpoint was written"
        )
        try:
            result = train_step(model, rng, step, carry)
        except NonFiniteInputError as e:  # a loss or layer refused a NaN/Inf the model produced
            raise NonFiniteError(
                f"training stopped at step {step + 1}: {e}{kept}. Try a smaller learning rate or clip_norm."
            ) from e
        if not (isinstance(result, (tuple, list)) and len(result) == 3):
            raise TypeError(f"train_step must return (loss, metric, carry), got {result!r:.80}")
        loss, metric, new_carry = result
        loss = float(loss)
        grads = model.grads
        total = clip_grad_norm(grads, clip_norm) if clip_norm else grad_norm(grads)
        if not (math.isfinite(loss) and math.isfinite(total)):
            where = _first_nonfinite(grads)
            what = (
                f"the gradient of {where!r} is not finite"
                if where
                else (f"the loss is {loss}" if not math.isfinite(loss) else f"the gradient norm is {total}")
            )
            raise NonFiniteError(
                f"training stopped at step {step + 1}: {what} (loss {loss}){kept}. "
                f"Try a smaller learning rate or clip_norm."
            )
        optimizer.step()
        carry = new_carry
        done = step + 1
        history["step"].append(done)
        history["loss"].append(loss)
        history["grad_norm"].append(total)
        history["metric"].append(float(metric))
        running = state["running"]
        running = state["running"] = loss if running is None else 0.98 * running + 0.02 * loss
        if bar is not None:
            bar.update(1)
            if done % 10 == 0 or done == steps:
                bar.set_postfix(loss=f"{running:.4f}", refresh=False)
        if evaluate is not None and eval_every and done % eval_every == 0 and done != steps:
            run_eval(done)
        if checkpoint_path and checkpoint_every and done % checkpoint_every == 0 and done != steps:
            save(done)
            state["last_good"] = done
        return running

    def _interrupted(done):
        """Save the run after step ``done`` (if there is a checkpoint path) and say so."""
        if bar is not None:
            bar.close()
        if checkpoint_path:
            save(done)
            return TrainingInterrupted(
                f"interrupted after step {done} of {steps}; the run is saved in "
                f"{checkpoint_path!r} and continues with resume=True",
                done,
                checkpoint_path,
            )
        return TrainingInterrupted(
            f"interrupted after step {done} of {steps} (no checkpoint_path: not saved)", done, None
        )

    model.train()
    # One BLAS thread by default for the whole run, so the layers' small products switch nothing
    # (kernels/threads.py)
    with _deferred_interrupt() as interrupt, blas_threads_for(0):
        try:
            for step in range(start, steps):
                _one_step(step)
                if interrupt["pending"] and step + 1 != steps:
                    raise _interrupted(step + 1)
        finally:
            if bar is not None:
                bar.close()
        if evaluate is not None and (not history["eval_step"] or history["eval_step"][-1] != steps):
            run_eval(steps)
        if checkpoint_path:
            save(steps)
    return history


def plot_history(history, path=None, title=None, baseline=None):
    """Loss per step (light) and its moving average, the gradient norm, and the held-out evaluations.

    Args:
        history: from :func:`fit`. path: save a PNG there too, or None. title: figure title.
        baseline: ``(label, value)`` drawn as a dashed line on the evaluation panel, or None.

    Returns:
        the matplotlib Figure (two panels: losses on a log scale, gradient norm).

    Example:
        >>> h = new_history(); h["step"] = [1, 2, 3]; h["loss"] = [1.0, 0.5, 0.25]; h["grad_norm"] = [1, 1, 1]
        >>> plot_history(h).axes[0].get_ylabel()
        'loss'
    """
    import matplotlib

    if path is not None and matplotlib.get_backend().lower() not in (
        "agg",
        "module://matplotlib_inline.backend_inline",
    ):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    steps = np.asarray(history["step"])
    loss = np.asarray(history["loss"], dtype=float)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(7, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    if loss.size:
        ax1.plot(steps, loss, color="tab:blue", alpha=0.25, lw=0.8, label="training loss (batch)")
        w = max(1, min(100, loss.size // 20))
        smooth = np.convolve(loss, np.ones(w) / w, mode="valid")
        ax1.plot(steps[w - 1 :], smooth, color="tab:blue", lw=1.8, label=f"training loss ({w}-step mean)")
    colors = iter(["tab:red", "tab:green", "tab:purple", "tab:orange"])
    for name, values in history["eval"].items():
        ax1.plot(history["eval_step"], values, "o-", color=next(colors, "k"), ms=4, label=f"held-out {name}")
    if baseline is not None:
        ax1.axhline(
            baseline[1], color="gray", ls="--", lw=1.2, label=f"baseline: {baseline[0]} = {baseline[1]:.4g}"
        )
    if loss.size and np.all(loss > 0):
        ax1.set_yscale("log")
    ax1.set_ylabel("loss")
    ax1.legend(fontsize=8)
    ax1.grid(alpha=0.3)
    if title:
        ax1.set_title(title)
    ax2.plot(steps, history["grad_norm"], color="tab:gray", lw=0.8)
    if len(history["grad_norm"]) and np.all(np.asarray(history["grad_norm"]) > 0):
        ax2.set_yscale("log")
    ax2.set_ylabel("gradient norm")
    ax2.set_xlabel("step")
    ax2.grid(alpha=0.3)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
    return fig
