"""Moving digits: short videos of handwritten digits sliding across a canvas, for video classification.

In the spirit of Moving MNIST (Srivastava, Mansimov & Salakhutdinov 2015), small and offline: the glyphs are
the 1797 8x8 images of the UCI optical digits set (shipped here as ``digits.csv.gz``, CC BY 4.0, see
README.md). Three labels, three questions a video can ask:

- ``"direction"``: one digit crosses the canvas sideways (right or left), then a second one up or down; the
  label is the pair of directions, 4 classes. Whatever the label, the frames are one horizontal and one
  vertical path of positions, so a model that sees the frames without their order (the mean frame, shuffled
  frames) is at chance, 25%: only the ORDER of the frames tells which way each digit went. Why not simpler: a
  single digit's path shows its axis in the mean frame (the order-blind controls could reach 50%); two digits
  moving at once keep, in every shuffled frame, the pair of their positions, which shows the diagonal of their
  joint motion. Motion wraps around the edges (the canvas is a torus) and starts anywhere, so the digit's
  place in any ONE frame is uniform whatever the direction; on a walled canvas a rightward path must start on
  the left, and a single frame at a known time would give the direction away.
- ``"digit"``: one digit slides in one of 4 directions, on a walled canvas (it stays whole); the label is the
  digit, 10 classes. Any single frame shows it.
- ``"memory"``: the digit is flashed in frame 0, then ``T - 1`` frames of uniform noise; the label is the
  digit. The model must carry it through K = T - 1 steps of noise.

The images are split once, per class in file order: the first 80% are ``split="train"``, the last 20%
``split="test"``, so held-out videos show handwriting never seen in training. Videos are time-major, frames
``(T, n, size, size)`` in [0, 1]; the same seed gives the same videos.
"""

from __future__ import annotations

import functools
import gzip
import os

import numpy as np

from ._checks import check_int, make_rng

__all__ = ["digit_images", "moving_digits", "LABELS", "DIRECTIONS", "GLYPH"]

#: The three labels of :func:`moving_digits` and their number of classes.
LABELS = {"direction": 4, "digit": 10, "memory": 10}
#: The classes of ``label="direction"``: (horizontal digit's way, vertical digit's way), as (dx, dy) per
#: frame.
DIRECTIONS = (("right", "down"), ("right", "up"), ("left", "down"), ("left", "up"))
#: Side of a glyph in pixels.
GLYPH = 8
_FILE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "digits.csv.gz")
_ROWS, _COLS, _MAX_BYTES = 1797, 65, 1 << 20
_TRAIN_FRACTION = 0.8


@functools.lru_cache(maxsize=1)
def _read_digits():
    """The shipped file as (images (1797, 8, 8) float64 in [0, 1], labels (1797,) int64); checked, read
    once."""
    with gzip.open(_FILE, "rb") as f:
        raw = f.read(_MAX_BYTES + 1)  # refuse a file that inflates beyond 1 MiB
    if len(raw) > _MAX_BYTES:
        raise ValueError(
            f"{_FILE} inflates to more than {_MAX_BYTES} bytes; expected the UCI digits (~270 kB)"
        )
    table = np.loadtxt(raw.decode("ascii").splitlines(), delimiter=",", dtype=np.int64)
    if table.shape != (_ROWS, _COLS) or table.min() < 0 or table[:, :64].max() > 16 or table[:, 64].max() > 9:
        raise ValueError(
            f"{_FILE} must hold {_ROWS} rows of 64 pixels in 0..16 and a label in 0..9, "
            f"got shape {table.shape}"
        )
    images = table[:, :64].reshape(-1, GLYPH, GLYPH) / 16.0
    images.flags.writeable = False
    labels = table[:, 64].copy()
    labels.flags.writeable = False
    return images, labels


def digit_images(split="train"):
    """The 8x8 glyphs of one split: the first 80% of each digit's images in file order ("train"), the last 20%
    ("test"), or all 1797 ("all").

    Returns:
        images (N, 8, 8) float64 in [0, 1] (read-only), labels (N,) int64 in 0..9.

    Example:
        >>> images, labels = digit_images("test")
        >>> images.shape, np.bincount(labels).tolist()[:3]
        ((359, 8, 8), [36, 36, 35])
    """
    images, labels = _read_digits()
    if split == "all":
        return images, labels
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train', 'test' or 'all', got {split!r}")
    keep = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        cut = int(round(_TRAIN_FRACTION * len(idx)))
        keep[idx[:cut] if split == "train" else idx[cut:]] = True
    return images[keep], labels[keep]


def _paste(frames, glyph, rows, cols):
    """Draw ``glyph`` (8, 8) into ``frames[t]`` (T, S, S) with its corner at (rows[t], cols[t]), wrapping
    around the
    edges (a glyph that leaves on the right comes back on the left), keeping the brighter pixel."""
    size = frames.shape[-1]
    r = (np.asarray(rows)[:, None] + np.arange(GLYPH)) % size  # (T, 8) the glyph's rows in each frame
    c = (np.asarray(cols)[:, None] + np.arange(GLYPH)) % size  # (T, 8) and its columns
    where = (np.arange(len(r))[:, None, None], r[:, :, None], c[:, None, :])  # (T, 8, 8) after broadcasting
    frames[where] = np.maximum(frames[where], glyph)


