"""``minirnn train`` loses nothing and replaces nothing unasked: Ctrl-C saves the run and exits 130 with one line, an
existing run needs --resume or --force, --resume needs a run and at least its steps, a lock keeps a second train out,
and a full disk, a bad --out or a corrupted checkpoint is one sentence, never a traceback."""
import errno
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from minirnn.cli import _run_folder, main
from minirnn.training import checkpoint
from minirnn.training.checkpoint import read_checkpoint

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TINY = ["--T", "5", "--hidden", "4", "--batch", "4", "--no-progress", "--backend", "numpy"]


def train(out, *extra, steps=6):
    return main(["train", "adding", "--out", str(out), "--steps", str(steps), *TINY, *extra])


def one_line(err):
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def test_ctrl_c_saves_the_run_and_exits_130_with_one_line(tmp_path):
    out = tmp_path / "run"
    code = "import sys; from minirnn.cli import main; sys.exit(main(sys.argv[1:]))"
    child = subprocess.Popen([sys.executable, "-u", "-c", code, "train", "adding", "--out", str(out), "--steps",
                              "1000000", "--checkpoint-every", "1000000", "--eval-every", "1000000", *TINY],
                             cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env=dict(os.environ, PYTHONPATH=ROOT))
    try:
        assert child.stdout.readline().startswith("minirnn train adding"), child.stderr.read()
        time.sleep(3)                                               # some hundreds of steps
        child.send_signal(signal.SIGINT)
        _, err = child.communicate(timeout=60)
    finally:
        if child.poll() is None:
            child.kill()
            child.wait()
    assert child.returncode == 130, err
    line = one_line(err)
    assert "interrupted after step" in line and "--resume" in line, line
    ck = read_checkpoint(out / "checkpoint.npz")                    # nothing lost: the steps done are saved
    done = ck["meta"]["step"]
    assert done > 0 and len(ck["arrays"]["history/loss"]) == done and f"step {done} of" in line
    assert train(out, "--resume", steps=done + 3) == 0              # and the run goes on from there
    assert len(read_checkpoint(out / "checkpoint.npz")["arrays"]["history/loss"]) == done + 3


def test_an_existing_run_is_not_replaced_without_force(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out) == 0
    saved = read_checkpoint(out / "checkpoint.npz")["params"]
    capsys.readouterr()
    assert train(out, steps=4) == 2
    assert "already holds a run" in one_line(capsys.readouterr().err)
    after = read_checkpoint(out / "checkpoint.npz")["params"]
    assert all(np.array_equal(saved[k], after[k]) for k in saved)   # untouched
    assert train(out, "--force", steps=4) == 0
    assert read_checkpoint(out / "checkpoint.npz")["meta"]["step"] == 4


def test_resume_without_a_run_is_refused(tmp_path, capsys):
    assert train(tmp_path / "empty", "--resume") == 2
    assert "there is no run to resume" in one_line(capsys.readouterr().err)


def test_resume_with_fewer_steps_than_done_is_refused_and_keeps_the_run(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, steps=8) == 0
    capsys.readouterr()
    assert train(out, "--resume", steps=4) == 2
    assert "--steps 4 is fewer than the 8 steps" in one_line(capsys.readouterr().err)
    ck = read_checkpoint(out / "checkpoint.npz")
    assert ck["meta"]["step"] == 8 and len(ck["arrays"]["history/loss"]) == 8


def test_a_second_train_on_a_folder_in_use_is_refused(tmp_path, capsys):
    out = tmp_path / "run"
    with _run_folder.run_folder(str(out)):                          # another train holds the lock
        assert train(out) == 2
    assert "is in use by another `minirnn train`" in one_line(capsys.readouterr().err)
    assert not (out / "checkpoint.npz").exists()
    assert train(out) == 0                                          # free again once it is released


