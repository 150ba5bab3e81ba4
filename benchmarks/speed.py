"""Speed of minirnn against PyTorch CPU: ``python benchmarks/speed.py`` or ``minirnn bench`` (which runs this file).

    python benchmarks/speed.py                      # everything (about 10-20 minutes on 2 cores)
    python benchmarks/speed.py --sizes small medium --train-steps 0 --no-memory

What it measures, each in one run so that the ratios compare like with like on a noisy machine:

* layers: forward + backward of RNN, LSTM and GRU (1 layer, dout = ones) for float32 and float64 at three sizes,
  for minirnn's ``numba``, ``numpy`` and ``auto`` backends and ``torch.nn`` (same weights, same thread count);
  contenders interleaved block by block (timeit-style blocks of back-to-back calls, so caches are warm as in a
  training loop), medians after warm-up; ratios are minirnn time / torch time;
* the GEMM floor: 6 T B G H (I + H) flops per forward + backward, over this machine's large-GEMM rate;
* start-up: ``import minirnn``, a cold compile of one cell's loops for one dtype, and the same from Numba's cache;
* memory: peak extra memory of an LSTM forward + backward at the large size against what BPTT must store;
* training: tokens per second of a character LSTM language model (H=128, seq 64, B=32, float32), minirnn and torch.

Threads: BLAS thread pools (NumPy's OpenBLAS, which the compiled loops call too, and SciPy's if it is loaded) are set
through the environment before NumPy is imported (``--threads``, default 1), and torch gets ``torch.set_num_threads``
with the same number. Without torch (it is only in the ``test`` extra) the minirnn backends are timed and the ratios left empty.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))   # this checkout's minirnn

SIZES = {                                  # name: (T, B, I, H)
    "small": (100, 4, 8, 16),
    "medium": (100, 32, 32, 128),
    "large": (100, 64, 128, 512),
    "tiny": (5, 2, 3, 4),                  # for the smoke test only
}
CELLS = ("rnn", "lstm", "gru")
GATES = {"rnn": 1, "lstm": 4, "gru": 3}
BACKENDS = ("numba", "numpy", "auto")
TARGETS = {"small": (0.5, 0.5), "medium": (1.0, 1.5), "large": (1.3, 1.8)}     # (float64, float32) ratio to torch
THREAD_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "NUMBA_NUM_THREADS")


def parse_args(argv=None):
    """The benchmark's command line (``minirnn bench --help``): sizes, cells, dtypes, repeats, threads, output folder."""
    p = argparse.ArgumentParser(prog="minirnn bench", description=__doc__.split("\n\n")[0])
    p.add_argument("--sizes", nargs="+", default=["small", "medium", "large"], choices=list(SIZES))
    p.add_argument("--cells", nargs="+", default=list(CELLS), choices=CELLS)
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    p.add_argument("--backends", nargs="+", default=list(BACKENDS), choices=BACKENDS)
    p.add_argument("--reps", type=int, default=15, help="timed runs per contender (default 15; large size: a third)")
    p.add_argument("--warmup", type=int, default=2, help="untimed runs per contender first (default 2)")
    p.add_argument("--threads", type=int, default=1, help="BLAS and torch threads (default 1)")
    p.add_argument("--out", default=os.path.join("benchmarks", "results"), help="folder for speed.json and speed.png")
    p.add_argument("--train-steps", type=int, default=20, help="timed steps of the char-LM benchmark (0: skip)")
    p.add_argument("--no-torch", action="store_true", help="do not time torch even if it is installed")
    p.add_argument("--no-startup", action="store_true", help="skip the start-up and compile measurements")
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--no-plot", action="store_true", help="do not draw speed.png")
    return p.parse_args(argv)


def set_threads(n):
    """Fix every BLAS pool to n threads; must run before NumPy is imported (else a subprocess is needed)."""
    for var in THREAD_VARS:
        os.environ[var] = str(n)


# -- timing ------------------------------------------------------------------------------------------------------------
def flops(cell, T, B, I, H):
    """Forward + backward GEMM flops: x W_ih^T, h W_hh^T (forward); dx, dh, dW_ih, dW_hh (backward): 6 T B GH (I+H)."""
    return 6 * T * B * GATES[cell] * H * (I + H)


