"""The LRCN video classifier: its hand-written backward against finite differences (the gradcheck package) and
against PyTorch autograd on the same weights; the single-frame control likewise; bad input named."""
from __future__ import annotations

import numpy as np
import pytest

from gradcheck import check_gradients
from minirnn.models.video import FrameClassifier, VideoClassifier

import torch  # noqa: E402  (the test extra has it: never skipped)


@pytest.mark.parametrize("cell", ["rnn", "lstm", "gru"])
def test_gradcheck_video_classifier_every_parameter_and_the_frames(cell):
    rng = np.random.default_rng(0)
    model = VideoClassifier(cell, (4, 5), 3, 4, encoder_size=6, seed=1, backend="numpy")
    frames = rng.uniform(size=(3, 2, 4, 5))                 # T=3 frames of 2 videos
    G = rng.normal(size=(2, 4))
    params = {"frames": frames, **model.params}

    def loss(p):
        return float(np.sum(model(p["frames"]) * G))

    loss(params)
    grads = {"frames": model.backward(G), **model.grads}
    report = check_gradients(loss, params, grads)
    assert report.passed, str(report)
    assert len(report.rows) == 1 + 2 + 4 + 2              # frames, encoder, one recurrent layer, fc


def test_gradcheck_frame_classifier():
    rng = np.random.default_rng(1)
    model = FrameClassifier((3, 4), 5, encoder_size=6, seed=2)
    params = {"frames": rng.uniform(size=(4, 3, 4)), **model.params}
    G = rng.normal(size=(4, 5))

    def loss(p):
        return float(np.sum(model(p["frames"]) * G))

    loss(params)
    report = check_gradients(loss, params, {"frames": model.backward(G), **model.grads})
    assert report.passed, str(report)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_video_classifier_matches_torch_autograd_on_the_same_weights(cell):
    rng = np.random.default_rng(2)
    model = VideoClassifier(cell, (6, 6), 5, 4, encoder_size=7, seed=3)
    frames = rng.uniform(size=(8, 3, 6, 6))
    G = rng.normal(size=(3, 4))
    logits = model(frames)
    dframes = model.backward(G)

    enc = torch.nn.Linear(36, 7).double()
    rnn = (torch.nn.LSTM if cell == "lstm" else torch.nn.GRU)(7, 5).double()
    fc = torch.nn.Linear(5, 4).double()
    modules = {"encoder": enc, "rnn": rnn, "fc": fc}
    with torch.no_grad():
        for name, value in model.params.items():
            prefix, rest = name.split(".", 1)
            getattr(modules[prefix], rest).copy_(torch.from_numpy(value))
    x = torch.tensor(frames, requires_grad=True)
    out, _ = rnn(torch.tanh(enc(x.reshape(8, 3, 36))))
    theirs = fc(out[-1])
    (theirs * torch.from_numpy(G)).sum().backward()
    np.testing.assert_allclose(logits, theirs.detach().numpy(), rtol=0, atol=1e-12)
    np.testing.assert_allclose(dframes, x.grad.numpy(), rtol=0, atol=1e-12)
    for name, g in model.grads.items():
        prefix, rest = name.split(".", 1)
        np.testing.assert_allclose(g, getattr(modules[prefix], rest).grad.numpy(), rtol=0, atol=1e-12, err_msg=name)


def test_one_encoder_serves_every_frame_and_the_input_is_not_modified():
    model = VideoClassifier("gru", (3, 3), 4, 2, encoder_size=5, seed=0, backend="numpy")
    frames = np.random.default_rng(3).uniform(size=(4, 2, 3, 3))
    kept = frames.copy()
    model(frames)
    model.backward(np.ones((2, 2)))
    np.testing.assert_array_equal(kept, frames)
    #                encoder (shared)   GRU: W_ih, W_hh, biases        fc
    assert model.num_parameters() == (5 * 9 + 5) + (12 * 5 + 12 * 4 + 2 * 12) + (2 * 4 + 2)
    assert [k for k in model.params if k.startswith("encoder")] == ["encoder.weight", "encoder.bias"]


def test_bad_frames_and_settings_are_named():
    model = VideoClassifier("gru", (4, 4), 3, 2, encoder_size=2, seed=0)
    with pytest.raises(ValueError, match=r"frames must have shape \(T, B, 4, 4\), got \(2, 3, 4, 5\)"):
        model(np.zeros((2, 3, 4, 5)))
    with pytest.raises(TypeError, match="frames must have the model's dtype float64, got float32"):
        model(np.zeros((2, 3, 4, 4), dtype=np.float32))
    with pytest.raises(ValueError, match="cell must be one of"):
        VideoClassifier("tcn", (4, 4), 3, 2)
    with pytest.raises(ValueError, match="frame_shape must be two positive integers"):
        VideoClassifier("gru", (4, 0), 3, 2)
    with pytest.raises(RuntimeError, match="before a forward pass"):
        VideoClassifier("gru", (4, 4), 3, 2).backward(np.zeros((1, 2)))
    assert repr(model) == "VideoClassifier('gru', (4, 4), 3, 2, encoder_size=2)"
