"""The inputs a part is graded on, and the reference's outputs on them (computed in the grader, never in the
sandbox).

Each part gets its own five cases: two fixed ones (the same in every run, whatever ``seed`` says) and three
random ones from ``seed``; the RNN's last case uses its second nonlinearity (ReLU). The streams are drawn per
part (the seed is combined with the part's name), so the inputs one part is graded on never appear while
another is graded.

A case is a dict of named quantities (see ``parts.py``): the sequence ``x (T, B, I)``, its first step
``x_t``, each state's initial value (``h0`` and ``h_prev``, ...), the weights, the mask, the upstream
gradients (``dout``, ``dh_n``, ``dh``, ...), the options, ``x_proj = x_t W_ih^T + b_ih``, and what the
reference ``recurrent_step`` makes of them (``gates``, ``tanh_c``, ``hn``, ``step_cache``) for the helpers
that take those as inputs.

Example:
    >>> cases = make_cases("lstm", "gate_gradients", seed=0)
    >>> len(cases), cases[0]["gates"].shape, describe(cases[2], sequence=True)
    (5, (2, 16), 'random 1 (B=4, I=5, H=3, T=6, padded)')
"""

from __future__ import annotations

import zlib

import numpy as np

from ..cells import registry
from .parts import calls
from .sandbox_child import call

FIXED_SEED = 20240  # the "fixed" inputs: the same in every run, whatever --seed says
SHAPES = [
    ("fixed 1", 2, 3, 4, 5, None),
    ("fixed 2", 3, 3, 4, 5, "prefix"),
    ("random 1", 4, 5, 3, 6, "random"),
    ("random 2", 1, 2, 5, 3, None),
    ("random 3", 3, 4, 2, 7, "random"),
]  # label, B, I, H, T, mask


def _mask(kind, rng, T, B):
    if kind == "prefix":
        lengths = np.linspace(T, 1, B).round().astype(int)
        return np.arange(T)[:, None] < lengths[None, :]
    if kind == "random":
        return rng.random((T, B)) < 0.7
    return None


def _make_case(cell, rng, label, B, I, H, T, mask, options) -> dict:
    G = cell.num_gates
    s = 0.6 / np.sqrt(H)  # keeps gates away from saturation
    case = {"label": label, "x": rng.normal(size=(T, B, I))}
    for state in cell.states:
        case[f"{state}0"] = 0.5 * rng.normal(size=(B, H))
    case.update(
        W_ih=rng.normal(size=(G * H, I)) * 3 * s,
        W_hh=rng.normal(size=(G * H, H)) * 3 * s,
        b_ih=rng.normal(size=G * H) * s,
        b_hh=rng.normal(size=G * H) * s,
        mask=_mask(mask, rng, T, B),
        dout=rng.normal(size=(T, B, H)),
    )
    for state in cell.states:
        case[f"d{state}_n"] = rng.normal(size=(B, H))
        case[f"d{state}"] = rng.normal(size=(B, H))  # the upstream gradients of one step
        case[f"{state}_prev"] = case[f"{state}0"]
    case["x_t"] = case["x"][0]
    case["x_proj"] = case["x_t"] @ case["W_ih"].T + case["b_ih"]  # (B, G*H)
    case.update(options)
    return case


def make_cases(cell_name: str, part: str, seed: int = 0) -> list[dict]:
    """The five cases of ``part`` of ``cell_name``, with the reference recurrent_step's outputs added."""
    cell = registry.get(cell_name)
    stream = zlib.crc32(f"{cell_name}.{part}".encode())
    fixed = np.random.default_rng([FIXED_SEED, stream])
    rng = np.random.default_rng([seed, stream])
    options = cell.default_options()
    cases = []
    for k, (label, B, I, H, T, mask) in enumerate(SHAPES):
        opts = dict(options)
        if k == len(SHAPES) - 1:  # the last case: each option's second value
            opts.update({name: values[1] for name, values in cell.options.items() if len(values) > 1})
        case = _make_case(cell, fixed if label.startswith("fixed") else rng, label, B, I, H, T, mask, opts)
        case["variant"] = "".join(f", {value}" for name, value in opts.items() if value != options[name])
        cases.append(case)
    step = calls(cell_name)["recurrent_step"]
    reference = cell.implementation("numpy")
    for case in cases:
        case.update({k: v for k, v in call(reference, step, case).items() if k not in ("h", "c")})
    return cases


def describe(case: dict, sequence: bool) -> str:
    """``"random 1 (B=4, I=5, H=3, T=6, padded)"``; a one-step part gets no T and no mask."""
    T, B, I = case["x"].shape
    dims = f"B={B}, I={I}, H={case['dout'].shape[-1]}" + (f", T={T}" if sequence else "")
    extra = ", padded" if sequence and case["mask"] is not None else ""
    extra += case.get("variant", "")
    return f"{case['label']} ({dims}{extra})"


def needed(task: dict) -> set:
    """The names of a case the sandbox needs for ``task`` (nothing else is sent: no reference output of the
    part)."""
    names = set()
    for spec in (task["part"], task["after"]):
        if spec:
            names |= set(spec["args"]) | set(spec.get("kwargs", {}).values())
    if task["gradcheck"]:
        names |= {u for _, u in task["gradcheck"]["pairs"]}
    return names - {"cache"}


def reference_outputs(cell_name: str, task: dict, cases: list) -> list[dict]:
    """The reference's graded outputs on each case, from ``minirnn/cells/<module>.py``."""
    from .sandbox_child import run_case

    reference = registry.get(cell_name).implementation("numpy")
    out = []
    for case in cases:
        got = run_case(reference, task, case)
        out.append({name: got[name] for name in task["graded"]})
    return out


def directions(task: dict, cases: list, seed: int = 0) -> dict:
    """The random unit directions of the gradient check, one per input of the part's own forward."""
    check = task["gradcheck"]
    case = cases[check["case"]]
    rng = np.random.default_rng([seed, zlib.crc32(task["part"]["name"].encode()), 7])
    out = {}
    for name in check["wrt"]:
        v = rng.normal(size=np.shape(case[name]))
        out[name] = v / np.linalg.norm(v)
    return out
