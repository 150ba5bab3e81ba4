"""How the time of one LSTM forward + backward grows with the sequence length T and the hidden size H, for
minirnn, torch and JAX in one interleaved run, with the measured exponent of each (the slope of log time
against log T
or H)."""

from __future__ import annotations

import _output
import numpy as np
from speed_contenders import jax_contender, minirnn_contenders, time_interleaved, torch_contender

T_VALUES = (10, 30, 100, 300, 1000)  # at B=32, I=32, H=128
H_VALUES = (32, 64, 128, 256, 512)  # at T=100, B=32, I=32


def _contenders(dtype, T, B, I, H, torch, jax):
    x = np.random.default_rng(0).normal(size=(T, B, I)).astype(dtype)
    runs = minirnn_contenders("lstm", dtype, x, H, ("auto",))
    if torch is not None:
        runs["torch"] = torch_contender(torch, "lstm", dtype, x, H)
    if jax is not None:
        runs["jax"] = jax_contender("lstm", dtype, x, H)
    return runs


def exponent(xs, times):
    """The least-squares slope of log(time) against log(x): 1 for linear growth, 2 for quadratic."""
    return float(np.polyfit(np.log(xs), np.log(times), 1)[0])


def measure_growth(torch=None, jax=None, dtype=np.float32, reps=3, warmup=1):
    """{"T": {...}, "H": {...}}: per axis the values, each contender's median ms per value, and its
    exponent."""
    result = {}
    for axis, values in (("T", T_VALUES), ("H", H_VALUES)):
        ms = {}
        for v in values:
            T, H = (v, 128) if axis == "T" else (100, v)
            for name, (median, _, _) in time_interleaved(
                _contenders(dtype, T, 32, 32, H, torch, jax), reps, warmup
            ).items():
                ms.setdefault(name, []).append(median)
        result[axis] = {
            "values": list(values),
            "ms": ms,
            "exponent": {name: exponent(values, t) for name, t in ms.items()},
        }
    return result


def plot_growth(growth, path):
    """Two log-log panels, time against T and against H, one line per contender with its exponent in the
    legend."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for ax, axis in zip(axes, ("T", "H")):
        g = growth[axis]
        for name, t in g["ms"].items():
            ax.loglog(g["values"], t, "o-", lw=2, label=f"{name}: time ~ {axis}^{g['exponent'][name]:.2f}")
        ax.set_xlabel(
            "sequence length T (B=32, H=128)" if axis == "T" else "hidden size H (T=100, B=32)", fontsize=11
        )
        ax.set_ylabel("ms per forward + backward", fontsize=11)
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=10)
    fig.suptitle("LSTM float32, one thread: growth with T and H", fontsize=12)
    fig.tight_layout()
    _output.write_png(fig, path)
    plt.close(fig)
