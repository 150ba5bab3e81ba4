"""Crafted checkpoint files: each is refused with a ValueError naming the file and the field, before any large
allocation, and leaves the model, the optimizer and the generators exactly as they were.

The crafted files carry a correct sha256 (they are made the way a hostile writer would make them), so it is the
checks of each field that refuse them, not the checksum.
"""
import io
import json
import os
import stat
import time
import tracemalloc
import zipfile

import numpy as np
import pytest

from minirnn.models import SequenceClassifier
from minirnn.nn.optim import Adam
from minirnn.training import checkpoint
from minirnn.training.checkpoint import load_checkpoint, read_checkpoint, save_checkpoint


def _model(seed=0):
    model = SequenceClassifier("gru", 3, 4, 2, dropout=0.0, seed=seed, backend="numpy")
    return model, Adam(model, lr=1e-2)


def _trained(seed):
    """A model and an Adam with non-trivial state (one step taken)."""
    model, opt = _model(seed)
    x = np.random.default_rng(seed).normal(size=(2, 5, 3))
    model.backward(np.ones_like(model(x)))
    opt.step()
    return model, opt


@pytest.fixture
def good(tmp_path):
    """The entries of a valid checkpoint: (entries without checksum, info dict)."""
    model, opt = _trained(0)
    path = save_checkpoint(tmp_path / "good.npz", model, opt, rng=np.random.default_rng(1), meta={"step": 1})
    with np.load(path) as z:
        entries = {k: z[k] for k in z.files}
    entries.pop("checksum")
    return entries, json.loads(str(entries.pop("meta")))


def _write(path, entries, info=None, raw_meta=None):
    """A checkpoint with the given entries and meta, and a correct checksum over them."""
    entries = dict(entries)
    entries["meta"] = np.array(raw_meta if raw_meta is not None else json.dumps(info))
    entries["checksum"] = np.array(checkpoint._checksum(entries))
    np.savez(path, **entries)
    return str(path)


def _assert_refused_and_unchanged(path, match):
    model, opt = _trained(7)
    rng = np.random.default_rng(5)
    before = (model.state_dict(), opt.state_dict(), rng.bit_generator.state)
    with pytest.raises(ValueError) as info:
        load_checkpoint(path, model, opt, rng=rng)
    message = str(info.value)
    assert str(path) in message and match in message, message
    after = (model.state_dict(), opt.state_dict(), rng.bit_generator.state)
    for k in before[0]:
        np.testing.assert_array_equal(before[0][k], after[0][k])
    assert before[1].keys() == after[1].keys()
    for k in before[1]:
        np.testing.assert_array_equal(np.asarray(before[1][k]), np.asarray(after[1][k]))
    assert before[2] == after[2]
    return message


def test_a_zip_bomb_is_refused_before_it_is_inflated(tmp_path):
    path = tmp_path / "bomb.npz"
    header = io.BytesIO()
    n = 10_000_000                                              # 80 MB of float64 zeros, ~80 kB deflated
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (n,)})
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("param/rnn.weight_ih_l0.npy", header.getvalue() + bytes(8 * n))
    assert os.path.getsize(path) < 200_000
    tracemalloc.start()
    try:
        message = _assert_refused_and_unchanged(path, "refused before inflating it")
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 5_000_000, peak                               # never near the 80 MB it declares
    assert "param/rnn.weight_ih_l0.npy" in message


def test_an_npy_header_declaring_a_huge_shape_is_refused_without_allocating(tmp_path):
    path = tmp_path / "huge.npz"
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (10**15,)})
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("param/fc.bias.npy", header.getvalue() + bytes(16))
    _assert_refused_and_unchanged(path, "declares shape (1000000000000000,)")


def test_an_np_save_file_named_npz_is_refused(tmp_path):
    path = tmp_path / "plain.npz"
    with open(path, "wb") as f:
        np.save(f, np.arange(3.0))
    _assert_refused_and_unchanged(path, "is not a readable .npz file")


