"""Models built from minirnn's layers: ``SequenceClassifier`` (and the tutorial's six models), ``CharLM``,
``Forecaster`` (with ``recursive_forecast`` and the forecasting baselines ``LinearAR``, ``climatology``,
``anomaly_forecast``), ``Seq2Seq`` (encoder-decoder with attention; ``beam_search``).

    model = SequenceClassifier("lstm", 10, 20, 3, num_layers=2, seed=0)
    logits = model(x, lengths=lengths)          # x (B, T, 10) -> logits (B, 3)
    dx = model.backward(dlogits)                # fills model.grads: rnn.weight_ih_l0, ..., fc.weight, fc.bias
"""

from .char_lm import CharLM
from .classifier import FRAMEWORKS, TUTORIAL_MODELS, SequenceClassifier, tutorial_model
from .forecaster import Forecaster, recursive_forecast
from .baselines import LinearAR, anomaly_forecast, autocorrelation, climatology, rmse_by_lead
from .beam_search import beam_search
from .seq2seq import Seq2Seq

__all__ = [
    "SequenceClassifier",
    "tutorial_model",
    "TUTORIAL_MODELS",
    "FRAMEWORKS",
    "CharLM",
    "Forecaster",
    "recursive_forecast",
    "LinearAR",
    "climatology",
    "anomaly_forecast",
    "autocorrelation",
    "rmse_by_lead",
    "Seq2Seq",
    "beam_search",
]
