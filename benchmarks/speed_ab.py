"""Measurements of #17 that hold on a loaded machine, because each compares like with like in one run.

    python benchmarks/speed_ab.py train [--blocks 5] [--steps 15]
        char-LM training tokens/s, minirnn / torch: ``speed_extras.train_throughput`` run ``blocks`` times
        in this process (the two steps alternate inside each block); prints every block and the median.

    python benchmarks/speed_ab.py phases [--steps 40]
        one char-LM training step of ``train_throughput``'s model cut into its phases (embedding, LSTM,
        Linear, loss forward; Linear, LSTM, embedding backward; Adam), each timed around its call, against a
        torch step run right after it; prints each phase's median as a fraction of the median torch step.
        ``--minirnn-only`` runs no torch steps, for ``perf record -D 4000 -g`` of minirnn's steps alone.

    python benchmarks/speed_ab.py products [--repeats 15]
        the 64 recurrent products of one char-LM forward (B=32, H=128), h W_hh^T on W_hh (the product
        transposes its operand: OpenBLAS packs W_hh at every call) against h @ W_hh^T laid out once, in
        compiled loops, alternating; prints the medians and the median ratio per dtype.

    python benchmarks/speed_ab.py cold TREE [TREE ...] [--rounds 5] [--dtype float64]
        a cold compile of one LSTM forward + backward: fresh processes with an empty NUMBA_CACHE_DIR, one per
        tree (a checkout of minirnn, put first on PYTHONPATH) in turn, ``rounds`` times; prints each run and
        the median seconds of the forward, the backward and both per tree.

    python benchmarks/speed_ab.py units [--dtype float64]
        the same cold compile in one fresh process, every function Numba compiles on the way timed around
        ``numba.core.compiler.compile_extra`` (indented: compiled inside its caller's type inference), then
        the two loops' per-pass timers (``overloads[sig].metadata["pipeline_times"]``).

Run it with ``nice -n 15`` and ``OPENBLAS_NUM_THREADS=1`` beside other work; absolute times move with the
load, the ratios (train) and the order between trees run in turn (cold) are what to read.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))

COLD = """
import json, time
import numpy as np
from minirnn import kernels
rng = np.random.default_rng(0); T, B, I, H = 3, 2, 3, 4
dt = np.DTYPE
x, h0, c0 = rng.normal(size=(T, B, I)).astype(dt), np.zeros((B, H), dt), np.zeros((B, H), dt)
p = [rng.normal(size=s).astype(dt) for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]]
t0 = time.perf_counter()
out, h, c, cache = kernels.lstm.forward(x, h0, c0, *p)
t1 = time.perf_counter()
kernels.lstm.backward(np.ones_like(out), h0, c0, cache)
t2 = time.perf_counter()
print(json.dumps({"forward": t1 - t0, "backward": t2 - t1, "total": t2 - t0}))
"""


UNITS = """
import time
import numba.core.compiler as compiler
import numba.core.dispatcher as dispatcher
original, depth, units = compiler.compile_extra, [0], []
def timed(typingctx, targetctx, func, *args, **kwargs):
    depth[0] += 1
    start = time.perf_counter()
    try:
        return original(typingctx, targetctx, func, *args, **kwargs)
    finally:
        depth[0] -= 1
        name = getattr(func, "__module__", None), getattr(func, "__qualname__", func)
        units.append((depth[0], "%s.%s" % name, time.perf_counter() - start))
compiler.compile_extra = dispatcher.compiler.compile_extra = timed
""" + COLD + """
for level, name, seconds in units:
    print("%s%6.2f s  %s" % ("  " * level, seconds, name))
from minirnn.kernels import lstm
for loop in (lstm._forward_loop, lstm._backward_loop):
    for result in loop.dispatcher.overloads.values():
        passes = result.metadata["pipeline_times"]["nopython"]
        top = sorted(((v.run, k.split("_", 1)[1]) for k, v in passes.items()), reverse=True)[:4]
        print(loop.py_func.__name__, result.metadata["timers"], [(k, round(t, 2)) for t, k in top])
