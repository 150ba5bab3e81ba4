"""Parts of the speed benchmark beyond the layer table: start-up and compile times in fresh processes, peak
memory of
an LSTM forward + backward, and char-LM training throughput against torch. Used by ``benchmarks/speed.py``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time


def _python(code, env=None, timeout=600, args=()):
    result = subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ, **(env or {})),
    )
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
    """import time, a cold compile of the LSTM loops (empty cache folder) and the same from that cache, in
    seconds.

    The cache load is the median of ``loads`` fresh processes, with SciPy importable (as in the test
    environment) and hidden (as after ``pip install minirnn``). The floor beside it: ``import numba`` plus one
    trivial cached ``@njit`` function (``x + 1``), the least any program that calls compiled code pays here.
    """
    result = _python(STARTUP_IMPORT)
    with tempfile.TemporaryDirectory() as cache:
        code = STARTUP_COMPILE.replace("DTYPE", dtype)
        result["cold_compile_s"] = _python(code, {"NUMBA_CACHE_DIR": cache})["seconds"]
        with open(os.path.join(cache, "trivial_njit.py"), "w") as f:
            f.write("import numba\n\n@numba.njit(cache=True)\ndef add_one(x):\n    return x + 1\n")
        env = {"NUMBA_CACHE_DIR": cache, "TRIVIAL_DIR": cache}
        _python(TRIVIAL_NJIT, env)  # compile it once
        for key, script, args in (
            ("cached_s", code, ()),
            ("cached_no_scipy_s", code, ("--no-scipy",)),
            ("numba_floor_s", TRIVIAL_NJIT, ()),
        ):
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
    """Bytes BPTT must keep for one LSTM layer: hs, cs (T+1) B H each; gates T B 4H; tanh(c) T B H; out T B
    H."""
    return itemsize * (2 * (T + 1) * B * H + T * B * 4 * H + T * B * H + T * B * H)


def measure_memory(size, dims, dtype, backend="auto"):
    """Peak extra resident memory of one LSTM forward + backward (fresh process) against stored_activations.

    ``dims`` = (T, B, I, H) of the size called ``size``.
    """
    T, B, I, H = dims
    code = MEMORY.replace("SIZE", repr(tuple(dims))).replace("DTYPE", dtype).replace("BACKEND", backend)
    r = _python(code)
    itemsize = 4 if dtype == "float32" else 8
    stored = stored_activations(T, B, I, H, itemsize)
    grads = itemsize * (
        T * B * I + 4 * H * (I + H + 2)
    )  # dx and the weight gradients (da reuses the gate buffer)
    extra = max(r["peak"] - r["before"], 0)
    return {
        "size": size,
        "dtype": dtype,
        "backend": backend,
        "stored_MB": stored / 1e6,
        "grads_MB": grads / 1e6,
        "peak_extra_MB": extra / 1e6,
        "ratio": extra / stored,
    }


# -- char-level training
# -----------------------------------------------------------------------------------------------
def train_throughput(torch, steps, H=128, T=64, B=32, V=65, E=32, warmup=3):
    """Tokens per second of truncated-BPTT training of a 1-layer char LSTM LM (float32, Adam), minirnn vs
    torch.

    It is long because it builds the same model twice, minirnn's and torch's, side by side, so the two
    training steps can be read against each other.
    """
    import numpy as np

    from minirnn.models import CharLM
    from minirnn.nn import losses, optim

    rng = np.random.default_rng(0)
    data = rng.integers(0, V, size=(steps + warmup + 1) * T * B + 1)
    batches = [
        (
            data[k * T * B : (k + 1) * T * B].reshape(T, B),
            data[k * T * B + 1 : (k + 1) * T * B + 1].reshape(T, B),
        )
        for k in range(steps + warmup)
    ]
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
                self.embed, self.rnn, self.fc = (
                    torch.nn.Embedding(V, E),
                    torch.nn.LSTM(E, H),
                    torch.nn.Linear(H, V),
                )

            def forward(self, ids):
                return self.fc(self.rnn(self.embed(ids))[0])

        tlm = TorchLM()
        topt = torch.optim.Adam(tlm.parameters(), lr=2e-3)

        def step_torch(ids, targets):
            topt.zero_grad()
            logits = tlm(torch.from_numpy(ids))
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, V), torch.from_numpy(targets).reshape(-1)
            )
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
