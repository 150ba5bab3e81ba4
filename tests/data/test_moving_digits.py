"""Moving digits: the labels are what the frames show, held-out videos use held-out glyphs, the order-free controls
are blind to direction, and the shipped file is checked before it is trusted."""
from __future__ import annotations

import gzip
import importlib

import numpy as np
import pytest

from minirnn import data
from minirnn.training.recipes_video import mean_frame_accuracy, shuffle_frames

md = importlib.import_module("minirnn.data.moving_digits")      # the module (the package exports the function)


def _glyphs_in(frame, images, labels):
    """Labels of the glyphs that make up the whole of ``frame``, found at any place, wrapping around the edges."""
    found = []
    for r in range(frame.shape[0]):
        for c in range(frame.shape[1]):
            window = np.roll(frame, (-r, -c), axis=(0, 1))[:8, :8]
            if window.sum() == frame.sum():                            # the whole glyph lies in this window
                found += [labels[i] for i in np.flatnonzero((images == window).all(axis=(1, 2)))]
    return found


def test_the_shipped_digits_are_the_1797_uci_images_split_80_20_per_class_without_overlap():
    images, labels = data.digit_images("all")
    train, test = data.digit_images("train"), data.digit_images("test")
    assert images.shape == (1797, 8, 8) and images.min() == 0.0 and images.max() == 1.0
    assert np.bincount(labels).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174, 180]
    assert len(train[0]) + len(test[0]) == 1797
    for c in range(10):                              # the first 80% of each class in file order, the rest held out
        idx = np.flatnonzero(labels == c)
        cut = int(round(0.8 * len(idx)))
        np.testing.assert_array_equal(test[0][test[1] == c], images[idx[cut:]])
        np.testing.assert_array_equal(train[0][train[1] == c], images[idx[:cut]])


def test_same_seed_same_videos_and_frames_are_in_the_unit_interval():
    for label in data.LABELS:
        a, ya = data.moving_digits(5, 6, label=label, seed=3)
        b, yb = data.moving_digits(5, 6, label=label, rng=np.random.default_rng(3))
        np.testing.assert_array_equal(a, b)
        np.testing.assert_array_equal(ya, yb)
        assert a.shape == (6, 5, 20, 20) and a.min() >= 0.0 and a.max() <= 1.0
        assert ya.min() >= 0 and ya.max() < data.LABELS[label]


def test_direction_label_is_the_way_each_digit_moves_one_pixel_per_frame_around_the_torus():
    frames, y = data.moving_digits(40, 10, label="direction", seed=0)
    assert sorted(set(y.tolist())) == [0, 1, 2, 3]
    for b in range(40):
        horizontal, vertical = data.DIRECTIONS[y[b]]
        dx, dy = (1 if horizontal == "right" else -1), (1 if vertical == "down" else -1)
        for t in range(4):                                   # frames 0..4: the first digit moves sideways
            np.testing.assert_array_equal(frames[t + 1, b], np.roll(frames[t, b], dx, axis=1))
            assert not np.array_equal(frames[t + 1, b], np.roll(frames[t, b], -dx, axis=1))
        for t in range(5, 9):                                # frames 5..9: the second one up or down
            np.testing.assert_array_equal(frames[t + 1, b], np.roll(frames[t, b], dy, axis=0))
            assert not np.array_equal(frames[t + 1, b], np.roll(frames[t, b], -dy, axis=0))


def test_a_single_frame_shows_no_direction_every_place_is_equally_likely():
    frames, y = data.moving_digits(4000, 10, label="direction", seed=5)
    cols = frames[2].sum(axis=1).argmax(axis=-1)             # frame 2: where the first digit's brightest column is
    for c in range(4):                                       # the same spread of places for every class
        counts = np.bincount(cols[y == c], minlength=20) / np.sum(y == c)
        assert np.abs(counts - 0.05).max() < 0.035           # uniform over 20 columns, ~1000 videos per class


def test_held_out_videos_show_only_held_out_glyphs():
    frames, y = data.moving_digits(30, 4, label="memory", split="test", size=12, seed=1)
    test_images, test_labels = data.digit_images("test")
    for b in range(30):
        assert y[b] in _glyphs_in(frames[0, b], test_images, test_labels)
        assert np.all(frames[1:, b] > 0) and np.all(frames[1:, b] < 1)   # then K = 3 frames of uniform noise


def test_digit_label_is_the_glyph_and_any_single_frame_shows_it():
    frames, y = data.moving_digits(20, 5, label="digit", split="test", size=12, seed=2)
    images, labels = data.digit_images("test")
    for b in range(20):
        for t in (0, 4):
            assert y[b] in _glyphs_in(frames[t, b], images, labels)


def test_mean_frame_regression_is_at_chance_on_direction_but_reads_a_digit_that_stays_put():
    direction = mean_frame_accuracy("direction", n_train=1000, n_test=1000, steps=300, seed=0)
    digit = mean_frame_accuracy("memory", T=2, size=9, n_train=1000, n_test=1000, steps=300, seed=0)
    assert abs(direction - 0.25) < 0.05                  # 1000 test videos: one standard error is 0.014
    assert digit > 0.5                                   # the same control reads a flashed digit (chance 0.1)


def test_shuffled_frames_keep_each_video_s_frames():
    frames, _ = data.moving_digits(6, 8, label="direction", seed=4)
    shuffled = shuffle_frames(frames, seed=0)
    np.testing.assert_allclose(shuffled.sum(0), frames.sum(0))
    assert not np.array_equal(shuffled, frames)
    for b in range(6):
        assert sorted(map(bytes, shuffled[:, b])) == sorted(map(bytes, frames[:, b]))


@pytest.mark.parametrize("kwargs, words", [
    ({"label": "speed"}, "label must be one of"),
    ({"split": "validation"}, "split must be"),
    ({"T": 3}, "at least 4 for label='direction'"),
    ({"T": 14, "label": "digit"}, "T must be at most size - 7 = 13 for label='digit'"),
    ({"size": 8}, "size must be an integer >= 9"),
    ({"T": 2.5}, "T must be an integer"),
])
def test_bad_arguments_are_named(kwargs, words):
    with pytest.raises(ValueError, match=words):
        data.moving_digits(2, **{"T": 6, **kwargs})


def test_a_crafted_digits_file_is_refused_before_it_is_inflated(tmp_path, monkeypatch):
    bomb = tmp_path / "bomb.csv.gz"
    with gzip.open(bomb, "wb") as f:
        f.write(b"0," * (1 << 20))
    short = tmp_path / "short.csv.gz"
    with gzip.open(short, "wb") as f:
        f.write(b"0,1,2\n3,4,5\n")
    try:
        for path, words in ((bomb, "inflates to more than"), (short, "must hold 1797 rows")):
            md._read_digits.cache_clear()
            monkeypatch.setattr(md, "_FILE", str(path))
            with pytest.raises(ValueError, match=words):
                data.digit_images("all")
    finally:
        monkeypatch.undo()
        md._read_digits.cache_clear()
    assert data.digit_images("all")[0].shape == (1797, 8, 8)