"""


def units(dtype):
    """Print what a cold LSTM forward + backward compiles, seconds each, in a fresh process."""
    with tempfile.TemporaryDirectory() as cache:
        env = dict(os.environ, NUMBA_CACHE_DIR=cache)
        done = subprocess.run(
            [sys.executable, "-c", UNITS.replace("DTYPE", dtype)],
            capture_output=True, text=True, env=env, check=True,
        )
    print(done.stdout)


def train(blocks, steps):
    """Median over ``blocks`` of minirnn / torch tokens per second (each block interleaves the two)."""
    import torch

    sys.path.insert(0, HERE)
    from speed_extras import train_throughput

    torch.set_num_threads(1)
    ratios = []
    for k in range(blocks):
        r = train_throughput(torch, steps)
        ratios.append(r["minirnn"] / r["torch"])
        print(
            f"block {k}: minirnn {r['minirnn']:.0f}, torch {r['torch']:.0f} tokens/s, ratio {ratios[-1]:.3f}"
        )
    print(f"median minirnn / torch over {blocks} blocks: {statistics.median(ratios):.3f}")


def phases(steps, with_torch=True, T=64, B=32, V=65, E=32, H=128):
    """Median seconds of each phase of a minirnn char-LM step over the median torch step (same model); with
    ``with_torch=False`` only minirnn's steps run (to profile them alone, e.g. under ``perf record``)."""
    import numpy as np

    from minirnn.models import CharLM
    from minirnn.nn import losses, optim

    data = np.random.default_rng(0).integers(0, V, size=T * B + 1)
    ids, targets = data[:-1].reshape(T, B), data[1:].reshape(T, B)
    lm = CharLM(V, H, cell="lstm", embed_dim=E, dtype=np.float32, seed=0)
    opt = optim.Adam(lm, lr=2e-3)

    def torch_step():
        import torch

        if not models:  # built on the first call, so --minirnn-only never imports torch
            torch.set_num_threads(1)
            layers = [torch.nn.Embedding(V, E), torch.nn.LSTM(E, H), torch.nn.Linear(H, V)]
            models.append(torch.nn.ModuleList(layers))
            models.append(torch.optim.Adam(models[0].parameters(), lr=2e-3))
        t_lm, t_opt = models
        t_ids, t_targets = torch.from_numpy(ids), torch.from_numpy(targets).reshape(-1)
        t_opt.zero_grad()
        logits = t_lm[2](t_lm[1](t_lm[0](t_ids))[0])
        torch.nn.functional.cross_entropy(logits.reshape(-1, V), t_targets).backward()
        t_opt.step()

    names = ["embedding", "LSTM forward", "Linear forward", "loss", "Linear backward", "LSTM backward",
             "embedding backward", "Adam"]
    steps_of = [
        lambda s: s.update(e=lm.embed(ids)),
        lambda s: s.update(out=lm.rnn(s["e"])[0]),
        lambda s: s.update(logits=lm.fc(s["out"])),
        lambda s: s.update(d=losses.softmax_cross_entropy(s["logits"], targets)[1]),
        lambda s: s.update(dout=lm.fc.backward(s["d"])),
        lambda s: s.update(de=lm.rnn.backward(s["dout"])[0]),
        lambda s: lm.embed.backward(s["de"]),
        lambda s: opt.step(),
    ]
    times, torch_times, models = [[] for _ in names], [], []
    for k in range(steps + 3):
        state = {}
        for phase, run in enumerate(steps_of):
            start = time.perf_counter()
            run(state)
            if k >= 3:
                times[phase].append(time.perf_counter() - start)
        start = time.perf_counter()
        if with_torch:
            torch_step()
        if k >= 3:
            torch_times.append(time.perf_counter() - start)
    step = statistics.median(torch_times) if with_torch else 1.0
    print(f"torch step {step * 1e3:.2f} ms (median of {steps}); minirnn phases as fractions of it:")
    for name, t in zip(names, times):
        print(f"  {name:20s} {statistics.median(t) * 1e3:7.2f} ms  {statistics.median(t) / step:.3f}")
    total = sum(statistics.median(t) for t in times)
    print(f"  {'sum':20s} {total * 1e3:7.2f} ms  {total / step:.3f}")