def test_an_object_array_entry_is_refused_without_unpickling(tmp_path):
    path = tmp_path / "obj.npz"
    member = io.BytesIO()
    np.lib.format.write_array(member, np.array([None, 1], dtype=object), allow_pickle=True)
    with zipfile.ZipFile(path, "w") as z:
        z.writestr("param/fc.bias.npy", member.getvalue())
    _assert_refused_and_unchanged(path, "only numbers, bools and strings are read")


@pytest.mark.parametrize("raw_meta,field", [
    ("5", "'meta' must be a JSON object"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("\"text\"", "'meta' must be a JSON object"),
])
def test_meta_that_is_not_an_object_is_refused(tmp_path, good, raw_meta, field):
    entries, _ = good
    _assert_refused_and_unchanged(_write(tmp_path / "m.npz", entries, raw_meta=raw_meta), field)


@pytest.mark.parametrize("change,field", [
    (lambda info: info.update(optimizer=[1, 2]), "field 'optimizer' must be a JSON object or null, got [1, 2]"),
    (lambda info: info.update(module_rngs=None), "field 'module_rngs' must be a JSON object, got None"),
    (lambda info: info.update(rng=7), "field 'rng' must be a JSON object or null, got 7"),
    (lambda info: info.update(model=3), "field 'model' must be a string"),
    (lambda info: info.update(meta=[]), "field 'meta' must be a JSON object"),
    (lambda info: info["meta"].update(step=-3), "field 'meta.step' must be an integer >= 0, got -3"),
    (lambda info: info["meta"].update(step="3"), "field 'meta.step' must be an integer >= 0"),
    (lambda info: info["optimizer"].update(lr=float("nan")), "field 'optimizer'"),
    (lambda info: info["optimizer"].update(lr="fast"), "state['lr'] must be a finite number >= 0, got 'fast'"),
    (lambda info: info["optimizer"].update(beta1=1.5), "state['beta1'] must be a number in [0, 1)"),
    (lambda info: info["optimizer"].update(step=-3), "state['step'] must be an integer >= 0, got -3"),
    (lambda info: info["optimizer"].update(step=2.5), "state['step'] must be an integer >= 0, got 2.5"),
    (lambda info: info["rng"]["state"].update(state="garbage"), "field 'rng' must be a valid PCG64 state"),
    (lambda info: info["rng"].update(bit_generator="MT19937"), "field 'rng' saved a 'MT19937' generator"),
    (lambda info: info.update(format_version=True), "format version True"),
])
def test_a_crafted_field_is_refused_by_name_and_changes_nothing(tmp_path, good, change, field):
    entries, info = good
    change(info)
    _assert_refused_and_unchanged(_write(tmp_path / "c.npz", entries, info), field)


def test_a_garbage_rng_state_is_refused_before_the_weights_are_written(tmp_path, good):
    entries, info = good
    info["rng"]["state"]["inc"] = "not a number"                 # the last thing applied: checked first
    _assert_refused_and_unchanged(_write(tmp_path / "r.npz", entries, info), "field 'rng'")


def test_a_nan_optimizer_buffer_is_refused(tmp_path, good):
    entries, info = good
    key = next(k for k in entries if k.startswith("optim/exp_avg:"))
    entries[key] = np.full_like(entries[key], np.nan)
    _assert_refused_and_unchanged(_write(tmp_path / "n.npz", entries, info), "must hold finite numbers")


def test_the_checkpoint_follows_the_umask_like_the_figures(tmp_path):
    model, opt = _model()
    old = os.umask(0o022)
    try:
        path = save_checkpoint(tmp_path / "ck.npz", model, opt)
        figure = tmp_path / "fig.png"
        figure.write_bytes(b"png")
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(path).st_mode) == stat.S_IMODE(os.stat(figure).st_mode) == 0o644


def test_a_valid_checkpoint_reads_quickly_and_exactly(tmp_path):
    model, opt = _trained(0)
    path = save_checkpoint(tmp_path / "ck.npz", model, opt, meta={"step": 1})
    t0 = time.perf_counter()
    ck = read_checkpoint(path)
    assert time.perf_counter() - t0 < 1.0
    for name, value in model.params.items():
        np.testing.assert_array_equal(ck["params"][name], value)
