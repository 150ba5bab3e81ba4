"""BLAS threads by call size: the layers' small products run on one thread whatever OpenBLAS's default, large ones
may use idle cores, the user's own limit is never exceeded, and the count is restored afterwards."""
import numpy as np
import pytest
from threadpoolctl import threadpool_info, threadpool_limits

import minirnn
from minirnn.kernels import threads
from minirnn.nn import Linear
from minirnn.nn import recurrent
from minirnn.nn.optim import SGD
from minirnn.training import loop


def blas_threads() -> int:
    return max(info["num_threads"] for info in threadpool_info() if info["user_api"] == "blas")


@pytest.fixture
def two_threads():
    """OpenBLAS's default on this 2-core machine (the tests run with OPENBLAS_NUM_THREADS=1: lift it to 2)."""
    with threadpool_limits(limits=2, user_api="blas"):
        assert blas_threads() == 2
        yield


@pytest.mark.parametrize("cell", [minirnn.RNN, minirnn.LSTM, minirnn.GRU])
@pytest.mark.parametrize("backend", ["numpy", "numba"])
def test_a_small_layer_runs_its_products_on_one_thread(two_threads, monkeypatch, cell, backend):
    seen = []
    layer = cell(8, 32, seed=0, backend=backend)
    original = type(layer.cell).forward

    def spy(self, *args, **kwargs):                     # called inside the layer's forward
        seen.append(blas_threads())
        return original(self, *args, **kwargs)

    monkeypatch.setattr(type(layer.cell), "forward", spy)
    out, _ = layer(np.random.default_rng(0).normal(size=(5, 4, 8)))
    layer.backward(np.ones_like(out))
    assert seen == [1]
    assert blas_threads() == 2                          # restored


def test_a_small_linear_runs_on_one_thread_and_restores(two_threads, monkeypatch):
    seen = []
    lin = Linear(16, 8, seed=0)
    original = lin._own_params["weight"]

    class Spy(np.ndarray):
        @property
        def T(self):
            seen.append(blas_threads())
            return np.asarray(self).T

    lin._own_params["weight"] = original.view(Spy)
    lin(np.ones((4, 16)))
    assert seen == [1] and blas_threads() == 2


def test_the_training_loop_runs_on_one_thread_between_the_layers(two_threads):
    seen = []
    lin = Linear(3, 2, seed=0)

    def step(model, rng, k, carry):
        seen.append(blas_threads())
        y = model(rng.normal(size=(4, 3)))
        model.backward(np.ones_like(y))
        return float(np.sum(y)), float("nan"), None

    loop.fit(lin, SGD(lin, lr=0.01), step, 3, rng=np.random.default_rng(0), progress=False)
    assert seen == [1, 1, 1] and blas_threads() == 2


def test_large_products_use_idle_cores_but_never_more_than_the_ceiling(monkeypatch):
    monkeypatch.setitem(threads._state, "used", 1)
    monkeypatch.setattr(threads, "_cores", lambda: 8)
    monkeypatch.setattr(threads, "_load", lambda: 0.0)
    big = threads.PARALLEL_WORK * 4
    assert threads.threads_for(big, ceiling=4) == 4     # idle machine: up to the user's ceiling
    assert threads.threads_for(big, ceiling=16) == 8    # never more than the cores
    monkeypatch.setitem(threads._state, "used", 1)
    monkeypatch.setattr(threads, "_load", lambda: 6.6)
    assert threads.threads_for(big, ceiling=16) == 2    # 8 cores, load 6.6 (ours 1 of it): 2.4 idle cores
    monkeypatch.setitem(threads._state, "used", 1)
    monkeypatch.setattr(threads, "_load", lambda: 7.6)
    assert threads.threads_for(big, ceiling=16) == 1    # load 7.6: 1.4 idle cores
    monkeypatch.setattr(threads, "_cores", lambda: 8)
    monkeypatch.setattr(threads, "_load", lambda: 35.0)
    assert threads.threads_for(big, ceiling=16) == 1    # a busy machine: one thread
    assert threads.threads_for(threads.PARALLEL_WORK - 1, ceiling=16) == 1


def test_the_process_does_not_count_its_own_threads_as_another_programs_load(monkeypatch):
    """On an idle 2-core machine the load is about what this process itself runs: 1.3 on one thread, 2 on two;
    a second program on top of it raises the load by 1 and takes the second core back."""
    big = threads.PARALLEL_WORK * 4
    monkeypatch.setattr(threads, "_cores", lambda: 2)
    monkeypatch.setitem(threads._state, "used", 1)
    monkeypatch.setattr(threads, "_load", lambda: 1.3)
    assert threads.threads_for(big, ceiling=2) == 2     # this process alone, on one thread so far: both cores
    monkeypatch.setattr(threads, "_load", lambda: 2.0)
    assert threads.threads_for(big, ceiling=2) == 2     # now on two threads, the load 2 is ours: still both
    monkeypatch.setattr(threads, "_load", lambda: 3.0)
    assert threads.threads_for(big, ceiling=2) == 1     # another program came: one core is left
    monkeypatch.setattr(threads, "_load", lambda: 2.0)
    assert threads.threads_for(big, ceiling=2) == 1     # one thread of ours + the other program: stay at one


def test_the_users_own_limit_is_the_ceiling(monkeypatch):
    monkeypatch.setattr(threads, "_cores", lambda: 8)
    monkeypatch.setattr(threads, "_load", lambda: 0.0)
    with threadpool_limits(limits=1, user_api="blas"):
        with threads.blas_threads_for(threads.PARALLEL_WORK * 100):
            assert blas_threads() == 1                  # the user said one thread: one thread
    with threadpool_limits(limits=2, user_api="blas"):
        with threads.blas_threads_for(threads.PARALLEL_WORK * 100):
            assert blas_threads() == 2
        assert blas_threads() == 2


def test_fixed_forces_a_count_for_the_benchmark(two_threads):
    with threads.fixed(2), threads.blas_threads_for(1):
        assert blas_threads() == 2
    with threads.blas_threads_for(1):
        assert blas_threads() == 1