def make_contenders(cell, dtype, T, B, I, H, backends, torch):
    """{name: run()} where run() does one forward + backward; all contenders share weights and input."""
    import numpy as np

    from minirnn import nn as layers

    cls = {"rnn": layers.RNN, "lstm": layers.LSTM, "gru": layers.GRU}[cell]
    x = np.random.default_rng(0).normal(size=(T, B, I)).astype(dtype)
    contenders = {}
    for backend in backends:
        layer = cls(I, H, dtype=dtype, seed=0, backend=backend)
        dout = np.ones((T, B, H), dtype)

        def run(layer=layer, dout=dout):
            layer(x)
            layer.backward(dout)
        contenders[backend] = run
    if torch is not None:
        tdtype = torch.float32 if dtype == np.float32 else torch.float64
        module = {"rnn": torch.nn.RNN, "lstm": torch.nn.LSTM, "gru": torch.nn.GRU}[cell](I, H).to(tdtype)
        with torch.no_grad():
            for name, p in cls(I, H, dtype=dtype, seed=0).params.items():
                getattr(module, name).copy_(torch.from_numpy(p))
        tx = torch.from_numpy(x).requires_grad_(True)

        def run_torch():
            out, _ = module(tx)
            out.backward(torch.ones_like(out))
        contenders["torch"] = run_torch
    return contenders


def time_interleaved(contenders, reps, warmup, block_s=0.02):
    """Median milliseconds per call, per contender.

    Each round runs every contender in turn; a contender's turn is a block of ``number`` back-to-back calls, timed
    together, as ``python -m timeit`` does. ``number`` is set in the warm-up so that a block lasts about ``block_s``
    (1 for calls longer than that). Why blocks: right after another contender ran, the first call finds its data and
    code evicted from the caches; measured here at the small size, an RNN call that takes 0.25 ms warm took 0.7-1.6 ms
    just after a torch call. A training loop calls the same layer again and again with warm caches, so that is what
    we time, for every contender alike.
    """
    import numpy as np

    numbers = {}
    for name, run in contenders.items():
        for _ in range(warmup):
            run()
        numbers[name] = max(1, int(block_s / max(_timed(run), 1e-9)))
    times = {name: [] for name in contenders}
    for _ in range(reps):
        for name, run in contenders.items():
            number = numbers[name]
            start = time.perf_counter()
            for _ in range(number):
                run()
            times[name].append((time.perf_counter() - start) / number)
    return {name: float(np.median(t)) * 1e3 for name, t in times.items()}


def gemm_rate(dtype, n=1024, reps=5):
    """This machine's large-GEMM rate in GFLOP/s (best of reps), the denominator of the floor."""
    import numpy as np

    a = np.random.default_rng(0).normal(size=(n, n)).astype(dtype)
    a @ a
    best = min(_timed(lambda: a @ a) for _ in range(reps))
    return 2 * n ** 3 / best / 1e9


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


