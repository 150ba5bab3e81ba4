"""The contenders of the speed benchmark and how they are timed: minirnn's backends, torch.nn at its best
(oneDNN on, its default algorithm) and JAX (``lax.scan`` under ``jit``, warmed up), each doing one forward +
backward of one layer
on the same weights and input; plus the machine facts every result file records (load, versions, threads)."""

from __future__ import annotations

import os
import platform
import sys
import time

import numpy as np

CELLS = ("rnn", "lstm", "gru")


def flops(cell, T, B, I, H):
    """Forward + backward GEMM flops: x W_ih^T, h W_hh^T (forward); dx, dh, dW_ih, dW_hh (backward): 6 T B GH
    (I+H)."""
    from minirnn.cells import registry

    return 6 * T * B * registry.get(cell).num_gates * H * (I + H)


def _weights(cell, dtype, I, H):
    """The minirnn layer's parameters (PyTorch names) for seed 0: every contender uses these."""
    from minirnn.nn.recurrent import layer_class

    return layer_class(cell)(I, H, dtype=dtype, seed=0).params


def reference_grad(cell, dtype, x, H):
    """minirnn's dL/dW_hh for L = sum(out) on the shared weights: what every other contender must
    reproduce."""
    from minirnn.nn.recurrent import layer_class

    layer = layer_class(cell)(x.shape[2], H, dtype=dtype, seed=0, backend="numpy")
    out, _ = layer(x)
    layer.backward(np.ones_like(out))
    return layer.grads["weight_hh_l0"]


def _check_agrees(name, grad, reference):
    """Refuse to time a contender that computes something else (a wrong twin would make a meaningless
    ratio)."""
    scale = np.abs(reference).max() + 1e-30
    err = float(np.abs(np.asarray(grad, dtype=np.float64) - reference).max() / scale)
    tol = 1e-4 if reference.dtype == np.float32 else 1e-9
    if not err <= tol:
        raise RuntimeError(
            f"{name}: its dL/dW_hh differs from minirnn's by {err:.1e} (relative), more than {tol:g}"
        )
    return err


def minirnn_contenders(cell, dtype, x, H, backends):
    """{backend: run()} for minirnn's layers; run() is one forward + backward with dout = ones."""
    from minirnn.nn.recurrent import layer_class

    T, B, I = x.shape
    out = {}
    for backend in backends:
        layer = layer_class(cell)(I, H, dtype=dtype, seed=0, backend=backend)
        dout = np.ones((T, B, H), dtype)

        def run(layer=layer, dout=dout):
            layer(x)
            layer.backward(dout)

        out[backend] = run
    return out


def torch_contender(torch, cell, dtype, x, H):
    """run() for ``torch.nn.<cell>`` on the same weights: forward, then backward of ``out`` with ones."""
    from minirnn.cells import registry

    T, B, I = x.shape
    tdtype = torch.float32 if dtype == np.float32 else torch.float64
    module = getattr(torch.nn, registry.get(cell).torch_class)(I, H).to(tdtype)
    with torch.no_grad():
        for name, p in _weights(cell, dtype, I, H).items():
            getattr(module, name).copy_(torch.from_numpy(p))
    tx = torch.from_numpy(x).requires_grad_(True)

    def run():
        out, _ = module(tx)
        out.backward(torch.ones_like(out))

    run()
    _check_agrees("torch", module.weight_hh_l0.grad.numpy(), reference_grad(cell, dtype, x, H))
    module.zero_grad()
    return run


def _jax_steps():
    """One step of each cell in JAX, PyTorch's equations: ``step(p, (h, c), x_proj) -> ((h, c), h)``."""
    import jax
    import jax.numpy as jnp

    sig = jax.nn.sigmoid

    def rnn(p, carry, xp):
        h = jnp.tanh(xp + carry[0] @ p["weight_hh"].T + p["bias_hh"])
        return (h, carry[1]), h

    def lstm(p, carry, xp):
        i, f, g, o = jnp.split(xp + carry[0] @ p["weight_hh"].T + p["bias_hh"], 4, axis=-1)
        c = sig(f) * carry[1] + sig(i) * jnp.tanh(g)
        h = sig(o) * jnp.tanh(c)
        return (h, c), h

    def gru(p, carry, xp):
        xr, xz, xn = jnp.split(xp, 3, axis=-1)
        hr, hz, hn = jnp.split(carry[0] @ p["weight_hh"].T + p["bias_hh"], 3, axis=-1)
        r, z = sig(xr + hr), sig(xz + hz)
        h = (1 - z) * jnp.tanh(xn + r * hn) + z * carry[0]
        return (h, carry[1]), h

    return {"rnn": rnn, "lstm": lstm, "gru": gru}


