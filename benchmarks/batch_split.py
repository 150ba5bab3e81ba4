"""What splitting the batch over two threads buys (minirnn/kernels/_batch.py), and the choices around it.

One process, the ways interleaved in blocks, medians: a layer's forward + backward with one thread and with
two threads as the library runs them (on MKL the rows split into one block per thread; on OpenBLAS the loop
whole, OpenBLAS's own threads splitting each product); on OpenBLAS also with the rows split anyway, the
choice ``_batch.workers`` turns down there:

    python benchmarks/batch_split.py                      # medium LSTM, GRU and RNN, float32 and float64
    python benchmarks/batch_split.py --cells lstm --dtypes float32 --size 100,64,128,512
    MINIRNN_BLAS=openblas python benchmarks/batch_split.py --cells lstm --dtypes float32

``--weight-gradients`` times instead the two forms of the RNN's and LSTM's weight gradients of an LSTM of
``--size`` (docs/performance.md: ``--weight-gradients --size 100,64,128,512``): two products ``da^T x`` and
``da^T h_prev`` (what ``cells/_common.weight_gradients`` does) against one on ``[x | h_prev]`` side by side,
at one and two threads.

Example:
    >>> sorted(compare("lstm", "float32", (3, 16, 2, 4), blocks=1, reps=1))[:2]
    ['one thread', 'two threads']
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import numpy as np  # noqa: E402



def _median_ms(f, reps):
    f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        f()
        times.append(time.perf_counter() - start)
    return statistics.median(times) * 1e3


def compare(cell, dtype, size, blocks=5, reps=8) -> dict:
    """``{way: ms}``: median over ``blocks`` interleaved blocks of the per-block medians of ``reps`` runs of
    one layer forward + backward (``size`` = T, B, I, H): ``"one thread"``, ``"two threads"``, and on
    OpenBLAS ``"two threads, rows split"``."""
    from minirnn.kernels import _batch, _blas, threads
    from minirnn.nn.recurrent import layer_class

    T, B, I, H = size
    dt = np.dtype(dtype)
    x = np.random.default_rng(0).standard_normal((T, B, I)).astype(dt)
    layer = layer_class(cell)(I, H, dtype=dt, seed=0, backend="auto")
    dout = np.ones((T, B, H), dt)

    def run():
        layer(x)
        layer.backward(dout)

    run()  # binds the BLAS
    ways = {"one thread": (1, False), "two threads": (2, False)}
    if _blas.bound_to() != "mkl":
        ways["two threads, rows split"] = (2, True)
    results = {way: [] for way in ways}
    library_choice = _batch.workers
    try:
        for _ in range(blocks):
            for way, (n, split) in ways.items():
                _batch.workers = threads.current if split else library_choice
                with threads.fixed(n):
                    results[way].append(_median_ms(run, reps))
    finally:
        _batch.workers = library_choice
    return {way: statistics.median(ms) for way, ms in results.items()}


def weight_gradients(dtype, size=(100, 64, 128, 512), blocks=5) -> dict:
    """``{(threads, form): ms}`` for the LSTM's dW_ih and dW_hh: ``"two products"`` against ``"one on [x |
    h_prev]"``, each at 1 and 2 threads, interleaved medians."""
    from minirnn.kernels import _blas, threads

    T, B, I, H = size
    rng = np.random.default_rng(0)
    da = rng.standard_normal((T * B, 4 * H)).astype(dtype)
    x2, h2 = rng.standard_normal((T * B, I)).astype(dtype), rng.standard_normal((T * B, H)).astype(dtype)
    forms = {
        "two products": lambda: (_blas.matmul(da.T, x2), _blas.matmul(da.T, h2)),
        "one on [x | h_prev]": lambda: _blas.matmul(da.T, np.concatenate([x2, h2], axis=1)),
    }
    results = {}
    for _ in range(blocks):
        for n in (1, 2):
            with threads.fixed(n), threads.blas_threads_for(1 << 40):
                for form, f in forms.items():
                    results.setdefault((n, form), []).append(_median_ms(f, 3))
    return {key: statistics.median(ms) for key, ms in results.items()}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--cells", nargs="+", default=["lstm", "gru", "rnn"], choices=["rnn", "lstm", "gru"])
    p.add_argument("--dtypes", nargs="+", default=["float32", "float64"], choices=["float32", "float64"])
    p.add_argument("--size", default="100,32,32,128", help="T,B,I,H (default: the speed benchmark's medium)")
    p.add_argument("--blocks", type=int, default=5, help="interleaved blocks (the median is kept)")
    p.add_argument("--reps", type=int, default=8, help="timed runs per block and way")
    p.add_argument("--weight-gradients", action="store_true", help="time the weight gradients' two forms")
    args = p.parse_args(argv)
    try:
        size = tuple(int(v) for v in args.size.split(","))
    except ValueError:
        size = ()
    if len(size) != 4 or min(size) < 1:
        p.error(f"--size must be four positive integers T,B,I,H, got {args.size!r}")
    if min(args.blocks, args.reps) < 1:
        p.error("--blocks and --reps must be positive")
    from minirnn import kernels

    print(f"BLAS {kernels.blas()}, load {os.getloadavg()[0]:.2f}")
    try:
        if args.weight_gradients:
            for dtype in args.dtypes:
                for (n, form), ms in weight_gradients(np.dtype(dtype), size, args.blocks).items():
                    print(f"  weight gradients {dtype}, {n} thread(s), {form:<20}{ms:9.2f} ms")
            return 0
        for cell in args.cells:
            for dtype in args.dtypes:
                ms = compare(cell, dtype, size, args.blocks, args.reps)
                one = ms["one thread"]
                ways = ", ".join(f"{w} {t:.2f} ms ({one / t:.2f}x)" for w, t in list(ms.items())[1:])
                print(f"  {cell} {dtype} {size}: one thread {one:.2f} ms; {ways}")
    except KeyboardInterrupt:
        print("batch_split.py: interrupted; nothing is saved (it only prints)", file=sys.stderr)
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
