"""code_features against Python's own tokenizer; unit_activations against the layer run in one call;
unit_correlations against np.corrcoef."""
import io
import tokenize

import numpy as np
import pytest

from minirnn.data.code_features import code_features
from minirnn.models import CharLM
from minirnn.models.char_units import unit_activations, unit_correlations


def _tokenizer_string_mask(text):
    """in_string from the tokenize module: 1 on every character of a STRING token."""
    starts = np.cumsum([0] + [len(line) for line in text.splitlines(keepends=True)])
    mask = np.zeros(len(text))
    for tok in tokenize.generate_tokens(io.StringIO(text).readline):
        if tok.type == tokenize.STRING:
            a = starts[tok.start[0] - 1] + tok.start[1]
            b = starts[tok.end[0] - 1] + tok.end[1]
            prefix = len(tok.string) - len(tok.string.lstrip("rRbBfFuU"))
            mask[a + prefix:b] = 1.0                    # the prefix letters are code for code_features
    return mask


def test_in_string_matches_the_tokenizer_on_a_stdlib_module():
    """textwrap.py has docstrings, short strings with escapes and quotes inside comments."""
    import textwrap
    with open(textwrap.__file__, encoding="utf-8") as fh:
        text = fh.read()
    in_string, _ = code_features(text)
    expected = _tokenizer_string_mask(text)
    assert expected.sum() > 5000
    np.testing.assert_array_equal(in_string, expected)


def test_in_string_handles_triple_quotes_escapes_and_comments():
    text = "a = '''x\n'y'\n''' # 'no'\nb = \"q\\\"r\" + 'it\\'s'\n"
    in_string, _ = code_features(text)
    np.testing.assert_array_equal(in_string, _tokenizer_string_mask(text))
    assert in_string[text.index("# 'no'") + 2] == 0.0


def test_indentation_counts_leading_spaces_read_so_far():
    _, ind = code_features("ab\n    x = 1\n  y\n")
    assert ind.tolist() == [0, 0, 0, 1, 2, 3, 4, 4, 4, 4, 4, 4, 0, 1, 2, 2, 0]


def test_code_features_refuses_a_non_string():
    with pytest.raises(TypeError, match="text must be a str"):
        code_features(b"x = 1")


def test_unit_correlations_match_np_corrcoef():
    rng = np.random.default_rng(0)
    f = rng.normal(size=200)
    a = rng.normal(size=(200, 5)) + np.outer(f, [0.0, 1.0, -2.0, 0.5, 3.0])
    expected = [np.corrcoef(a[:, k], f)[0, 1] for k in range(5)]
    np.testing.assert_allclose(unit_correlations(a, f), expected, rtol=1e-12, atol=1e-12)


def test_unit_correlations_give_zero_for_a_constant_unit_and_refuse_bad_shapes():
    a = np.column_stack([np.arange(4.0), np.full(4, 2.0)])
    assert unit_correlations(a, [1.0, 2.0, 3.0, 5.0])[1] == 0.0
    with pytest.raises(ValueError, match=r"feature must have shape \(N,\) = \(4,\)"):
        unit_correlations(a, np.ones(3))
    with pytest.raises(ValueError, match="feature must vary"):
        unit_correlations(a, np.ones(4))
    with pytest.raises(ValueError, match=r"activations must have shape \(N, H\)"):
        unit_correlations(np.ones(4), np.arange(4.0))


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_unit_activations_match_the_layer_run_over_the_whole_text(cell):
    lm = CharLM("ab \n", 6, cell=cell, num_layers=2, embed_dim=3, seed=0)
    text = "ab a\n bba"
    acts = unit_activations(lm, text)
    out, _ = lm.rnn(lm.embed(lm.vocab.encode(text)[:, None]))          # (N, 1, H): h of the last layer
    np.testing.assert_allclose(acts["h"], out[:, 0], rtol=1e-12, atol=1e-12)
    assert ("c" in acts) == (cell == "lstm")
    if cell == "lstm":                                                   # c at the end: the final state's
        _, (_, c_n) = lm.rnn(lm.embed(lm.vocab.encode(text)[:, None]))
        np.testing.assert_allclose(acts["c"][-1], c_n[-1, 0], rtol=1e-12)


def test_unit_activations_refuse_a_model_without_vocabulary_and_empty_text():
    with pytest.raises(TypeError, match="character vocabulary"):
        unit_activations(CharLM(5, 4, seed=0), "ab")
    with pytest.raises(ValueError, match="non-empty str"):
        unit_activations(CharLM("ab", 4, seed=0), "")


def test_plot_unit_text_colours_each_character_by_its_activation(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib import pyplot as plt
    from minirnn.models.char_units import plot_unit_text

    text = "ab\n c"
    act = np.array([2.0, -2.0, 0.0, 1.0, 0.5])
    fig = plot_unit_text(text, act, label="$c_t$", path=tmp_path / "u.png")
    ax = fig.axes[0]
    cmap = plt.get_cmap("RdBu_r")
    faces = [p.get_facecolor() for p in ax.patches]
    assert len(faces) == len(text)                              # one box per character, the newline's too
    np.testing.assert_allclose(faces[0], cmap(1.0))            # the largest activation: the red end
    np.testing.assert_allclose(faces[1], cmap(0.0))            # the most negative: the blue end
    np.testing.assert_allclose(faces[4], cmap(0.5 + 0.5 * 0.5 / 2.0))
    assert [t.get_text() for t in ax.texts] == ["a", "b", "", " ", "c"]
    assert (tmp_path / "u.png").stat().st_size > 1000
    with pytest.raises(ValueError, match=r"shape \(len\(text\),\) = \(5,\)"):
        plot_unit_text(text, act[:4])
    plt.close(fig)