# -- start-up, memory --------------------------------------------------------------------------------------------------
def _python(code, env=None, timeout=600, args=()):
    result = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=timeout,
                            env=dict(os.environ, **(env or {})))
    if result.returncode != 0:
        raise RuntimeError(result.stderr[-2000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


STARTUP_IMPORT = """
import json, time
t = time.perf_counter(); import minirnn; t = time.perf_counter() - t
import sys
print(json.dumps({"import_s": t, "numba_imported": "numba" in sys.modules}))
"""

STARTUP_COMPILE = """
import sys
if "--no-scipy" in sys.argv:       # as after `pip install minirnn`, which does not install SciPy
    sys.modules["scipy"] = None    # (with SciPy installed, `import numba` imports its BLAS: about 0.3 s)
import json, time, numpy as np
from minirnn import kernels
rng = np.random.default_rng(0); T, B, I, H = 3, 2, 3, 4
dt = np.DTYPE
x, h0, c0 = rng.normal(size=(T, B, I)).astype(dt), np.zeros((B, H), dt), np.zeros((B, H), dt)
p = [rng.normal(size=s).astype(dt) for s in [(4 * H, I), (4 * H, H), (4 * H,), (4 * H,)]]
t = time.perf_counter()
out, h, c, cache = kernels.lstm.forward(x, h0, c0, *p)
kernels.lstm.backward(np.ones_like(out), h0, c0, cache)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


TRIVIAL_NJIT = """
import sys
sys.modules["scipy"] = None
import json, os, time
t = time.perf_counter()
import numba
sys.path.insert(0, os.environ["TRIVIAL_DIR"])
from trivial_njit import add_one
add_one(1.0)
print(json.dumps({"seconds": time.perf_counter() - t}))
"""


def measure_startup(dtype="float32", loads=3):
    """import time, a cold compile of the LSTM loops (empty cache folder) and the same from that cache, in seconds.

    The cache load is the median of ``loads`` fresh processes, with SciPy importable (as in the test environment)
    and hidden (as after ``pip install minirnn``). The floor beside it: ``import numba`` plus one trivial cached
    ``@njit`` function (``x + 1``), the least any program that calls compiled code pays here.
    """
    result = _python(STARTUP_IMPORT)
    with tempfile.TemporaryDirectory() as cache:
        code = STARTUP_COMPILE.replace("DTYPE", dtype)
        result["cold_compile_s"] = _python(code, {"NUMBA_CACHE_DIR": cache})["seconds"]
        with open(os.path.join(cache, "trivial_njit.py"), "w") as f:
            f.write("import numba\n\n@numba.njit(cache=True)\ndef add_one(x):\n    return x + 1\n")
        env = {"NUMBA_CACHE_DIR": cache, "TRIVIAL_DIR": cache}
        _python(TRIVIAL_NJIT, env)                                          # compile it once
        for key, script, args in (("cached_s", code, ()), ("cached_no_scipy_s", code, ("--no-scipy",)),
                                  ("numba_floor_s", TRIVIAL_NJIT, ())):
            runs = [_python(script, env, args=args)["seconds"] for _ in range(loads)]
            result[key] = sorted(runs)[len(runs) // 2]
    result["dtype"] = dtype
    return result


MEMORY = """
import json, numpy as np
from minirnn import nn as layers
T, B, I, H = SIZE
dt = np.DTYPE
small = layers.LSTM(I, H, dtype=dt, backend="BACKEND")                 # compile (or load) before measuring
small(np.zeros((2, 1, I), dt)); small.backward(np.ones((2, 1, H), dt))
layer = layers.LSTM(I, H, dtype=dt, seed=0, backend="BACKEND")
x = np.random.default_rng(0).normal(size=(T, B, I)).astype(dt)
dout = np.ones((T, B, H), dt)
def status(key):
    with open("/proc/self/status") as f:
        return next(int(line.split()[1]) * 1024 for line in f if line.startswith(key))
with open("/proc/self/clear_refs", "w") as f:          # reset the peak (VmHWM) left by compiling
    f.write("5")
before = status("VmRSS:")
out, _ = layer(x)
dx, _ = layer.backward(dout)
peak = status("VmHWM:")
print(json.dumps({"before": before, "peak": peak}))
"""


def stored_activations(T, B, I, H, itemsize):
    """Bytes BPTT must keep for one LSTM layer: hs, cs (T+1) B H each; gates T B 4H; tanh(c) T B H; out T B H."""
    return itemsize * (2 * (T + 1) * B * H + T * B * 4 * H + T * B * H + T * B * H)


def measure_memory(size, dtype, backend="auto"):
    """Peak extra resident memory of one LSTM forward + backward (fresh process) against stored_activations."""
    T, B, I, H = SIZES[size]
    code = MEMORY.replace("SIZE", repr(SIZES[size])).replace("DTYPE", dtype).replace("BACKEND", backend)
    r = _python(code)
    itemsize = 4 if dtype == "float32" else 8
    stored = stored_activations(T, B, I, H, itemsize)
    grads = itemsize * (T * B * I + 4 * H * (I + H + 2))      # dx and the weight gradients (da reuses the gate buffer)
    extra = max(r["peak"] - r["before"], 0)
    return {"size": size, "dtype": dtype, "backend": backend, "stored_MB": stored / 1e6, "grads_MB": grads / 1e6,
            "peak_extra_MB": extra / 1e6, "ratio": extra / stored}


# -- char-level training -----------------------------------------------------------------------------------------------
def train_throughput(torch, steps, H=128, T=64, B=32, V=65, E=32, warmup=3):
    """Tokens per second of truncated-BPTT training of a 1-layer char LSTM LM (float32, Adam), minirnn vs torch."""
    import numpy as np

    from minirnn.models import CharLM
    from minirnn.nn import losses, optim

    rng = np.random.default_rng(0)
    data = rng.integers(0, V, size=(steps + warmup + 1) * T * B + 1)
    batches = [(data[k * T * B:(k + 1) * T * B].reshape(T, B), data[k * T * B + 1:(k + 1) * T * B + 1].reshape(T, B))
               for k in range(steps + warmup)]
    result = {}
    lm = CharLM(V, H, cell="lstm", embed_dim=E, dtype=np.float32, seed=0)
    opt = optim.Adam(lm, lr=2e-3)

    def step_minirnn(ids, targets):
        logits, _ = lm(ids)
        loss, dlogits = losses.softmax_cross_entropy(logits, targets)
        lm.backward(dlogits)
        opt.step()

    contenders = {"minirnn": step_minirnn}
    if torch is not None:
        class TorchLM(torch.nn.Module):
            def __init__(self):
                super().__init__()
                self.embed, self.rnn, self.fc = torch.nn.Embedding(V, E), torch.nn.LSTM(E, H), torch.nn.Linear(H, V)

            def forward(self, ids):
                return self.fc(self.rnn(self.embed(ids))[0])
        tlm = TorchLM()
        topt = torch.optim.Adam(tlm.parameters(), lr=2e-3)

        def step_torch(ids, targets):
            topt.zero_grad()
            logits = tlm(torch.from_numpy(ids))
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, V), torch.from_numpy(targets).reshape(-1))
            loss.backward()
            topt.step()
        contenders["torch"] = step_torch
    times = {name: [] for name in contenders}
    for k, (ids, targets) in enumerate(batches):
        for name, step in contenders.items():
            start = time.perf_counter()
            step(ids, targets)
            if k >= warmup:
                times[name].append(time.perf_counter() - start)
    for name, t in times.items():
        result[name] = T * B / float(np.median(t)) if t else float("nan")
    return result


# -- report ------------------------------------------------------------------------------------------------------------
def plot(rows, path):
    """Bar chart: time relative to torch per size x cell x dtype, one bar per backend, the target dashed (log scale)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rows = [r for r in rows if r.get("torch_ms")]
    if not rows:
        return False
    labels = [f"{r['size']}\n{r['cell']} {r['dtype'][5:]}" for r in rows]
    backends = [b for b in BACKENDS if b in rows[0]["ms"]]
    fig, ax = plt.subplots(figsize=(max(8, 0.55 * len(rows)), 4))
    width = 0.8 / max(len(backends), 1)
    for k, backend in enumerate(backends):
        ratios = [r["ms"][backend] / r["torch_ms"] for r in rows]
        ax.bar(np.arange(len(rows)) + (k - (len(backends) - 1) / 2) * width, ratios, width, label=f"minirnn {backend}")
    ax.axhline(1.0, color="k", lw=1, label="torch (= 1)")
    targets = [(k, r["target"]) for k, r in enumerate(rows) if r.get("target")]
    if targets:                                                   # the ratio target over each group of bars
        ax.hlines([t for _, t in targets], [k - 0.45 for k, _ in targets], [k + 0.45 for k, _ in targets],
                  colors="crimson", linestyles="--", lw=1.2, label="target")
    ax.set_yscale("log")
    ax.set_xticks(np.arange(len(rows)), labels, fontsize=7)
    ax.set_ylabel("time / torch time (lower is faster)")
    ax.set_title("forward + backward, T=100 (float32 / float64): minirnn relative to torch.nn on CPU")
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return True


def main(argv=None):
    """Run the speed benchmark; print the table, write JSON and the chart into ``--out``; returns the exit code."""
    args = parse_args(argv)
    if "numpy" in sys.modules:
        if os.environ.get("OPENBLAS_NUM_THREADS") != str(args.threads):       # BLAS pools are fixed at import
            env = dict(os.environ, **{v: str(args.threads) for v in THREAD_VARS})
            return subprocess.call([sys.executable, "-m", "minirnn.bench", *(argv if argv is not None
                                                                             else sys.argv[1:])], env=env)
    else:
        set_threads(args.threads)
    import numpy as np

    try:
        if args.no_torch:
            raise ImportError
        import torch
        torch.set_num_threads(args.threads)
    except ImportError:
        torch = None
        print("torch is not installed (or --no-torch): timing minirnn's backends only, no ratios. "
              "pip install 'minirnn[test]' for the comparison.")
    os.makedirs(args.out, exist_ok=True)
    report = {"threads": args.threads, "numpy": np.__version__, "torch": getattr(torch, "__version__", None),
              "cpu_count": os.cpu_count(), "rows": []}
    if not args.no_startup:
        s = measure_startup()
        report["startup"] = s
        print(f"start-up: import minirnn {s['import_s']:.2f} s (Numba imported: {s['numba_imported']}); "
              f"LSTM forward+backward float32, cold compile {s['cold_compile_s']:.1f} s, from the cache "
              f"{s['cached_no_scipy_s']:.2f} s ({s['cached_s']:.2f} s with SciPy installed)   "
              f"(targets 0.5 s, 10 s, 0.5 s)\n          floor of any Numba program here: import numba + one trivial "
              f"cached @njit call = {s['numba_floor_s']:.2f} s")
    rates = {dt: gemm_rate(np.dtype(dt)) for dt in args.dtypes}
    report["gemm_gflops"] = rates
    print("large-GEMM rate (1024^3, numpy, %d thread(s)): %s" % (
        args.threads, ", ".join(f"{dt} {r:.0f} GFLOP/s" for dt, r in rates.items())))
    header = f"{'size':<7}{'cell':<5}{'dtype':<8}" + "".join(f"{b + ' ms':>11}" for b in args.backends)
    header += f"{'torch ms':>10}" + "".join(f"{b + '/torch':>13}" for b in args.backends)
    header += f"{'target':>8}{'floor ms':>10}{'auto%floor':>11}"
    print("\nforward + backward, medians of interleaved runs (ratio = minirnn / torch, lower is faster)")
    print(header)
    for size in args.sizes:
        T, B, I, H = SIZES[size]
        reps = max(3, args.reps // 3) if size == "large" else args.reps
        for cell in args.cells:
            for dt in args.dtypes:
                contenders = make_contenders(cell, np.dtype(dt).type, T, B, I, H, args.backends, torch)
                ms = time_interleaved(contenders, reps, args.warmup)
                torch_ms = ms.pop("torch", None)
                floor = flops(cell, T, B, I, H) / (rates[dt] * 1e9) * 1e3
                target = TARGETS.get(size, (None, None))[0 if dt == "float64" else 1]
                row = {"size": size, "T": T, "B": B, "I": I, "H": H, "cell": cell, "dtype": dt, "ms": ms,
                       "torch_ms": torch_ms, "floor_ms": floor, "target": target,
                       "ratios": {b: ms[b] / torch_ms for b in ms} if torch_ms else None}
                report["rows"].append(row)
                line = f"{size:<7}{cell:<5}{dt:<8}" + "".join(f"{ms[b]:11.2f}" for b in args.backends)
                line += f"{torch_ms:10.2f}" if torch_ms else f"{'-':>10}"
                line += "".join(f"{row['ratios'][b]:13.2f}" if torch_ms else f"{'-':>13}" for b in args.backends)
                best = ms.get("auto", min(ms.values()))
                met = "" if not (torch_ms and target) else (" ok" if best / torch_ms <= target else " MISS")
                line += f"{'<=' + str(target) + met if target else '':>8}{floor:10.2f}{100 * floor / best:10.0f}%"
                print(line, flush=True)
    print("floor = 6 T B G H (I+H) GEMM flops / the large-GEMM rate above; auto%floor = floor / auto's time.")
    small = [r for r in report["rows"] if r["size"] == "small" and "numba" in r["ms"] and "numpy" in r["ms"]]
    if small:
        speedups = [r["ms"]["numpy"] / r["ms"]["numba"] for r in small]
        print(f"numba vs numpy backend at the small size: {min(speedups):.1f}x to {max(speedups):.1f}x faster "
              f"(target >= 4x)")
    if not args.no_memory:
        size = "large" if "large" in args.sizes else args.sizes[0]
        report["memory"] = []
        T, B, I, H = SIZES[size]
        print(f"\npeak memory of one LSTM forward+backward, {size} (T={T}, B={B}, I={I}, H={H}); stored activations "
              f"= itemsize * (2 (T+1) B H [h, c] + T B 4H [gates] + T B H [tanh c] + T B H [out])")
        for dt in args.dtypes:
            m = measure_memory(size, dt)
            report["memory"].append(m)
            print(f"  {dt}: stored {m['stored_MB']:.1f} MB, gradients dx, dW {m['grads_MB']:.1f} MB (da is written "
                  f"over the gates), peak extra {m['peak_extra_MB']:.1f} MB = {m['ratio']:.2f}x stored (target <= 1.5x)")
    if args.train_steps > 0:
        tp = train_throughput(torch, args.train_steps)
        report["train"] = tp
        line = ", ".join(f"{k} {v:,.0f} tokens/s" for k, v in tp.items())
        ratio = f" (minirnn / torch = {tp['minirnn'] / tp['torch']:.2f}, target >= 1)" if "torch" in tp else ""
        print(f"\nchar-LM training (1-layer LSTM, H=128, seq 64, B=32, float32, Adam): {line}{ratio}")
    with open(os.path.join(args.out, "speed.json"), "w") as f:
        json.dump(report, f, indent=1)
    print(f"\nwrote {os.path.join(args.out, 'speed.json')}", end="")
    if not args.no_plot and plot(report["rows"], os.path.join(args.out, "speed.png")):
        print(f" and {os.path.join(args.out, 'speed.png')}", end="")
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main())
