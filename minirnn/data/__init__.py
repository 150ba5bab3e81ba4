"""Datasets for recurrent networks, generated or read offline, as NumPy arrays (shipped data files live here
too).

- ``adding_problem``: sum the two marked numbers of a long sequence (long-range memory, regression).
- ``copy_memory``: recall 10 symbols after T blank steps (long-range memory, classification per step).
- ``sine_series``, ``make_windows``, ``nino_sst``: time series forecasting, synthetic and real (NOAA sea
temperatures). - ``char_corpus``, ``Vocab``, ``train_val_split``, ``batchify``: character-level language
modelling on offline text. - ``sequence_classification``: which frequency band a noisy, variable-length sine
lies in.
- ``date_pairs``: human-written dates and their ISO form (translation); ``digit_pairs``: reverse or sort
digits. - ``PairVocab``, ``encode_pairs``: padded source/target batches for sequence-to-sequence models.
- ``moving_digits``, ``digit_images``: videos of handwritten digits (UCI optical digits, shipped) moving on a
    canvas.

Sequences are time-major, ``(T, n, features)``, as the layers use them inside. Every random generator takes
``seed=`` (an int) or ``rng=`` (a ``numpy.random.Generator``): the same seed gives the same arrays. Nothing is
downloaded.
"""

from .dates import DATE_FORMATS, ISO_SYMBOLS, LANGUAGES, date_pairs, date_symbols, format_date
from .digit_tasks import DIGIT_TASKS, DIGITS, digit_pairs
from .pairs import BOS, EOS, PAD, PairVocab, encode_pairs
from .moving_digits import DIRECTIONS, LABELS, digit_images, moving_digits
from .series import make_windows, nino_sst, sine_series
from .synthetic import (
    ADDING_BASELINE_MSE,
    FREQUENCY_BANDS,
    adding_problem,
    copy_memory,
    copy_memory_baseline,
    sequence_classification,
)
from .text import STDLIB_CORPUS_FILES, Vocab, batchify, char_corpus, train_val_split

__all__ = [
    "ADDING_BASELINE_MSE",
    "adding_problem",
    "copy_memory",
    "copy_memory_baseline",
    "sine_series",
    "make_windows",
    "nino_sst",
    "char_corpus",
    "Vocab",
    "train_val_split",
    "batchify",
    "sequence_classification",
    "FREQUENCY_BANDS",
    "STDLIB_CORPUS_FILES",
    "date_pairs",
    "date_symbols",
    "format_date",
    "DATE_FORMATS",
    "LANGUAGES",
    "ISO_SYMBOLS",
    "digit_pairs",
    "DIGIT_TASKS",
    "DIGITS",
    "PairVocab",
    "encode_pairs",
    "PAD",
    "BOS",
    "EOS",
    "moving_digits",
    "digit_images",
    "LABELS",
    "DIRECTIONS",
]
