"""A video classifier in the LRCN design (Donahue et al. 2015, "Long-term recurrent convolutional networks"):
a frame encoder shared across time, a recurrent layer over the encoded frames, a Linear map on its last state.

    model = VideoClassifier("gru", frame_shape=(20, 20), hidden_size=64, num_classes=4, seed=0)
    logits = model(frames)                  # frames (T, B, 20, 20) -> logits (B, 4)
    dframes = model.backward(dlogits)       # fills model.grads: encoder.*, rnn.*, fc.*

The encoder here is ``Linear`` + tanh on the flattened frame: the same weights read every frame, so BPTT sums
the encoder's gradient over all T frames. ``FrameClassifier`` is the same encoder and a Linear on ONE frame,
the control that shows what a single frame can tell.
"""

from __future__ import annotations

import numpy as np

from ..nn.linear import Linear
from ..nn.module import Module
from ..nn.recurrent import GRU, LSTM, RNN
from ..nn.validation import check_output_grad

__all__ = ["VideoClassifier", "FrameClassifier"]

_CELLS = {"rnn": RNN, "lstm": LSTM, "gru": GRU}


def _check_frames(frames, frame_shape, dtype, ndim):
    frames = np.asarray(frames)
    if frames.ndim != ndim or frames.shape[-2:] != tuple(frame_shape):
        lead = "(T, B, " if ndim == 4 else "(B, "
        raise ValueError(
            f"frames must have shape {lead}{frame_shape[0]}, {frame_shape[1]}), got {frames.shape}"
        )
    if frames.dtype != dtype:
        raise TypeError(f"frames must have the model's dtype {dtype}, got {frames.dtype}")
    return frames


class VideoClassifier(Module):
    """Encoder shared across time, recurrent layer, Linear on the last state.

        e_t    = tanh(flatten(x_t) encoder.weight^T + encoder.bias)          x_t (B, Hf, Wf) -> e_t (B, E)
        h_t    = cell(e_t, h_{t-1}),  h_{-1} = 0                             (B, H)
        logits = h_{T-1} fc.weight^T + fc.bias                               (B, C)

    Backward: dh_{T-1} = dlogits fc.weight; the layer's BPTT gives de_t for every t; then
    da_t = de_t * (1 - e_t^2) and the encoder's gradients are summed over all T frames (one Linear backward
    on the (T*B, Hf*Wf) stack).

    Args:
        cell: "rnn" | "lstm" | "gru".  frame_shape: (Hf, Wf).  hidden_size (H), num_classes (C).
        encoder_size (E): width of the frame encoding (default 64).  dtype, seed, backend: as for the layers.

    Example:
        >>> model = VideoClassifier("gru", (12, 12), 16, 4, encoder_size=8, seed=0)
        >>> model
        VideoClassifier('gru', (12, 12), 16, 4, encoder_size=8)
        >>> frames = np.random.default_rng(0).uniform(size=(5, 3, 12, 12))
        >>> logits = model(frames)
        >>> dframes = model.backward(np.ones_like(logits))
        >>> logits.shape, dframes.shape, model.grads["encoder.weight"].shape
        ((3, 4), (5, 3, 12, 12), (8, 144))
    """

    def __init__(
        self,
        cell,
        frame_shape,
        hidden_size,
        num_classes,
        *,
        encoder_size=64,
        dtype=np.float64,
        seed=None,
        backend="auto",
    ):
        super().__init__()
        if not isinstance(cell, str) or cell.lower() not in _CELLS:
            raise ValueError(f"VideoClassifier: cell must be one of {tuple(_CELLS)}, got {cell!r}")
        if len(tuple(frame_shape)) != 2 or not all(
            isinstance(s, (int, np.integer)) and s >= 1 for s in frame_shape
        ):
            raise ValueError(
                f"frame_shape must be two positive integers (height, width), got {frame_shape!r}"
            )
        self.cell = cell.lower()
        self.frame_shape = tuple(int(s) for s in frame_shape)
        s_enc, s_rnn, s_fc = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(3))
        encoder = Linear(self.frame_shape[0] * self.frame_shape[1], encoder_size, dtype=dtype, seed=s_enc)
        rnn = _CELLS[self.cell](encoder.out_features, hidden_size, dtype=dtype, seed=s_rnn, backend=backend)
        fc = Linear(rnn.hidden_size, num_classes, dtype=dtype, seed=s_fc)
        self._modules.update(encoder=encoder, rnn=rnn, fc=fc)
        self.dtype = rnn.dtype
        self._cache = None

    def __call__(self, frames):
        """frames (T, B, Hf, Wf) -> logits (B, C)."""
        frames = _check_frames(frames, self.frame_shape, self.dtype, 4)
        T, B = frames.shape[:2]
        enc, rnn, fc = self._modules["encoder"], self._modules["rnn"], self._modules["fc"]
        e = np.tanh(enc(frames.reshape(T, B, -1)))  # (T, B, E)
        _, h_n = rnn(e, None)
        h_last = (h_n[0] if isinstance(rnn, LSTM) else h_n)[-1]  # (B, H)
        self._cache = (e, h_last.shape)
        return fc(h_last)  # (B, C)

    forward = __call__

    def backward(self, dlogits):
        """dlogits (B, C) -> dframes (T, B, Hf, Wf); fills (overwrites) ``grads``."""
        if self._cache is None:
            raise RuntimeError("VideoClassifier.backward called before a forward pass")
        e, h_shape = self._cache
        enc, rnn, fc = self._modules["encoder"], self._modules["rnn"], self._modules["fc"]
        dlogits = check_output_grad(dlogits, h_shape[:1] + (fc.out_features,), self.dtype, "dlogits")
        dh_n = fc.backward(dlogits)[None]  # (1, B, H)
        dout = np.zeros(e.shape[:2] + (rnn.hidden_size,), dtype=self.dtype)  # the outputs are unused
        de, _ = rnn.backward(
            dout, (dh_n, np.zeros_like(dh_n)) if isinstance(rnn, LSTM) else dh_n
        )  # (T, B, E)
        dframes = enc.backward(de * (1.0 - e * e))  # (T, B, Hf*Wf)
        return dframes.reshape(e.shape[:2] + self.frame_shape)

    def __repr__(self):
        rnn = self._modules["rnn"]
        extra = (
            ""
            if self._modules["encoder"].out_features == 64
            else f", encoder_size={self._modules['encoder'].out_features}"
        )
        return (
            f"VideoClassifier({self.cell!r}, {self.frame_shape}, {rnn.hidden_size}, "
            f"{self._modules['fc'].out_features}{extra})"
        )


