"""What ``minirnn vanishing`` writes: the summary table, JSON and CSV files, and :func:`run`, which runs the
chosen experiments and saves each figure and result."""

from __future__ import annotations

import numpy as np

from ..cells import registry
from .experiments import (
    cell_profiles,
    gain_scale_heatmap,
    gain_sweep,
    gate_bias_sweep,
    protocol_a,
    spectra,
)
from .cliff import cliff_demo, cliff_summary, plot_cliff
from .exploding import clipping_rescue
from .figures import (
    _protocol_line,
    plot_cell_profiles,
    plot_clipping_rescue,
    plot_defaults,
    plot_gain_sweep,
    plot_gate_bias,
    plot_heatmap,
    plot_learnability,
    plot_profiles,
    plot_spectra,
)
from .gradients import mid_range_factor, title
from .remedies import defaults_profiles, learnability


def summary_table(res):
    """A text table of :func:`protocol_a`'s numbers: per row the median and range over seeds of the whole
    ratio, the first step's drop and the mid-range per-step factor (10% to 90% of the distances; see
    ``gradients.py``)."""
    p = res["protocol"]
    lines = [
        f"Protocol A: {_protocol_line(p)}",
        "",
        f"{'cell':<28}{'ratio ||dL/dh_0||/||dL/dh_T-1||':>32}{'first step':>20}{'mid-range factor':>20}"
        f"{'dL/dc ratio':>13}",
        f"{'':<28}{'median [min, max]':>32}{'median [min, max]':>20}{'median [min, max]':>20}{'median':>13}",
    ]
    for key, d in res.items():
        if key == "protocol":
            continue
        r, dr, m = d["ratio"], d["drop"], d["mid"]
        rc = f"{np.median(d['ratio_c']):.2g}" if "ratio_c" in d else "-"
        lines.append(
            f"{d['label']:<28}{f'{np.median(r):.1e} [{r.min():.0e}, {r.max():.0e}]':>32}"
            f"{f'{np.median(dr):.2f} [{dr.min():.2f}, {dr.max():.2f}]':>20}"
            f"{f'{np.median(m):.3f} [{m.min():.2f}, {m.max():.2f}]':>20}{rc:>13}"
        )
    return "\n".join(lines)


def learnability_table(res):
    """A Markdown table of :func:`learnability`'s result: per configuration and T, solved/seeds and the median
    [min, max] held-out MSE."""
    Ts, S = res["Ts"], res["test"].shape[1]
    lines = ["| configuration | " + " | ".join(f"T = {T}" for T in Ts) + " |", "|---|" + "---|" * len(Ts)]
    for label, rate, test in zip(res["labels"], res["success"], res["test"]):
        cells_ = [
            f"{int(round(r * S))}/{S} solved, MSE {np.nanmedian(m):.3f} "
            f"[{np.nanmin(m):.3f}, {np.nanmax(m):.3f}]"
            for r, m in zip(rate, test.T)
        ]
        lines.append(f"| {label.replace('$', '').replace('{hh}', 'hh')} | " + " | ".join(cells_) + " |")
    return "\n".join(lines)


def _jsonable(obj):
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, np.ndarray):
        if np.iscomplexobj(obj):
            return {"real": obj.real.tolist(), "imag": obj.imag.tolist()}
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    return obj


def _write_json(res, path):
    import json

    with open(path, "w") as fh:
        json.dump(_jsonable(res), fh, allow_nan=True)


def _write_csv(res, path):
    """One row per (cell, seed) of protocol A: ratio, per-step factor, dL/dc ratio."""
    import csv

    with open(path, "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(
            [
                "cell",
                "seed",
                "ratio",
                "first_step_drop",
                "mid_range_factor",
                "ratio_c",
                "T",
                "hidden",
                "input_size",
                "dtype",
            ]
        )
        p = res["protocol"]
        for key, d in res.items():
            if key == "protocol":
                continue
            for s in range(len(d["ratio"])):
                w.writerow(
                    [
                        key,
                        s,
                        f"{d['ratio'][s]:.6e}",
                        f"{d['drop'][s]:.6f}",
                        f"{d['mid'][s]:.6f}",
                        f"{d['ratio_c'][s]:.6e}" if "ratio_c" in d else "",
                        p["T"],
                        p["hidden"],
                        p["input_size"],
                        p["dtype"],
                    ]
                )


