"""The ``video`` task of ``minirnn train``: classify moving-digit videos (``data.moving_digits``) with an
LRCN model (``models.VideoClassifier``: a frame encoder shared across time, a recurrent layer, a Linear on its
last state).

    exp = video(cell="gru", label="direction", seed=0)
    fit(exp.model, Adam(exp.model, lr=3e-3), exp.train_step, 2000, rng=exp.rng, evaluate=exp.evaluate)
    exp.evaluate(exp.model)          # {'accuracy': 1.0, 'shuffled_accuracy': 0.25}

=========  =================================  =====  ======  ==========================================
label      what decides the class             C      T, px   what the controls should show
=========  =================================  =====  ======  ==========================================
direction  which way two digits move          4      10, 20  mean frame, shuffled, one frame: 25% chance
digit      which digit moves                  10     5, 12   one frame does as well as the whole video
memory     the digit flashed in frame 0       10     K+1,12  one frame after the flash: 10% chance
=========  =================================  =====  ======  ==========================================

Training videos are fresh at every step and drawn from the training glyphs; the ``n_test`` held-out videos are
drawn once from the held-out glyphs (handwriting never seen in training). ``evaluate`` also scores the model
on the same videos with their frames shuffled (one fixed permutation per video). The baseline is the
mean-frame control.

Controls: :func:`mean_frame_accuracy` (softmax regression on the average frame: sees every frame, not their
order), :func:`single_frame_accuracy` (the same encoder and a Linear on the middle frame alone).
"""

from __future__ import annotations

import numpy as np

from .. import data
from ..models.video import FrameClassifier, VideoClassifier
from ..nn.linear import Linear
from ..nn.losses import softmax_cross_entropy
from ..nn.optim import Adam, clip_grad_norm

__all__ = ["video", "VIDEO_DEFAULTS", "mean_frame_accuracy", "single_frame_accuracy", "shuffle_frames"]

#: Per label: frames T and canvas side (memory: T = K + 1 with K = 10 noise frames).
VIDEO_DEFAULTS = {
    "direction": {"T": 10, "size": 20},
    "digit": {"T": 5, "size": 12},
    "memory": {"T": 11, "size": 12},
}


def _seeds(seed, n=3):
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(n)]


def _check_label(label):
    if label not in VIDEO_DEFAULTS:
        raise ValueError(f"label must be one of {tuple(VIDEO_DEFAULTS)}, got {label!r}")


def shuffle_frames(frames, seed=0):
    """The same videos with the order of their frames shuffled, one random permutation per video.

    frames (T, B, ...) -> (T, B, ...).

    Example:
        >>> x = np.arange(6.0).reshape(3, 2)           # T=3 frames of 2 videos, one number per frame
        >>> shuffle_frames(x, seed=0)[:, 0].tolist(), sorted(shuffle_frames(x, seed=0)[:, 1].tolist())
        ([2.0, 0.0, 4.0], [1.0, 3.0, 5.0])
    """
    frames = np.asarray(frames)
    order = np.argsort(np.random.default_rng(seed).random(frames.shape[:2]), axis=0)  # (T, B)
    return frames[order, np.arange(frames.shape[1])]


def _fit_classifier(model, batches, steps, lr, seed):
    """Adam on ``model`` with batches ``batches(rng) -> (x, y)``, gradient norm clipped to 1."""
    opt, rng = Adam(model, lr=lr), np.random.default_rng(seed)
    for _ in range(steps):
        x, y = batches(rng)
        loss, d = softmax_cross_entropy(model(x), y)
        model.backward(d)
        clip_grad_norm(model.grads, 1.0)
        opt.step()
    return model


def mean_frame_accuracy(label="direction", T=None, size=None, seed=0, n_train=2000, n_test=1000, steps=1000):
    """Held-out accuracy of softmax regression on the mean frame, (1/T) sum_t x_t: it sees all frames, no
    order.

    Trained with Adam (lr 1e-2, batches of 64) on ``n_train`` fixed training videos; scored on ``n_test``
    videos of held-out glyphs. ``T``/``size`` None: the label's defaults (``VIDEO_DEFAULTS``).

    Example:
        >>> round(mean_frame_accuracy("direction", T=4, size=12, n_train=200, n_test=200, steps=50), 2) < 0.4
        True
    """
    _check_label(label)
    T = T or VIDEO_DEFAULTS[label]["T"]
    size = size or VIDEO_DEFAULTS[label]["size"]
    s_train, s_test, s_fit, s_model = _seeds(seed, 4)
    x, y = data.moving_digits(n_train, T, label=label, size=size, seed=s_train)
    xt, yt = data.moving_digits(n_test, T, label=label, split="test", size=size, seed=s_test)
    feats, feats_test = x.mean(0).reshape(n_train, -1), xt.mean(0).reshape(n_test, -1)  # (N, size*size)
    model = Linear(size * size, data.LABELS[label], seed=s_model)

    def batches(rng):
        idx = rng.integers(0, n_train, size=64)
        return feats[idx], y[idx]

    _fit_classifier(model, batches, steps, 1e-2, s_fit)
    return float(np.mean(model(feats_test).argmax(-1) == yt))


