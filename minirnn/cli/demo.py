"""``minirnn demo``: gradient checks of every cell, the backends side by side, a short training run and the
vanishing-gradient figure."""

from __future__ import annotations

import numpy as np

from ..nn.optim import Adam
from ..training import loop as train
from ..training import recipes as experiments


def add_parser(sub) -> None:
    """Declare ``demo`` on the ``minirnn`` subparsers."""
    demo = sub.add_parser("demo", help="gradient checks of every cell and the backends side by side")
    demo.add_argument("--seed", type=int, default=0, help="seed for weights and inputs (default 0)")
    demo.add_argument(
        "--out", default="minirnn_demo", help="folder for the demo's figure (default minirnn_demo)"
    )
    demo.set_defaults(func=cmd_demo)


def cmd_demo(args) -> int:
    """Gradient-check every cell and a few layer configurations, then show the backends agree."""
    import gradcheck
    from ..analysis import gradient_suite as gradchecks
    from .vanishing import _make_out

    _make_out(args.out)  # a bad --out is one sentence now, not after the checks
    from ..nn import recurrent as layers

    print("minirnn demo: every gradient of every cell against central differences (float64, eps=1e-6)\n")
    print(
        "Loss L = sum(out * G) + sum(h_n * G_h) [+ sum(c_n * G_c)] with fixed random G; each tensor checked "
        "alone.\n"
    )
    reports = gradchecks.run_suite(
        num_layers=(1,), bidirectional=(False,), lengths=(False, True), seed=args.seed
    )
    print(gradcheck.summary_table(reports))
    failed = [r for r in reports if not r.passed]
    print()
    print("Backends (same weights, same input): the readable NumPy loop and the compiled Numba loop")
    rng = np.random.default_rng(args.seed)
    x = rng.normal(size=(20, 4, 8))
    for cls in (layers.RNN, layers.LSTM, layers.GRU):
        outs = {}
        for backend in ("numpy", "numba"):
            layer = cls(8, 16, num_layers=2, bidirectional=True, seed=args.seed, backend=backend)
            out = layer(x, lengths=[20, 15, 9, 1])[0]
            dx = layer.backward(np.ones_like(out))[0]
            outs[backend] = (out, dx, layer.grads)
        (o1, d1, g1), (o2, d2, g2) = outs["numpy"], outs["numba"]
        diff = max(np.abs(o1 - o2).max(), np.abs(d1 - d2).max(), *(np.abs(g1[k] - g2[k]).max() for k in g1))
        print(
            f"  {cls.__name__:<5} num_layers=2 bidirectional lengths=[20, 15, 9, 1]: "
            f"max |numpy - numba| = {diff:.1e}"
        )
    print()
    demo_training(seed=args.seed)
    print()
    from ..analysis import vanishing

    print("Vanishing gradients: how much of the gradient of a loss on step 99 reaches each earlier step")
    vanishing.run(args.out, experiments=("profiles",), seeds=4, progress=False)
    print(f"  figure: {args.out}/profiles.png")
    print()
    print("all gradient checks passed" if not failed else f"{len(failed)} gradient check(s) FAILED")
    return 1 if failed else 0


def demo_training(seed=0, steps=300) -> float:
    """The training part of ``minirnn demo``: a GRU learns the adding problem at T=20; returns the test
    MSE."""
    exp = experiments.adding("gru", T=20, hidden=32, seed=seed, n_test=500)
    print(
        f"Training: a GRU (H=32) learns the adding problem at T=20 for {steps} steps (Adam, lr 3e-3); "
        f"baseline '{exp.baseline[0]}' has test MSE {exp.baseline[1]:.3f}"
    )
    history = train.fit(
        exp.model,
        Adam(exp.model, lr=3e-3),
        exp.train_step,
        steps,
        rng=exp.rng,
        evaluate=exp.evaluate,
        eval_every=max(1, steps // 3),
        clip_norm=1.0,
        desc="adding gru",
    )
    for step, value in zip(history["eval_step"], history["eval"]["test_mse"]):
        print(f"  step {step:>4}: test_mse={value:.4f}")
    return history["eval"]["test_mse"][-1]