def test_two_processes_on_one_folder_one_is_refused(tmp_path):
    out = tmp_path / "run"
    code = "import sys; from minirnn.cli import main; sys.exit(main(sys.argv[1:]))"
    argv = [sys.executable, "-c", code, "train", "adding", "--out", str(out), "--steps", "40", *TINY]
    env = dict(os.environ, PYTHONPATH=ROOT)
    first = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    try:
        assert first.stdout.readline().startswith("minirnn train adding")    # it holds the lock now
        second = subprocess.run(argv, cwd=ROOT, capture_output=True, text=True, env=env, timeout=120)
        first.communicate(timeout=120)
    finally:
        if first.poll() is None:
            first.kill()
            first.wait()
    assert first.returncode == 0 and second.returncode == 2
    assert "is in use by another" in one_line(second.stderr)


def test_a_full_disk_is_one_line_and_keeps_the_old_checkpoint(tmp_path, capsys, monkeypatch):
    out = tmp_path / "run"
    assert train(out, steps=4) == 0
    before = read_checkpoint(out / "checkpoint.npz")["meta"]["step"]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(checkpoint.np, "savez", full)
    capsys.readouterr()
    assert train(out, "--resume", steps=8) == 1
    line = one_line(capsys.readouterr().err)
    assert "cannot write the checkpoint" in line and "No space left on device" in line
    monkeypatch.undo()
    assert read_checkpoint(out / "checkpoint.npz")["meta"]["step"] == before
    assert not [f for f in os.listdir(out) if f.startswith(".tmp-")]


def test_an_out_that_is_a_file_under_a_file_or_read_only_is_one_sentence(tmp_path, capsys, monkeypatch):
    (tmp_path / "file").write_text("x")
    assert train(tmp_path / "file") == 2
    assert "is a file, not a folder" in one_line(capsys.readouterr().err)
    assert train(tmp_path / "file" / "sub") == 2
    assert "cannot be created (Not a directory" in one_line(capsys.readouterr().err)

    def read_only(*args, **kwargs):                                 # as root, chmod cannot make a folder read-only
        raise PermissionError(errno.EROFS, "Read-only file system")

    monkeypatch.setattr(_run_folder.tempfile, "mkstemp", read_only)
    assert train(tmp_path / "ro") == 2
    assert "is not writable (Read-only file system)" in one_line(capsys.readouterr().err)


def test_resume_on_a_corrupted_checkpoint_is_one_sentence(tmp_path, capsys):
    out = tmp_path / "run"
    assert train(out, steps=4) == 0
    data = bytearray((out / "checkpoint.npz").read_bytes())
    import io
    import struct
    import zipfile
    info = max(zipfile.ZipFile(io.BytesIO(bytes(data))).infolist(), key=lambda i: i.compress_size)
    name_len, extra_len = struct.unpack("<HH", data[info.header_offset + 26:info.header_offset + 30])
    data[info.header_offset + 30 + name_len + extra_len + info.compress_size // 2] ^= 0xFF   # inside the data
    (out / "checkpoint.npz").write_bytes(bytes(data))
    capsys.readouterr()
    assert train(out, "--resume", steps=8) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("minirnn train: --resume: checkpoint") and "--force" in line


def test_checkpoints_are_written_with_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        assert train(tmp_path / "run", steps=2) == 0
    finally:
        os.umask(old)
    modes = {name: os.stat(tmp_path / "run" / name).st_mode & 0o777 for name in ("checkpoint.npz", "loss.png")}
    assert modes == {"checkpoint.npz": 0o644, "loss.png": 0o644}


@pytest.mark.parametrize("argv,message", [
    (["adding", "--T", "1"], "--T must be at least 2 for the adding task"),
    (["classify", "--T", "1"], "--T must be at least 2 for the classify task"),
    (["forecast", "--T", "1000"], "--T must be at most 585 for forecast"),
    (["adding", "--hidden", str(10**11)], "GB of memory"),
    (["adding", "--batch", str(10**11)], "GB of memory"),
    (["copy", "--resume", "--force"], "--resume and --force contradict each other"),
])
def test_sizes_the_task_cannot_take_are_one_sentence_before_anything_is_built(tmp_path, capsys, argv, message):
    assert main(["train", *argv, "--out", str(tmp_path / "run"), "--no-progress"]) == 2
    line = one_line(capsys.readouterr().err)
    assert line.startswith("minirnn train: ") and message in line, line
    assert "min_len" not in line
