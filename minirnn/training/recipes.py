"""The six training tasks of ``minirnn train``: for each, the data, the model, one training step, the held-out
evaluation and the baseline it must beat. One function per task, each returning an :class:`Experiment`.

    exp = experiments.adding(cell="lstm", T=50, hidden=64, seed=0)
    history = train.fit(exp.model, Adam(exp.model, lr=1e-3), exp.train_step, 5000, rng=exp.rng,
    evaluate=exp.evaluate) exp.evaluate(exp.model)        # {'test_mse': 0.0021}  vs  exp.baseline = ('predict
    1', 0.166)

=========  ==========================  ====================================  =============================
task       model                       metric (held out)                     baseline
=========  ==========================  ====================================  =============================
adding     Forecaster (last step)      test_mse                              always predict 1 (1/6)
copy       CharLM over symbol ids      test_loss, nats per step              blanks, then uniform guesses
forecast   Forecaster on Nino 3.4 SST  test_mse in degrees C squared         repeat the last value
char       CharLM, truncated BPTT      test_loss, nats per character         bigram counts (add-one)
classify   SequenceClassifier          accuracy                              the majority class
translate  Seq2Seq                     exact_match (greedy decoding)         the most frequent answer
video      VideoClassifier (LRCN)      accuracy (and on shuffled frames)     mean-frame logistic regression
=========  ==========================  ====================================  =============================

Training batches come from ``exp.rng`` (fresh samples for the generated tasks, random windows or stream chunks
for the fixed data); held-out sets are drawn once, from a different seed, and never change during a run.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import numpy as np

from .. import data as tasks
from ..models.char_lm import CharLM
from ..models.forecaster import Forecaster
from ..models.seq2seq import Seq2Seq
from ..nn.losses import mse, softmax_cross_entropy
from .loop import num_chunks, stream_chunk

__all__ = [
    "Experiment",
    "TASKS",
    "METRICS",
    "adding",
    "copy",
    "forecast",
    "char",
    "classify",
    "build_model",
    "bigram_loss",
    "make",
]

#: The metric printed for each task (the last line of ``minirnn train``).
METRICS = {
    "adding": "test_mse",
    "copy": "test_loss",
    "forecast": "test_mse",
    "char": "test_loss",
    "classify": "accuracy",
    "video": "accuracy",
    "translate": "exact_match",
}
TASKS = tuple(METRICS)


@dataclass
class Experiment:
    """Everything ``train.fit`` and the command line need for one task.

    ``train_step(model, rng, step, carry) -> (loss, metric, carry)``; ``evaluate(model) -> {metric: value}``;
    ``baseline = (description, value)`` of the same metric; ``model_config`` rebuilds the model
    (:func:`build_model`); ``lower_is_better`` tells how to compare with the baseline.
    """

    task: str
    model: object
    model_config: dict
    train_step: Callable
    evaluate: Callable
    metric: str
    baseline: tuple
    rng: np.random.Generator
    lower_is_better: bool = True
    info: dict = field(default_factory=dict)


def build_model(config: dict, backend="auto"):
    """The model described by ``config = {"class": name, **kwargs}`` (as saved in a checkpoint's meta).

    Example:
        >>> build_model({"class": "Forecaster", "cell": "gru", "input_size": 2, "hidden_size": 8,
        ...              "output_size": 1})
        Forecaster('gru', 2, 8, output_size=1, horizon=1)
    """
    classes = {
        "CharLM": CharLM,
        "Forecaster": Forecaster,
        "Seq2Seq": Seq2Seq,
        "SequenceClassifier": None,
        "VideoClassifier": None,
    }
    kwargs = dict(config)
    name = kwargs.pop("class", None)
    if name not in classes:
        raise ValueError(f"config['class'] must be one of {sorted(classes)}, got {name!r}")
    if name == "SequenceClassifier":
        from ..models.classifier import SequenceClassifier  # imported only when needed

        return SequenceClassifier(**kwargs, backend=backend)
    if name == "VideoClassifier":
        from ..models.video import VideoClassifier  # the video task (recipes_video.py)

        return VideoClassifier(**kwargs, backend=backend)
    return classes[name](**kwargs, backend=backend)


def _seeds(seed):
    """(model seed, batch-stream seed, held-out-data seed) from one seed."""
    return [int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3)]


def _model(config, seed, backend):
    return build_model(dict(config, seed=seed), backend=backend), dict(config, seed=seed)


# -- adding
# ------------------------------------------------------------------------------------------------------------
def adding(cell="lstm", T=50, hidden=64, batch=32, seed=0, n_test=1000, backend="auto") -> Experiment:
    """The adding problem: read T steps of (value, marker), output the sum of the two marked values.

    Fresh training sequences every step; ``test_mse`` on n_test fixed sequences; baseline: always predicting
    1, whose MSE on the same test set is about 1/6.

    Example:
        >>> exp = adding("gru", T=10, hidden=8, seed=0, n_test=50)
        >>> exp.metric, round(exp.baseline[1], 3)
        ('test_mse', 0.173)
    """
    s_model, s_rng, s_test = _seeds(seed)
    model, config = _model(
        {"class": "Forecaster", "cell": cell, "input_size": 2, "hidden_size": hidden, "output_size": 1},
        s_model,
        backend,
    )
    x_test, y_test = tasks.adding_problem(n_test, T, seed=s_test)

    def train_step(model, rng, step, carry):
        x, y = tasks.adding_problem(batch, T, rng=rng)
        loss, d = mse(model(x), y[None])
        model.backward(d)
        return loss, loss, None

    def evaluate(model):
        return {"test_mse": mse(model(x_test), y_test[None])[0]}

    return Experiment(
        "adding",
        model,
        config,
        train_step,
        evaluate,
        "test_mse",
        ("predict 1", float(np.mean((y_test - 1.0) ** 2))),
        np.random.default_rng(s_rng),
        info={"T": T, "batch": batch},
    )


# -- copy memory
# ------------------------------------------------------------------------------------------------------
def copy(
    cell="lstm", T=20, hidden=64, batch=32, seed=0, n_test=500, n_symbols=8, backend="auto"
) -> Experiment:
    """Copy memory: 10 symbols, T blanks, a delimiter; then reproduce the symbols. Per-step cross-entropy.

    The model is a :class:`~minirnn.lm.CharLM` over the n_symbols + 2 input ids predicting the target id at
    each step. Baseline: ``tasks.copy_memory_baseline(T)`` (blanks, then uniform guesses).

    Example:
        >>> exp = copy("gru", T=5, hidden=8, seed=0, n_test=20)
        >>> exp.metric, round(exp.baseline[1], 4)
        ('test_loss', 0.8318)
    """
    s_model, s_rng, s_test = _seeds(seed)
    model, config = _model(
        {"class": "CharLM", "vocab": n_symbols + 2, "hidden_size": hidden, "cell": cell, "embed_dim": 16},
        s_model,
        backend,
    )
    x_test, y_test = tasks.copy_memory(n_test, T, seed=s_test, n_symbols=n_symbols)

    def train_step(model, rng, step, carry):
        x, y = tasks.copy_memory(batch, T, rng=rng, n_symbols=n_symbols)
        logits, _ = model(x)
        loss, d = softmax_cross_entropy(logits, y)
        model.backward(d)
        return loss, float(np.mean(logits[-10:].argmax(-1) == y[-10:])), None

    def evaluate(model):
        return {"test_loss": softmax_cross_entropy(model(x_test)[0], y_test)[0]}

    return Experiment(
        "copy",
        model,
        config,
        train_step,
        evaluate,
        "test_loss",
        ("blanks then uniform guesses", tasks.copy_memory_baseline(T, n_symbols=n_symbols)),
        np.random.default_rng(s_rng),
        info={"T": T, "batch": batch},
    )


# -- forecasting
# ------------------------------------------------------------------------------------------------------
def forecast(
    cell="lstm", T=24, hidden=32, batch=32, seed=0, region="3.4", test_fraction=0.2, backend="auto"
) -> Experiment:
    """Next month's Nino sea surface temperature from the previous T months (NOAA, 1950-2010).

    The series is split in time (the last ``test_fraction`` is held out; test windows may reach back into the
    training years for their inputs but predict only held-out months) and standardised with the training
    part's mean and standard deviation. ``test_mse`` is in degrees C squared; baseline: repeat the last value
    of the window.

    Example:
        >>> exp = forecast("gru", hidden=8, seed=0)
        >>> exp.metric, round(exp.baseline[1], 4)
        ('test_mse', 0.1358)
    """
    s_model, s_rng, _ = _seeds(seed)
    model, config = _model(
        {"class": "Forecaster", "cell": cell, "input_size": 1, "hidden_size": hidden}, s_model, backend
    )
    _, sst = tasks.nino_sst(region)
    n_test = int(round(len(sst) * test_fraction))
    split = len(sst) - n_test
    mean, std = sst[:split].mean(), sst[:split].std()
    z = (sst - mean) / std
    x_train, y_train = tasks.make_windows(z[:split], T)  # (T, N, 1), (1, N, 1)
    x_test, y_test = tasks.make_windows(z[split - T :], T)  # targets = the held-out months

    def train_step(model, rng, step, carry):
        idx = rng.integers(0, x_train.shape[1], size=batch)
        loss, d = mse(model(x_train[:, idx]), y_train[:, idx])
        model.backward(d)
        return loss, loss * std**2, None

    def evaluate(model):
        return {"test_mse": mse(model(x_test), y_test)[0] * std**2}

    baseline = float(np.mean((x_test[-1] - y_test[0]) ** 2) * std**2)
    return Experiment(
        "forecast",
        model,
        config,
        train_step,
        evaluate,
        "test_mse",
        ("repeat the last value", baseline),
        np.random.default_rng(s_rng),
        info={"T": T, "batch": batch, "mean": float(mean), "std": float(std)},
    )


# -- character language model
# ------------------------------------------------------------------------------------------
def bigram_loss(train_ids, test_ids, vocab_size, alpha=1.0) -> float:
    """Held-out cross-entropy (nats per character) of an add-alpha smoothed bigram count model.

        p(b | a) = (count(a, b) + alpha) / (count(a) + alpha * V)        counted on train_ids
        loss     = - mean over test pairs (a, b) of log p(b | a)

    Example:
        >>> round(bigram_loss(np.array([0, 1, 0, 1]), np.array([0, 1]), 2), 4)     # p(1|0) = 3/4
        0.2877
    """
    counts = np.zeros((vocab_size, vocab_size))
    np.add.at(counts, (train_ids[:-1], train_ids[1:]), 1.0)
    p = (counts + alpha) / (counts.sum(1, keepdims=True) + alpha * vocab_size)
    return float(-np.mean(np.log(p[test_ids[:-1], test_ids[1:]])))


def char(
    cell="lstm", T=64, hidden=128, batch=32, seed=0, text=None, val_fraction=0.1, num_layers=1, backend="auto"
) -> Experiment:
    """Character language model on the offline corpus (``tasks.char_corpus``), trained with truncated BPTT.

    The training text is laid out as ``batch`` parallel streams (``tasks.batchify``) and read in chunks of T
    steps; the hidden state is carried from chunk to chunk and reset when the streams start over.
    ``test_loss`` is the held-out (last ``val_fraction`` of the text) cross-entropy in nats per character,
    read as 8 parallel streams with the state carried through (much faster than one stream of batch 1);
    baseline: a bigram count
    model with add-one smoothing on the same split.

    Example:
        >>> exp = char("gru", T=16, hidden=16, batch=4, seed=0, text="hello world, hello there. " * 40)
        >>> exp.metric, exp.baseline[0]
        ('test_loss', 'bigram counts (add-one)')
    """
    s_model, s_rng, _ = _seeds(seed)
    text = tasks.char_corpus() if text is None else text
    vocab = tasks.Vocab.from_text(text)
    train_text, test_text = tasks.train_val_split(text, val_fraction)
    train_ids, test_ids = vocab.encode(train_text), vocab.encode(test_text)
    data = tasks.batchify(train_ids, batch)  # (L, batch)
    test_data = tasks.batchify(test_ids, 8)  # 8 parallel held-out streams
    model, config = _model(
        {
            "class": "CharLM",
            "vocab": "".join(vocab.chars),
            "hidden_size": hidden,
            "cell": cell,
            "num_layers": num_layers,
        },
        s_model,
        backend,
    )

    def train_step(model, rng, step, carry):
        x, y, first = stream_chunk(data, step, T)
        logits, state = model(x, None if first else carry)  # the gradient is cut at the boundary
        loss, d = softmax_cross_entropy(logits, y)
        model.backward(d)
        return loss, float(np.mean(logits.argmax(-1) == y)), state

    def evaluate(model):
        total, count, state = 0.0, 0, None
        chunk = 256
        for s in range(0, len(test_data) - 1, chunk):
            x, y = test_data[s : s + chunk], test_data[s + 1 : s + chunk + 1]
            x = x[: len(y)]
            logits, state = model(x, state)
            total += softmax_cross_entropy(logits, y)[0] * y.size
            count += y.size
        return {"test_loss": total / count}

    return Experiment(
        "char",
        model,
        config,
        train_step,
        evaluate,
        "test_loss",
        ("bigram counts (add-one)", bigram_loss(train_ids, test_ids, len(vocab))),
        np.random.default_rng(s_rng),
        info={
            "T": T,
            "batch": batch,
            "chunks_per_epoch": num_chunks(len(data), T),
            "train_chars": len(train_text),
            "test_chars": len(test_text),
        },
    )


# -- sequence classification
# ----------------------------------------------------------------------------------------
def classify(cell="lstm", T=60, hidden=32, batch=32, seed=0, n_test=1000, backend="auto") -> Experiment:
    """Which frequency band is a noisy sine of length 20..T in (``tasks.sequence_classification``)? 3 classes.

    Variable lengths go to the layer as ``lengths`` (logits from each sequence's last real step). Fresh
    training sequences every step; ``accuracy`` on n_test fixed ones; baseline: always the majority class of
    the test set.

    Example:
        >>> exp = classify("gru", hidden=8, seed=0, n_test=30)
        >>> exp.metric, round(exp.baseline[1], 3)
        ('accuracy', 0.333)
    """
    s_model, s_rng, s_test = _seeds(seed)
    model, config = _model(
        {
            "class": "SequenceClassifier",
            "cell": cell,
            "input_size": 1,
            "hidden_size": hidden,
            "num_classes": 3,
            "batch_first": False,
        },
        s_model,
        backend,
    )
    min_len = min(20, T)
    x_test, len_test, y_test = tasks.sequence_classification(n_test, seed=s_test, min_len=min_len, max_len=T)

    def train_step(model, rng, step, carry):
        x, lengths, y = tasks.sequence_classification(batch, rng=rng, min_len=min_len, max_len=T)
        logits = model(x, lengths=lengths)
        loss, d = softmax_cross_entropy(logits, y)
        model.backward(d)
        return loss, float(np.mean(logits.argmax(-1) == y)), None

    def evaluate(model):
        return {"accuracy": float(np.mean(model(x_test, lengths=len_test).argmax(-1) == y_test))}

    majority = float(np.bincount(y_test).max() / len(y_test))
    return Experiment(
        "classify",
        model,
        config,
        train_step,
        evaluate,
        "accuracy",
        ("majority class", majority),
        np.random.default_rng(s_rng),
        lower_is_better=False,
        info={"T": T, "batch": batch},
    )


def make(task, **kwargs) -> Experiment:
    """The experiment of ``task`` (one of ``TASKS``) with keyword arguments for its function; ``T=None`` or
    ``hidden=None`` means the task's default.

    Example:
        >>> make("adding", cell="rnn", T=10, hidden=4, n_test=10).model
        Forecaster('rnn', 2, 4, output_size=1, horizon=1)
    """
    from .recipes_translate import translate  # it imports this module
    from .recipes_video import video  # its own file, registered here

    functions = {
        "adding": adding,
        "copy": copy,
        "forecast": forecast,
        "char": char,
        "classify": classify,
        "video": video,
        "translate": translate,
    }
    if task not in functions:
        raise ValueError(f"task must be one of {TASKS}, got {task!r}")
    return functions[task](**{k: v for k, v in kwargs.items() if v is not None})
