"""What ``minirnn vanishing`` writes: the summary table, JSON and CSV files, and :func:`run`, which runs the chosen
experiments and saves each figure and result."""
from __future__ import annotations

import numpy as np

from ..cells import registry
from .experiments import (cell_profiles, clipping_traces, gain_scale_heatmap, gain_sweep, gate_bias_sweep,
                          learnability, protocol_a, spectra)
from .gradients import title
from .figures import (_protocol_line, plot_cell_profiles, plot_clipping, plot_gain_sweep, plot_gate_bias,
                      plot_heatmap, plot_learnability, plot_profiles, plot_spectra)


def summary_table(res):
    """A text table of :func:`protocol_a`'s numbers: per row the median and range over seeds."""
    p = res["protocol"]
    lines = [f"Protocol A: {_protocol_line(p)}",
             "",
             f"{'cell':<26}{'ratio ||dL/dh_0||/||dL/dh_T-1||':>34}{'per-step factor':>22}{'dL/dc ratio':>14}",
             f"{'':<26}{'median [min, max]':>34}{'median [min, max]':>22}{'median':>14}"]
    for key, d in res.items():
        if key == "protocol":
            continue
        name = d["label"]
        r, f = d["ratio"], d["factor"]
        rc = f"{np.median(d['ratio_c']):.2g}" if "ratio_c" in d else "-"
        lines.append(f"{name:<26}{f'{np.median(r):.1e} [{r.min():.0e}, {r.max():.0e}]':>34}"
                     f"{f'{np.median(f):.3f} [{f.min():.2f}, {f.max():.2f}]':>22}{rc:>14}")
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
        w.writerow(["cell", "seed", "ratio", "per_step_factor", "ratio_c", "T", "hidden", "input_size", "dtype"])
        p = res["protocol"]
        for key, d in res.items():
            if key == "protocol":
                continue
            for s in range(len(d["ratio"])):
                w.writerow([key, s, f"{d['ratio'][s]:.6e}", f"{d['factor'][s]:.6f}",
                            f"{d['ratio_c'][s]:.6e}" if "ratio_c" in d else "", p["T"], p["hidden"],
                            p["input_size"], p["dtype"]])


EXPERIMENTS = ("profiles", "trained", "gain", "heatmap", "bias", "spectra", "learnability", "clipping")


def run(out, cells_=("rnn", "lstm", "gru"), T=100, hidden=64, input_size=8, seeds=16, experiments=("profiles",),
        steps=300, task="adding", progress=True, echo=print):
    """What ``minirnn vanishing`` does: run the experiments, write ``<name>.png`` and ``<name>.json`` into ``out``
    (plus ``profiles.csv`` and ``summary.txt``), echo a summary of each; returns a dict name -> result.
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
        res = protocol_a(cells_, T, hidden, input_size, seeds,
                         forget_bias=3.0 if any("f" in registry.get(c).gates for c in cells_) else None,
                         progress=progress)
        save("profiles", res, plot_profiles)
        _write_csv(res, path("profiles", "csv"))
        table = summary_table(res)
        with open(path("summary", "txt"), "w") as fh:
            fh.write(table + "\n")
        echo("\n" + table + "\n")
    if "trained" in experiments:
        res = cell_profiles(cells_, T=min(T, 50), hidden=min(hidden, 32), seeds=min(seeds, 4), steps=steps,
                            progress=progress)
        save("trained", res, plot_cell_profiles)
        for cell in cells_:
            echo(f"  {title(cell):<10} per-step factor at init {np.median(res['init'][cell]['factor']):.3f}, "
                 f"after training {np.median(res['trained'][cell]['factor']):.3f} "
                 f"(test MSE {np.nanmedian(res['test_mse'][cell]):.4f}; 1/6 = 0.1667)")
    if "gain" in experiments:
        res = gain_sweep(T=T, hidden=hidden, input_size=input_size, seeds=seeds, progress=progress)
        save("gain", res, plot_gain_sweep)
        echo("  tanh RNN, W_hh = g Q: per-step factor " + ", ".join(
            f"g={g:g}: {np.median(f):.3f}" for g, f in zip(res["gains"], res["factor"])))
    if "heatmap" in experiments:
        res = gain_scale_heatmap(T=T, hidden=hidden, input_size=input_size, seeds=min(seeds, 4), progress=progress)
        save("heatmap", res, plot_heatmap)
        i = int(np.argmin(np.abs(res["gains"] - 1.5)))
        echo(f"  g={res['gains'][i]:g}: log10 ratio {res['log10_ratio'][i, 0]:.1f} at input scale "
             f"{res['scales'][0]:.0e}, {res['log10_ratio'][i, -1]:.1f} at {res['scales'][-1]:.0e} "
             f"(linear RNN {res['linear'][i]:.1f})")
    if "bias" in experiments:
        res = gate_bias_sweep(T=T, hidden=hidden, input_size=input_size, seeds=seeds, progress=progress)
        save("bias", res, plot_gate_bias)
        for b in res["biases"]:
            dl, dg = res["lstm"][float(b)], res["gru"][float(b)]
            echo(f"  bias {b:g}: LSTM dL/dh ratio {np.median(dl['ratio']):.1e}, dL/dc ratio "
                 f"{np.median(dl['ratio_c']):.1e}; GRU dL/dh ratio {np.median(dg['ratio']):.1e}")
        echo(f"  LSTM with f = 1 (CEC): dL/dh ratio {np.median(res['cec']['ratio']):.1e}, dL/dc ratio "
             f"{np.median(res['cec']['ratio_c']):.1e}")
    if "spectra" in experiments:
        res = spectra(T=T, hidden=hidden, input_size=input_size)
        save("spectra", res, plot_spectra)
        for name in res["names"]:
            echo(f"  {name}: spectral radius {res['radius'][name]:.2f}, ||W_hh|| {res['norm'][name]:.2f}, "
                 f"largest singular value of dh_{{T-1}}/dh_0 {res['sv'][name][0, 0]:.1e}")
    if "learnability" in experiments:
        res = learnability(cells_, task=task, steps=steps, progress=progress)
        save(f"learnability_{task}", res, plot_learnability)
        for cell in cells_:
            echo(f"  {title(cell):<10} test loss by T {dict(zip(res['Ts'].tolist(), np.round(np.nanmedian(res[cell]['test'], 0), 4).tolist()))}")
    if "clipping" in experiments:
        res = clipping_traces(progress=progress)
        save("clipping", res, plot_clipping)
        for name in ("unclipped", "clipped"):
            echo(f"  {name}: max gradient norm {np.nanmax(res[name]['grad_norm']):.1e}, test MSE {res[name]['test']:.3g}")
    return results