class FrameClassifier(Module):
    """The single-frame control: the same kind of encoder and a Linear map on one frame.

        logits = tanh(flatten(x) encoder.weight^T + encoder.bias) fc.weight^T + fc.bias      x (B, Hf, Wf)

    Example:
        >>> model = FrameClassifier((12, 12), 10, encoder_size=8, seed=0)
        >>> logits = model(np.zeros((3, 12, 12)))
        >>> logits.shape, model.backward(np.ones_like(logits)).shape
        ((3, 10), (3, 12, 12))
    """

    def __init__(self, frame_shape, num_classes, *, encoder_size=64, dtype=np.float64, seed=None):
        super().__init__()
        self.frame_shape = tuple(int(s) for s in frame_shape)
        s_enc, s_fc = (int(s.generate_state(1)[0]) for s in np.random.SeedSequence(seed).spawn(2))
        self._modules["encoder"] = Linear(
            self.frame_shape[0] * self.frame_shape[1], encoder_size, dtype=dtype, seed=s_enc
        )
        self._modules["fc"] = Linear(encoder_size, num_classes, dtype=dtype, seed=s_fc)
        self.dtype = np.dtype(dtype)
        self._e = None

    def __call__(self, frames):
        """frames (B, Hf, Wf) -> logits (B, C)."""
        frames = _check_frames(frames, self.frame_shape, self.dtype, 3)
        self._e = np.tanh(self._modules["encoder"](frames.reshape(len(frames), -1)))  # (B, E)
        return self._modules["fc"](self._e)

    def backward(self, dlogits):
        """dlogits (B, C) -> dframes (B, Hf, Wf); fills (overwrites) ``grads``."""
        if self._e is None:
            raise RuntimeError("FrameClassifier.backward called before a forward pass")
        de = self._modules["fc"].backward(dlogits)
        return self._modules["encoder"].backward(de * (1.0 - self._e**2)).reshape((-1,) + self.frame_shape)

    def __repr__(self):
        return f"FrameClassifier({self.frame_shape}, {self._modules['fc'].out_features})"