def jax_contender(cell, dtype, x, H):
    """run() for the same cell written with ``jax.lax.scan`` and differentiated by ``jax.grad``, under
    ``jax.jit``.

    The gradient of ``sum(out)`` (dout = ones) with respect to every weight and to x is one forward +
    backward; the function is compiled and run once before any timing.
    """
    import jax
    import jax.numpy as jnp

    jax.config.update("jax_enable_x64", True)
    T, B, I = x.shape
    step = _jax_steps()[cell]

    def loss(p, xs):
        xp = xs @ p["weight_ih"].T + p["bias_ih"]  # (T, B, GH): one GEMM
        zeros = jnp.zeros((B, H), xs.dtype)
        _, out = jax.lax.scan(lambda carry, xt: step(p, carry, xt), (zeros, zeros), xp)
        return jnp.sum(out)

    grad = jax.jit(jax.grad(loss, argnums=(0, 1)))
    params = {k.rsplit("_", 1)[0]: jnp.asarray(v) for k, v in _weights(cell, dtype, I, H).items()}
    xs = jnp.asarray(x)

    def run():
        return jax.block_until_ready(grad(params, xs))

    _check_agrees("jax", run()[0]["weight_hh"], reference_grad(cell, dtype, x, H))
    return run


def time_interleaved(contenders, reps, warmup, block_s=0.02):
    """Median milliseconds per call, per contender.

    Each round runs every contender in turn; a contender's turn is one untimed call, then a block of
    ``number`` back-to-back calls timed together, as ``python -m timeit`` does. ``number`` is set in the
    warm-up so that a block lasts about ``block_s`` (1 for calls longer than that). A training loop calls the
    same layer again and again with warm caches, so that is what we time, for every contender alike: the
    untimed call refills the caches the other contenders' turns evicted (without it, a call longer than
    ``block_s`` was timed cold: the medium float32 LSTM took 19.7 ms in its turn and 15.0 ms back to back).
    Returns ``{name: (median, min, max)}`` in milliseconds.
    """
    numbers = {}
    for name, run in contenders.items():
        for _ in range(warmup):
            run()
        numbers[name] = max(1, int(block_s / max(_timed(run), 1e-9)))
    times = {name: [] for name in contenders}
    for _ in range(reps):
        for name, run in contenders.items():
            number = numbers[name]
            run()  # untimed: this contender's data back in the caches
            start = time.perf_counter()
            for _ in range(number):
                run()
            times[name].append((time.perf_counter() - start) / number)
    return {name: tuple(float(f(t)) * 1e3 for f in (np.median, np.min, np.max)) for name, t in times.items()}


def gemm_rate(dtype, n=1024, reps=5):
    """This machine's large-GEMM rate in GFLOP/s (best of reps) on the loops' BLAS (MKL or OpenBLAS), the
    denominator of the floor."""
    from minirnn.kernels import _blas

    _blas.register()
    a = np.random.default_rng(0).normal(size=(n, n)).astype(dtype)
    _blas.matmul(a, a)
    best = min(_timed(lambda: _blas.matmul(a, a)) for _ in range(reps))
    return 2 * n**3 / best / 1e9


def _timed(f):
    start = time.perf_counter()
    f()
    return time.perf_counter() - start


def machine(threads, torch=None, jax=None):
    """What a result depends on: load averages, CPU count, library versions, BLAS and torch thread
    settings."""
    import numba

    info = {
        "load_avg_1_5_15": list(os.getloadavg()),
        "cpu_count": os.cpu_count(),
        "threads": threads,
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "thread_env": {
            k: os.environ.get(k)
            for k in (
                "OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_CORETYPE",
                "XLA_FLAGS", "MINIRNN_BLAS",
            )
        },
    }
    try:
        blas = np.show_config(mode="dicts")["Build Dependencies"]["blas"]
        info["numpy_blas"] = f"{blas.get('name')} {blas.get('version')}"
    except Exception:  # older NumPy: no dict form
        info["numpy_blas"] = None
    from minirnn.kernels import _blas

    _blas.register()  # MINIRNN_BLAS decides: MKL where installed, else NumPy's OpenBLAS
    info["loops_blas"] = _blas.bound_to()
    try:
        from threadpoolctl import threadpool_info

        mkl = [lib for lib in threadpool_info() if lib.get("internal_api") == "mkl"]
        info["mkl"] = f"{mkl[0]['version']} ({mkl[0].get('threading_layer')} threads)" if mkl else None
    except Exception:  # threadpoolctl missing or unable to inspect the process
        info["mkl"] = None
    if torch is not None:
        info.update(
            torch=torch.__version__,
            torch_threads=torch.get_num_threads(),
            torch_onednn=bool(torch.backends.mkldnn.is_available() and torch.backends.mkldnn.enabled),
        )
    if jax is not None:
        info.update(jax=jax.__version__, jax_backend=jax.default_backend())
    return info
