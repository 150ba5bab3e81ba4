"""Checkpoints: exact round trips, bit-identical resumption, atomic writes, and refusal of bad files that changes nothing."""
import os

import numpy as np
import pytest

from minirnn.training import checkpoint
from minirnn.training import loop as train
from minirnn.training import recipes as experiments
from minirnn.training.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint
from minirnn.models import CharLM
from minirnn.nn.optim import Adam


def _small(seed=0, cell="gru"):
    exp = experiments.adding(cell, T=8, hidden=6, batch=4, seed=seed, n_test=16)
    return exp, Adam(exp.model, lr=1e-2)


def _snapshot(model, opt):
    return model.state_dict(), {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in opt.state_dict().items()}


def _assert_same(snap_a, snap_b):
    (pa, oa), (pb, ob) = snap_a, snap_b
    assert pa.keys() == pb.keys() and oa.keys() == ob.keys()
    for k in pa:
        np.testing.assert_array_equal(pa[k], pb[k])
    for k in oa:
        np.testing.assert_array_equal(np.asarray(oa[k]), np.asarray(ob[k]))


def test_round_trip_restores_parameters_optimizer_and_rng_exactly(tmp_path):
    exp, opt = _small()
    train.fit(exp.model, opt, exp.train_step, 5, rng=exp.rng, progress=False)
    path = save_checkpoint(tmp_path / "ck.npz", exp.model, opt, rng=exp.rng, arrays={"h": np.arange(3.0)},
                           meta={"step": 5})
    fresh, fresh_opt = _small(seed=1)
    rng = np.random.default_rng(123)
    ck = load_checkpoint(path, fresh.model, fresh_opt, rng=rng)
    _assert_same(_snapshot(fresh.model, fresh_opt), _snapshot(exp.model, opt))
    assert rng.random() == exp.rng.random()                 # the same next draw
    assert ck["meta"]["step"] == 5 and ck["arrays"]["h"].tolist() == [0.0, 1.0, 2.0]
    assert fresh_opt.step_count == 5


@pytest.mark.parametrize("task,cell", [("adding", "lstm"), ("char", "gru")])
def test_resumed_run_is_bit_identical_to_an_uninterrupted_one(tmp_path, task, cell):
    kwargs = dict(T=8, hidden=6, batch=4, seed=0)
    if task == "char":
        kwargs["text"] = "the quick brown fox jumps over the lazy dog; " * 12     # several chunks and epochs
    else:
        kwargs["n_test"] = 16
    straight = experiments.make(task, cell=cell, **kwargs)
    h_straight = train.fit(straight.model, Adam(straight.model, lr=1e-2), straight.train_step, 30,
                           rng=straight.rng, evaluate=straight.evaluate, eval_every=10, clip_norm=1.0,
                           progress=False)

    path = str(tmp_path / "ck.npz")
    first = experiments.make(task, cell=cell, **kwargs)
    train.fit(first.model, Adam(first.model, lr=1e-2), first.train_step, 13, rng=first.rng,
              evaluate=first.evaluate, eval_every=10, clip_norm=1.0, checkpoint_path=path, progress=False)
    assert read_checkpoint(path)["meta"]["step"] == 13
    if task == "char":                                      # the carried hidden state went into the checkpoint
        assert "carry/0" in read_checkpoint(path)["arrays"]
    second = experiments.make(task, cell=cell, **dict(kwargs, seed=99))   # other weights, other rng: all replaced
    h_resumed = train.fit(second.model, Adam(second.model, lr=1e-2), second.train_step, 30, rng=second.rng,
                          evaluate=second.evaluate, eval_every=10, clip_norm=1.0, checkpoint_path=path,
                          resume=True, progress=False)
    assert h_resumed["loss"] == h_straight["loss"]          # bit-identical, every step
    assert h_resumed["grad_norm"] == h_straight["grad_norm"]
    for name, p in straight.model.params.items():
        np.testing.assert_array_equal(second.model.params[name], p)


def _expect_refused(path, exp, opt, match):
    before = _snapshot(exp.model, opt)
    rng = np.random.default_rng(5)
    rng_before = rng.bit_generator.state
    with pytest.raises(ValueError, match=match):
        load_checkpoint(path, exp.model, opt, rng=rng)
    _assert_same(_snapshot(exp.model, opt), before)         # nothing changed
    assert rng.bit_generator.state == rng_before


def _saved(tmp_path):
    exp, opt = _small()
    train.fit(exp.model, opt, exp.train_step, 3, rng=exp.rng, progress=False)
    path = save_checkpoint(tmp_path / "ck.npz", exp.model, opt, rng=exp.rng, meta={"step": 3})
    target, target_opt = _small(seed=7)
    train.fit(target.model, target_opt, target.train_step, 2, rng=target.rng, progress=False)
    return path, target, target_opt


