"""Does the character LSTM grow a unit that tracks strings or indentation? Notebook 5's model over 5 seeds.

    python benchmarks/char_units.py           # 5 seeds, resumable (benchmarks/results/char_units.jsonl)
    python benchmarks/char_units.py --table          # the table of the saved results only

The setup is notebook 5's full size: ``CharLM`` (LSTM, H = 128, embed_dim 32) on the standard-library corpus
(``tasks.char_corpus()``, last 10% held out), 16 streams of 32-step chunks (truncated BPTT), Adam lr 5e-3,
gradient norm clipped to 1, :data:`STEPS` steps (about 8 passes over the training text). Every
:data:`EVERY` steps, and for the untrained model of the same seed (the control), the model reads the first
:data:`PROBE` held-out characters from a zero state (``minirnn.models.char_units.unit_activations``) and every
unit's hidden state h_t and cell state c_t is correlated (Pearson r) with the two features of
``minirnn.data.code_features`` (in_string: 1 inside any string literal, triple-quoted ones included;
indentation: leading spaces of the current line), computed on the whole corpus and sliced, so that the
held-out text starts in the right state. A unit counts as **found** when its |r| reaches :data:`FOUND` and
twice the best |r| of the untrained model of the same seed (same feature and state).

Each run's row is appended to ``--results`` as it finishes (``minirnn/analysis/sweep.py``); rerunning skips
the seeds already there.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")  # tiny matrices: BLAS threads only fight over the cores

import argparse  # noqa: E402
import math  # noqa: E402
import time  # noqa: E402

import numpy as np  # noqa: E402

STEPS, EVERY, PROBE = 3000, 500, 10_000
H, EMBED, B, T, LR = 128, 32, 16, 32, 5e-3
#: A unit is "found" when |r| with the feature reaches this, and at least twice the control's best |r|.
FOUND = 0.4
FEATURES = ("in_string", "indentation")


def _setup():
    from minirnn import tasks
    from minirnn.data.code_features import code_features

    text = tasks.char_corpus()
    vocab = tasks.Vocab.from_text(text)
    train_text, test_text = tasks.train_val_split(text, 0.1)
    in_string, indentation = code_features(text)  # on the whole corpus, then sliced: starts in code
    n0 = len(train_text)
    feats = {"in_string": in_string[n0 : n0 + PROBE], "indentation": indentation[n0 : n0 + PROBE]}
    return vocab, train_text, test_text, feats


def search(model, probe, feats):
    """{"feature/state": (unit, r)} for the unit of largest |r|, state h or c."""
    from minirnn.models.char_units import unit_activations, unit_correlations

    acts = unit_activations(model, probe)
    out = {}
    for name, f in feats.items():
        for state, a in acts.items():
            r = unit_correlations(a, f)
            k = int(np.argmax(np.abs(r)))
            out[f"{name}/{state}"] = (k, float(r[k]))
    return out


def run(seed, steps=STEPS):
    """Train one seed; returns the best units of the trained and the untrained model and the |r| curve."""
    from minirnn import optim, tasks
    from minirnn.lm import CharLM
    from minirnn.losses import softmax_cross_entropy
    from minirnn.train import fit, stream_chunk

    vocab, train_text, test_text, feats = _setup()
    probe = test_text[:PROBE]
    data = tasks.batchify(vocab.encode(train_text), B)
    test_streams = tasks.batchify(vocab.encode(test_text), 8)

    def train_step(model, rng, step, carry):
        x, y, first = stream_chunk(data, step, T)
        logits, state = model(x, None if first else carry)
        loss, dlogits = softmax_cross_entropy(logits, y)
        model.backward(dlogits)
        return loss, float("nan"), state

    def evaluate(model):
        logits, _ = model(test_streams[:-1])
        result = {"test_loss": softmax_cross_entropy(logits, test_streams[1:])[0]}
        result.update({k: abs(r) for k, (_, r) in search(model, probe, feats).items()})
        return result

    model = CharLM(vocab, H, cell="lstm", embed_dim=EMBED, seed=seed)
    control = search(CharLM(vocab, H, cell="lstm", embed_dim=EMBED, seed=seed), probe, feats)
    t0 = time.perf_counter()
    history = fit(model, optim.Adam(model, lr=LR), train_step, steps, rng=np.random.default_rng(seed),
                  evaluate=evaluate, eval_every=EVERY, clip_norm=1.0, progress=False)
    seconds = time.perf_counter() - t0
    return {
        "trained": search(model, probe, feats),
        "untrained": control,
        "eval_step": history["eval_step"],
        "eval": history["eval"],
        "bits_per_char": history["eval"]["test_loss"][-1] / math.log(2),
        "seconds": seconds,
        "passes": steps * B * T / len(train_text),
    }


def table(rows) -> str:
    """One Markdown line per feature and state: found in how many seeds, best |r| per seed, the control's."""
    rows = sorted(rows, key=lambda r: r["job"]["seed"])
    lines = [
        f"{len(rows)} seeds, {rows[0]['job']['steps'] if rows else STEPS} steps each, found: |r| >= {FOUND} "
        "and >= 2 x the untrained best |r| of the same seed; "
        f"held-out bits/char per seed: " + ", ".join(f"{r['bits_per_char']:.2f}" for r in rows),
        "",
        (
            "| feature | state | found in | trained: best r per seed (unit) "
            "| untrained control: best r per seed |"
        ),
        "|---|---|---|---|---|",
    ]
    for name in FEATURES:
        for state in ("h", "c"):
            key = f"{name}/{state}"
            tr = [r["trained"][key] for r in rows]
            un = [r["untrained"][key][1] for r in rows]
            found = sum(abs(r) >= FOUND and abs(r) >= 2 * abs(u) for (_, r), u in zip(tr, un))
            lines.append(
                f"| {name} | {state}_t | {found}/{len(rows)} | "
                + ", ".join(f"{r:+.2f} ({k})" for k, r in tr)
                + f" | {', '.join(f'{r:+.2f}' for r in un)} (max |r| {max(map(abs, un), default=0):.2f}) |"
            )
    if rows:
        lines += ["", "best |r| during training, median over seeds [min, max], at steps "
                  + ", ".join(map(str, rows[0]["eval_step"])) + ":"]
        for key in (f"{name}/{state}" for name in FEATURES for state in ("h", "c")):
            curve = np.array([r["eval"][key] for r in rows])  # (seeds, evals)
            lines.append(f"  {key}: " + ", ".join(
                f"{np.median(c):.2f} [{c.min():.2f}, {c.max():.2f}]" for c in curve.T))
        loss = np.array([r["eval"]["test_loss"] for r in rows]) / math.log(2)
        lines.append("  held-out bits/char: " + ", ".join(f"{np.median(c):.2f}" for c in loss.T))
    return "\n".join(lines)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=5, help="seeds (default 5)")
    parser.add_argument("--steps", type=int, default=STEPS, help=f"training steps (default {STEPS})")
    parser.add_argument("--n-jobs", type=int, default=-1, help="parallel runs (joblib; default: every core)")
    parser.add_argument("--results", default="benchmarks/results/char_units.jsonl")
    parser.add_argument("--table", action="store_true", help="only print the table of saved results")
    args = parser.parse_args(argv)
    from minirnn.analysis.sweep import load, sweep

    if args.seeds < 1 or args.steps < 1:
        parser.error("--seeds and --steps must be at least 1")
    jobs = [{"seed": s, "steps": args.steps} for s in range(args.seeds)]
    if not args.table:
        sweep(run, jobs, args.results, n_jobs=args.n_jobs, desc="char-unit runs")
    rows = [r for r in load(args.results) if r["job"]["steps"] == args.steps]
    print(table(rows))


if __name__ == "__main__":
    main()
