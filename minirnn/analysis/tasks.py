"""Train a cell on a long-memory task, the explicit loop the vanishing-gradient experiments share: a recurrent
layer and a Linear head, fresh data every step, through ``minirnn.training.fit``.

Example:
    >>> layer, head, history = train_task("adding", "gru", T=10, hidden=8, steps=5, seed=0)
    >>> history["loss"].shape, bool(history["test"] > 0)
    ((5,), True)
"""

from __future__ import annotations

import numpy as np

from ..nn.validation import NonFiniteInputError
from .gradients import make_layer, title


def train_task(
    task="adding",
    cell="lstm",
    T=50,
    hidden=32,
    steps=300,
    batch=32,
    lr=1e-2,
    clip=1.0,
    seed=0,
    optimizer="adam",
    input_scale=1.0,
    layer=None,
    progress=False,
    eval_every=0,
    on_step=None,
):
    """Train ``cell`` + a Linear head on a long-memory task, with fresh data every step: the explicit loop.

    - ``task="adding"``: the head Linear(H, 1) reads the last hidden state; loss MSE against the sum of the
      two marked numbers (``tasks.adding_problem``; predicting 1 always scores 1/6).
    - ``task="copy"``: one-hot inputs (10 classes), the head Linear(H, 9) at every step; loss the mean
      cross-entropy over all T + 20 steps (``tasks.copy_memory``; the memoryless baseline scores 10 ln 8 / (T
      + 20)).

    Each step, in ``minirnn.training.fit``: forward, backward, global norm clipping to ``clip`` (``None``: no
    clipping, the norm is still recorded), then one Adam (``optimizer="adam"``) or plain SGD step. Training
    stops at the first step whose loss or gradient is not finite (the rest of the history is NaN).

    (Long because it is the whole loop in one place, read top to bottom: data, loss, step, evaluation.)

    ``on_step(step, layer, x, dout)``, if given, is called at every step after the forward and before the
    backward and the update: the weights are those the step's gradient is taken at.

    With ``eval_every`` > 0, the loss on 200 held-out sequences (the same ones throughout) is measured before
    steps 0, ``eval_every``, 2 ``eval_every``, ... and once after the last step.

    Returns:
        ``layer, head, history``: history has per-step arrays ``loss`` and ``grad_norm`` (global, before
        clipping), and ``test`` (a float: MSE or cross-entropy on 1000 fresh sequences, NaN if training
        diverged); with ``eval_every``, ``eval_step`` and ``eval_loss`` (NaN after a divergence).
    """
    from ..data import adding_problem, copy_memory
    from ..nn import optim
    from ..nn.linear import Linear
    from ..nn.losses import mse, softmax_cross_entropy
    from ..nn.module import Module
    from ..training.loop import NonFiniteError, fit

    if task not in ("adding", "copy"):
        raise ValueError(f"task must be 'adding' or 'copy', got {task!r}")
    n_in, n_out = (2, 1) if task == "adding" else (10, 9)
    if layer is None:
        layer = make_layer(cell, n_in, hidden, seed=seed)
    head = Linear(layer.hidden_size, n_out, seed=10_000 + seed)
    model = Module()
    model._modules.update({"rnn": layer, "head": head})
    opt = optim.Adam(model, lr=lr) if optimizer == "adam" else optim.SGD(model, lr=lr)

    def data(n, rng):
        x, y = adding_problem(n, T, rng=rng) if task == "adding" else copy_memory(n, T, rng=rng, one_hot=True)
        return x * input_scale, y

    def loss_and_dout(x, y):
        out = layer(x)[0]  # (T', B, H)
        if task == "adding":
            loss, dpred = mse(head(out[-1]), y)
            dout = np.zeros_like(out)
            dout[-1] = head.backward(dpred)
        else:
            loss, dlogits = softmax_cross_entropy(head(out), y)
            dout = head.backward(dlogits)
        return loss, dout

    losses, norms = [], []  # per step, recorded even if training diverges
    eval_steps = np.arange(0, steps, eval_every).tolist() + [steps] if eval_every > 0 else []
    heldout, eval_loss = data(200, np.random.default_rng(50_000 + seed)), []

    def evaluate():
        try:
            with np.errstate(all="ignore"):
                eval_loss.append(float(loss_and_dout(*heldout)[0]))
        except (NonFiniteInputError, FloatingPointError):
            eval_loss.append(float("nan"))

    def train_step(model, rng, step, carry):
        if eval_every > 0 and step % eval_every == 0:
            evaluate()
        x, y = data(batch, rng)
        loss, dout = loss_and_dout(x, y)
        if on_step is not None:
            on_step(step, layer, x, dout)
        layer.backward(dout)
        losses.append(loss)
        norms.append(optim.grad_norm(model))  # global, before clipping
        return loss, float("nan"), None

    try:
        fit(model, opt, train_step, steps, rng=np.random.default_rng(20_000 + seed), clip_norm=clip or None,
            progress=progress, desc=f"{title(cell)} {task} T={T}")
        diverged = False
    except NonFiniteError:  # a non-finite loss or gradient: stop there
        diverged = True
    pad = lambda a: np.concatenate([a, np.full(steps - len(a), np.nan)])  # noqa: E731
    losses, norms = pad(np.array(losses[:steps], dtype=float)), pad(np.array(norms[:steps], dtype=float))
    if eval_every > 0 and not diverged:
        evaluate()  # after the last step
    test = np.nan
    if not diverged:
        try:
            test = loss_and_dout(*data(1000, np.random.default_rng(30_000 + seed)))[0]
        except NonFiniteInputError:  # the trained model outputs NaN/Inf
            pass
    history = {"loss": losses, "grad_norm": norms, "test": test}
    if eval_every > 0:
        history["eval_step"] = np.array(eval_steps)
        history["eval_loss"] = np.array(eval_loss + [np.nan] * (len(eval_steps) - len(eval_loss)))
    return layer, head, history