def products(repeats, T=64, B=32, H=128):
    """Median seconds of T products h W_hh^T by ``gemm_nt`` on W_hh (4H, H) and by ``gemm_nn`` on W_hh^T."""
    import numpy as np
    from numba import njit

    from minirnn.kernels import _blas, lstm

    lstm._forward_loop.dispatcher  # binds the BLAS names, as a kernel's first call does

    @njit
    def on_w(h, W, out, n):
        for _ in range(n):
            _blas.gemm_nt(h, W, out)

    @njit
    def on_wt(h, W_t, out, n):
        for _ in range(n):
            _blas.gemm_nn(h, W_t, out)

    rng = np.random.default_rng(0)
    for dtype in (np.float32, np.float64):
        h, W = rng.normal(size=(B, H)).astype(dtype), rng.normal(size=(4 * H, H)).astype(dtype)
        W_t, out = np.ascontiguousarray(W.T), np.empty((B, 4 * H), dtype)
        on_w(h, W, out, 1), on_wt(h, W_t, out, 1)  # compile
        a, b = [], []
        for _ in range(repeats):
            for f, arg, times in ((on_w, W, a), (on_wt, W_t, b)):
                start = time.perf_counter()
                f(h, arg, out, T)
                times.append(time.perf_counter() - start)
        ratio = statistics.median(y / x for x, y in zip(a, b))
        print(f"{np.dtype(dtype).name}: {T} products on W_hh {statistics.median(a) * 1e3:.2f} ms, on W_hh^T "
              f"{statistics.median(b) * 1e3:.2f} ms, median ratio {ratio:.2f}")


def cold(trees, rounds, dtype):
    """Median cold-compile seconds per tree, the trees' fresh processes alternating."""
    runs = {tree: [] for tree in trees}
    for _ in range(rounds):
        for tree in trees:
            with tempfile.TemporaryDirectory() as cache:
                env = dict(os.environ, NUMBA_CACHE_DIR=cache, PYTHONPATH=os.path.abspath(tree))
                done = subprocess.run(
                    [sys.executable, "-c", COLD.replace("DTYPE", dtype)],
                    capture_output=True, text=True, env=env, cwd=tempfile.gettempdir(), check=True,
                )
            runs[tree].append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(tree, runs[tree][-1], flush=True)
    for tree, got in runs.items():
        keys = ("forward", "backward", "total")
        medians = {k: round(statistics.median(r[k] for r in got), 2) for k in keys}
        print(f"median of {rounds} ({dtype}) {tree}: {medians}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="what", required=True)
    p = sub.add_parser("train")
    p.add_argument("--blocks", type=int, default=5)
    p.add_argument("--steps", type=int, default=15)
    p = sub.add_parser("phases")
    p.add_argument("--steps", type=int, default=40)
    p.add_argument("--minirnn-only", action="store_true", help="no torch steps (fractions are then of 1 s)")
    p = sub.add_parser("products")
    p.add_argument("--repeats", type=int, default=15)
    p = sub.add_parser("units")
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    p = sub.add_parser("cold")
    p.add_argument("trees", nargs="+")
    p.add_argument("--rounds", type=int, default=5)
    p.add_argument("--dtype", choices=("float32", "float64"), default="float64")
    args = parser.parse_args()
    if args.what == "train":
        train(args.blocks, args.steps)
    elif args.what == "phases":
        phases(args.steps, with_torch=not args.minirnn_only)
    elif args.what == "units":
        units(args.dtype)
    elif args.what == "products":
        products(args.repeats)
    else:
        cold(args.trees, args.rounds, args.dtype)


if __name__ == "__main__":
    main()