def _path(g, T, size, step, wrap=True):
    """Positions along one axis of a glyph moving ``step`` (+1 or -1) pixels per frame: from anywhere, modulo
    size
    (``wrap``), or from wherever the whole path stays on the canvas."""
    if wrap:
        return (g.integers(0, size) + step * np.arange(T)) % size
    start = g.integers(0, size - GLYPH - (T - 1) + 1)  # the first column of the leftmost frame
    return start + np.arange(T) if step > 0 else start + (T - 1) - np.arange(T)


def _direction_videos(g, n, T, size, images):
    """The ``"direction"`` videos, all at once: frames [0, h) hold glyph i_b on row r_b, its columns moving
    (c_b + dx_b t) mod size; frames [h, T) glyph j_b on column c'_b, its rows moving (r'_b + dy_b (t - h))
    mod size."""
    h = T // 2  # frames of the first digit
    dx, dy = g.choice((1, -1), size=(2, n))
    i, j = g.integers(0, len(images), size=(2, n))
    row, col, row2, col2 = g.integers(0, size, size=(4, n))
    frames = np.zeros((T, n, size, size))
    b = np.arange(n)[None, :, None, None]  # axes: (t, b, glyph row, glyph column)
    p = np.arange(GLYPH)[None, None, :, None]
    q = np.arange(GLYPH)[None, None, None, :]
    t = np.arange(h)[:, None, None, None]
    frames[t, b, (row[b] + p) % size, (col[b] + dx[b] * t + q) % size] = images[i][None]  # (h, n, 8, 8)
    t = np.arange(T - h)[:, None, None, None]
    frames[h + t, b, (row2[b] + dy[b] * t + p) % size, (col2[b] + q) % size] = images[j][
        None
    ]  # (T-h, n, 8, 8)
    return frames, 2 * (dx < 0) + (dy < 0)


def moving_digits(n, T=10, *, label="direction", split="train", size=20, seed=None, rng=None):
    """``n`` videos of ``T`` frames on a ``size`` x ``size`` canvas, and their labels (see the module
    docstring).

    Motion is one pixel per frame. ``"direction"``: in frames [0, T//2) a digit on a random row moves dx = +1
    (right) or -1 (left); in frames [T//2, T) another digit on a random column moves dy = +1 (down) or -1
    (up), both wrapping around the edges; label ``2 * (dx < 0) + (dy < 0)`` (the order of ``DIRECTIONS``).
    ``"digit"``: one digit moves right, left, down or up (uniformly) and stays on the canvas; label its digit.
    ``"memory"``: the digit at a random place in frame 0, then T - 1 noise frames
    U(0, 1); label its digit. Overlapping digits keep the brighter pixel. Glyphs are drawn from ``split``.

    Args:
        n: number of videos, >= 1.  T: frames, >= 2 (direction: >= 4; digit: <= size - 7, so the path fits).
        label: "direction" | "digit" | "memory".  split: "train" | "test" (the glyphs, see
        :func:`digit_images`). size: canvas side in pixels, >= 9.  seed / rng: the randomness.

    Returns:
        frames (T, n, size, size) float64 in [0, 1], labels (n,) int64.

    Example:
        >>> frames, y = moving_digits(3, T=6, label="direction", seed=2)
        >>> frames.shape, y.tolist()
        ((6, 3, 20, 20), [2, 0, 1])
        >>> frames, y = moving_digits(2, T=4, label="memory", split="test", size=12, seed=0)
        >>> frames.shape, float(frames[1:].min()) >= 0.0
        ((4, 2, 12, 12), True)
    """
    n = check_int(n, "n", 1)
    T = check_int(T, "T", 2)
    size = check_int(size, "size", GLYPH + 1)
    if label not in LABELS:
        raise ValueError(f"label must be one of {tuple(LABELS)}, got {label!r}")
    if label == "direction" and T < 4:
        raise ValueError(f"T must be at least 4 for label='direction' (two frames per digit), got T={T}")
    if label == "digit" and T > size - GLYPH + 1:
        raise ValueError(
            f"T must be at most size - {GLYPH - 1} = {size - GLYPH + 1} for label='digit' (the path of "
            f"T frames must fit on the {size}x{size} canvas), got T={T}"
        )
    g = make_rng(seed, rng)
    images, digits = digit_images(split)
    frames = np.zeros((T, n, size, size))
    y = np.zeros(n, dtype=np.int64)
    if label == "direction":
        return _direction_videos(g, n, T, size, images)
    for b in range(n):
        video = frames[:, b]  # (T, size, size), a view
        if label == "digit":
            i = g.integers(0, len(images))
            axis, step = g.integers(0, 2), g.choice((1, -1))
            moving, still = _path(g, T, size, step, wrap=False), np.full(T, g.integers(0, size - GLYPH + 1))
            _paste(video, images[i], *((still, moving) if axis == 0 else (moving, still)))
            y[b] = digits[i]
        else:
            i = g.integers(0, len(images))
            r, c = g.integers(0, size - GLYPH + 1, size=2)
            _paste(video[:1], images[i], [r], [c])
            video[1:] = g.uniform(0.0, 1.0, size=(T - 1, size, size))
            y[b] = digits[i]
    return frames, y