EXPERIMENTS = (
    "profiles",
    "defaults",
    "trained",
    "gain",
    "heatmap",
    "bias",
    "spectra",
    "learnability",
    "clipping",
    "cliff",
)


def run(
    out,
    cells_=("rnn", "lstm", "gru"),
    T=100,
    hidden=64,
    input_size=8,
    seeds=16,
    experiments=("profiles",),
    steps=300,
    task="adding",
    progress=True,
    echo=print,
    n_jobs=-1,
):
    """What ``minirnn vanishing`` does: run the experiments, write ``<name>.png`` and ``<name>.json`` into
    ``out`` (plus ``profiles.csv`` and ``summary.txt``), echo a summary of each; returns a dict name ->
    result.

    ``learnability`` writes each run into ``<out>/learnability.jsonl`` as it finishes (a rerun resumes) and
    runs them through joblib with ``n_jobs`` processes (``minirnn.analysis.sweep``); ``seeds`` caps its seeds
    at 5 or more.

    It is long because it is the command's script: one short block per experiment, in the order
    ``minirnn vanishing`` runs them.
    """
    import os

    import matplotlib

    if matplotlib.get_backend().lower() not in ("agg", "module://matplotlib_inline.backend_inline"):
        matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    os.makedirs(out, exist_ok=True)
    path = lambda name, ext: os.path.join(out, f"{name}.{ext}")  # noqa: E731
    results = {}

    def save(name, res, plot):
        results[name] = res
        _write_json(res, path(name, "json"))
        plt.close(plot(res, path(name, "png")))
        echo(f"  wrote {path(name, 'png')} and {path(name, 'json')}")

    unknown = sorted(set(experiments) - set(EXPERIMENTS))
    if unknown:
        raise ValueError(f"experiments must be among {EXPERIMENTS}, got {unknown}")
    if "profiles" in experiments:
        res = protocol_a(
            cells_,
            T,
            hidden,
            input_size,
            seeds,
            forget_bias=3.0 if any("f" in registry.get(c).gates for c in cells_) else None,
            progress=progress,
        )
        save("profiles", res, plot_profiles)
        _write_csv(res, path("profiles", "csv"))
        table = summary_table(res)
        with open(path("summary", "txt"), "w") as fh:
            fh.write(table + "\n")
        echo("\n" + table + "\n")
    if "trained" in experiments:
        res = cell_profiles(
            cells_, T=min(T, 50), hidden=min(hidden, 32), seeds=min(seeds, 4), steps=steps, progress=progress
        )
        save("trained", res, plot_cell_profiles)
        for cell in cells_:
            echo(
                f"  {title(cell):<10} mid-range factor at init {np.median(res['init'][cell]['mid']):.3f}, "
                f"after training {np.median(res['trained'][cell]['mid']):.3f} "
                f"(test MSE {np.nanmedian(res['test_mse'][cell]):.4f}; 1/6 = 0.1667)"
            )
    if "gain" in experiments:
        res = gain_sweep(T=T, hidden=hidden, input_size=input_size, seeds=seeds, progress=progress)
        save("gain", res, plot_gain_sweep)
        echo(
            "  tanh RNN, W_hh = g Q: mid-range factor "
            + ", ".join(
                f"g={g:g}: {np.median(f):.3f}"
                for g, f in zip(res["gains"], mid_range_factor(res["profiles"]))
            )
        )
    if "heatmap" in experiments:
        res = gain_scale_heatmap(
            T=T, hidden=hidden, input_size=input_size, seeds=min(seeds, 4), progress=progress
        )
        save("heatmap", res, plot_heatmap)
        i = int(np.argmin(np.abs(res["gains"] - 1.5)))
        echo(
            f"  g={res['gains'][i]:g}: log10 ratio {res['log10_ratio'][i, 0]:.1f} at input scale "
            f"{res['scales'][0]:.0e}, {res['log10_ratio'][i, -1]:.1f} at {res['scales'][-1]:.0e} "
            f"(linear RNN {res['linear'][i]:.1f})"
        )
    if "bias" in experiments:
        res = gate_bias_sweep(T=T, hidden=hidden, input_size=input_size, seeds=seeds, progress=progress)
        save("bias", res, plot_gate_bias)
        for b in res["biases"]:
            dl, dg = res["lstm"][float(b)], res["gru"][float(b)]
            echo(
                f"  bias {b:g}: LSTM dL/dh ratio {np.median(dl['ratio']):.1e}, dL/dc ratio "
                f"{np.median(dl['ratio_c']):.1e}; GRU dL/dh ratio {np.median(dg['ratio']):.1e}"
            )
        echo(
            f"  LSTM with f = 1 (CEC): dL/dh ratio {np.median(res['cec']['ratio']):.1e}, dL/dc ratio "
            f"{np.median(res['cec']['ratio_c']):.1e}"
        )
    if "spectra" in experiments:
        res = spectra(T=T, hidden=hidden, input_size=input_size)
        save("spectra", res, plot_spectra)
        for name in res["names"]:
            echo(
                f"  {name}: spectral radius {res['radius'][name]:.2f}, ||W_hh|| {res['norm'][name]:.2f}, "
                f"largest singular value of dh_{{T-1}}/dh_0 {res['sv'][name][0, 0]:.1e}"
            )
    if "defaults" in experiments:
        res = defaults_profiles(cells_, T, hidden, input_size, seeds, progress=progress)
        save("defaults", res, plot_defaults)
        echo("\n" + summary_table(res) + "\n")
    if "learnability" in experiments:
        res = learnability(
            seeds=max(5, min(seeds, 10)),
            steps=steps,
            path=path("learnability", "jsonl"),
            n_jobs=n_jobs,
            progress=progress,
        )
        save("learnability", res, plot_learnability)
        with open(path("learnability", "md"), "w") as fh:
            fh.write(learnability_table(res) + "\n")
        echo("\n" + learnability_table(res) + "\n")
        for label, rate, test in zip(res["labels"], res["success"], res["test"]):
            rates = dict(zip(res["Ts"].tolist(), rate.tolist()))
            echo(
                f"  {label:<32} solved (MSE < {res['threshold']:g}) by T {rates}, "
                f"median MSE {np.round(np.nanmedian(test, 0), 3).tolist()}"
            )
    if "clipping" in experiments:
        res = clipping_rescue(progress=progress)
        save("clipping", res, plot_clipping_rescue)
        g = res["growth"]
        echo(
            f"  growth through time at init ||dL/dh_0||/||dL/dh_T-1||: median {np.median(g):.2g} "
            f"[{g.min():.2g}, {g.max():.2g}]"
        )
        for name in ("unclipped", "clipped"):
            d, t = res[name], res[name]["test"]
            f = t[np.isfinite(t)]
            mse = f"{np.median(f):.3g} [{f.min():.3g}, {f.max():.3g}]" if f.size else "none finite"
            echo(
                f"  {name}: {int(d['learned'].sum())}/{len(t)} learned "
                f"(held-out MSE < {res['threshold']:g}); test MSE median {mse}, {f.size}/{len(t)} finite; "
                f"max gradient norm median {np.median(d['max_grad_norm']):.2g}; growth through time at the "
                f"last weights median {np.median(d['growth_end']):.2g}"
            )
            stopped = [int(np.argmax(~np.isfinite(g))) for g in d["grad_norm"] if not np.all(np.isfinite(g))]
            if stopped:
                echo(f"  {name}: the gradient norm overflowed at steps {stopped}")
            r = lambda a: np.round(a, 2).tolist()  # noqa: E731
            with np.errstate(all="ignore"):
                after = np.nanmax(d["growth_step"][:, 1:], axis=1)
            echo(
                f"  {name}: gradient norm at step 0 {r(d['grad_norm'][:, 0])}; after the first step: growth "
                f"{np.array2string(d['growth_step'][:, 1], precision=2)}, spectral radius "
                f"{r(d['radius_step'][:, 1])}; max growth over steps >= 1 "
                f"{np.array2string(after, precision=2)}"
            )
            echo(
                f"  {name}: first gradient-norm spike (> 10 x running median) at steps {d['spike'].tolist()} "
                f"(-1: none), growth through time there {np.array2string(d['growth_spike'], precision=2)}"
            )
    if "cliff" in experiments:
        res = cliff_demo()
        res["summary"] = cliff_summary(res)
        save("cliff", res, plot_cliff)
        for name, d in res["summary"].items():
            echo(
                f"  {name}: max gradient norm {d['max_grad_norm']:.3g} (step {d['max_grad_step']}), "
                f"|dh_T/dh_0| there {d['growth_at_max']:.2g}, longest step {d['longest_step']:.3g}, "
                f"final loss {d['final_loss']:.2g} at (w, b) = ({d['final_point'][0]:.2f}, "
                f"{d['final_point'][1]:.2f})"
            )
    return results