def test_truncated_file_is_refused_and_changes_nothing(tmp_path):
    path, exp, opt = _saved(tmp_path)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    _expect_refused(path, exp, opt, "truncated or corrupted")


def test_corrupted_byte_is_refused_and_changes_nothing(tmp_path):
    path, exp, opt = _saved(tmp_path)
    # flip bits inside the stored parameter bytes: rewrite one array with a changed value but the old checksum
    with np.load(path) as z:
        entries = {k: z[k] for k in z.files}
    key = next(k for k in entries if k.startswith("param/"))
    entries[key] = entries[key].copy()
    entries[key].flat[0] += 1e-12
    np.savez(path, **entries)
    _expect_refused(path, exp, opt, "checksum")


def test_other_architecture_is_refused_and_changes_nothing(tmp_path):
    path, _, _ = _saved(tmp_path)
    other = experiments.adding("gru", T=8, hidden=7, batch=4, seed=0, n_test=16)      # H=7 instead of 6
    _expect_refused(path, other, Adam(other.model), "cannot be loaded")
    lstm = experiments.adding("lstm", T=8, hidden=6, batch=4, seed=0, n_test=16)
    _expect_refused(path, lstm, Adam(lstm.model), "cannot be loaded")


def test_future_format_version_is_refused(tmp_path, monkeypatch):
    exp, opt = _small()
    monkeypatch.setattr(checkpoint, "FORMAT_VERSION", checkpoint.FORMAT_VERSION + 1)
    path = save_checkpoint(tmp_path / "ck.npz", exp.model, opt, rng=exp.rng)
    monkeypatch.setattr(checkpoint, "FORMAT_VERSION", checkpoint.FORMAT_VERSION - 1)
    _expect_refused(path, *_small(seed=3), "format version 2")


def test_not_a_checkpoint_is_refused(tmp_path):
    path = tmp_path / "x.npz"
    np.savez(path, a=np.zeros(3))
    with pytest.raises(ValueError, match="not a minirnn checkpoint"):
        read_checkpoint(path)
    with pytest.raises(FileNotFoundError):
        read_checkpoint(tmp_path / "missing.npz")


def test_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    exp, opt = _small()
    path = save_checkpoint(tmp_path / "ck.npz", exp.model, opt, meta={"step": 1})
    before = open(path, "rb").read()

    def broken_savez(f, **entries):
        f.write(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(path, exp.model, opt, meta={"step": 2})
    assert open(path, "rb").read() == before
    assert os.listdir(tmp_path) == ["ck.npz"]


def test_dropout_generators_are_saved_and_restored(tmp_path):
    lm = CharLM(5, 4, cell="lstm", num_layers=2, dropout=0.5, seed=0)
    path = save_checkpoint(tmp_path / "ck.npz", lm)
    expected = lm.rnn._dropout_rng.random()
    other = CharLM(5, 4, cell="lstm", num_layers=2, dropout=0.5, seed=1)
    load_checkpoint(path, other)
    assert other.rnn._dropout_rng.random() == expected


def test_training_stops_at_the_first_non_finite_gradient_and_keeps_the_last_good_checkpoint(tmp_path):
    exp, opt = _small()
    path = str(tmp_path / "ck.npz")

    def step_fn(model, rng, step, carry):
        loss, metric, carry = exp.train_step(model, rng, step, carry)
        if step == 4:                                        # the 5th update goes wrong
            model.grads["rnn.weight_hh_l0"][0, 0] = np.nan
        return loss, metric, carry

    with pytest.raises(train.NonFiniteError, match=r"step 5: the gradient of 'rnn.weight_hh_l0' is not finite.*"
                                                   r"last good checkpoint .* \(step 4\) was kept"):
        train.fit(exp.model, opt, step_fn, 10, rng=exp.rng, checkpoint_path=path, checkpoint_every=2,
                  progress=False)
    assert opt.step_count == 4                               # the bad gradient was never applied
    assert read_checkpoint(path)["meta"]["step"] == 4
    assert all(np.all(np.isfinite(p)) for p in exp.model.params.values())


def test_non_finite_loss_is_named():
    exp, opt = _small()

    def step_fn(model, rng, step, carry):
        loss, metric, carry = exp.train_step(model, rng, step, carry)
        return (float("inf") if step == 2 else loss), metric, carry

    with pytest.raises(train.NonFiniteError, match=r"step 3: the loss is inf"):
        train.fit(exp.model, opt, step_fn, 10, rng=exp.rng, progress=False)