def single_frame_accuracy(
    label="direction", T=None, size=None, seed=0, steps=1500, batch=32, n_test=1000, encoder_size=64, lr=3e-3
):
    """Held-out accuracy of the single-frame control: ``FrameClassifier`` on the middle frame x_{T//2} only.

    Trained like the video model (fresh training videos each step, Adam with ``lr``, ``steps`` steps).

    Example:
        >>> single_frame_accuracy("direction", T=4, size=12, steps=20, n_test=100, encoder_size=8) < 0.5
        True
    """
    _check_label(label)
    T = T or VIDEO_DEFAULTS[label]["T"]
    size = size or VIDEO_DEFAULTS[label]["size"]
    s_test, s_fit, s_model = _seeds(seed)
    model = FrameClassifier((size, size), data.LABELS[label], encoder_size=encoder_size, seed=s_model)

    def batches(rng):
        x, y = data.moving_digits(batch, T, label=label, size=size, rng=rng)
        return x[T // 2], y

    _fit_classifier(model, batches, steps, lr, s_fit)
    xt, yt = data.moving_digits(n_test, T, label=label, split="test", size=size, seed=s_test)
    return float(np.mean(model(xt[T // 2]).argmax(-1) == yt))


def video(
    cell="lstm",
    T=None,
    hidden=64,
    batch=32,
    seed=0,
    label="direction",
    size=None,
    n_test=1000,
    encoder_size=64,
    backend="auto",
    baseline=True,
):
    """Moving-digit video classification: ``label`` "direction" | "digit" | "memory" (see the module
    docstring).

    ``T`` frames (memory: 1 flash + K = T - 1 noise frames) on a ``size`` x ``size`` canvas, None: the
    defaults. ``accuracy`` on n_test held-out videos; ``shuffled_accuracy`` on the same with shuffled frames;
    baseline: the mean-frame control (``baseline=False``: chance, 1/C, without training it).

    Example:
        >>> from minirnn.training.recipes import Experiment
        >>> exp = video("gru", T=4, hidden=8, size=12, n_test=20, encoder_size=8, baseline=False)
        >>> exp.metric, exp.baseline, sorted(exp.evaluate(exp.model))
        ('accuracy', ('chance', 0.25), ['accuracy', 'shuffled_accuracy'])

    It is long because the recipe builds the data, the model, the controls and the evaluation of one
    task together, as every recipe in ``recipes.py`` does.
    """
    from .recipes import Experiment, build_model  # recipes registers this task: import late

    _check_label(label)
    T = T or VIDEO_DEFAULTS[label]["T"]
    size = size or VIDEO_DEFAULTS[label]["size"]
    s_model, s_rng, s_test = _seeds(seed)
    C = data.LABELS[label]
    config = {
        "class": "VideoClassifier",
        "cell": cell,
        "frame_shape": [size, size],
        "hidden_size": hidden,
        "num_classes": C,
        "encoder_size": encoder_size,
        "seed": s_model,
    }
    model = build_model(config, backend=backend)
    x_test, y_test = data.moving_digits(n_test, T, label=label, split="test", size=size, seed=s_test)
    x_shuffled = shuffle_frames(x_test, seed=s_test)

    def train_step(model, rng, step, carry):
        x, y = data.moving_digits(batch, T, label=label, size=size, rng=rng)
        logits = model(x)
        loss, d = softmax_cross_entropy(logits, y)
        model.backward(d)
        return loss, float(np.mean(logits.argmax(-1) == y)), None

    def evaluate(model):
        return {
            "accuracy": float(np.mean(model(x_test).argmax(-1) == y_test)),
            "shuffled_accuracy": float(np.mean(model(x_shuffled).argmax(-1) == y_test)),
        }

    base = (
        ("mean-frame logistic regression", mean_frame_accuracy(label, T, size, seed=seed))
        if baseline
        else ("chance", 1.0 / C)
    )
    return Experiment(
        "video",
        model,
        config,
        train_step,
        evaluate,
        "accuracy",
        base,
        np.random.default_rng(s_rng),
        lower_is_better=False,
        info={"T": T, "batch": batch, "label": label, "size": size},
    )
