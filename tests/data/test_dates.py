"""Date and digit pairs: the written date means the ISO date (parsed back independently), the generator is seeded,
held-out days never appear in training pairs, and the batches are padded as documented."""
import datetime
import re

import numpy as np
import pytest

from minirnn.data import (BOS, DATE_FORMATS, EOS, LANGUAGES, PAD, PairVocab, date_pairs, date_symbols, digit_pairs,
                          encode_pairs, format_date)
from minirnn.data.dates import is_held_out

ENGLISH_MONTHS = {m: i + 1 for i, m in enumerate(LANGUAGES["en"]["months"].split())}


def parse_english(text):
    """An independent reader of every English format: returns (year, month, day)."""
    if m := re.fullmatch(r"(\d\d)/(\d\d)/(\d\d)", text):
        yy = int(m[3])
        return (2000 + yy if yy < 50 else 1900 + yy), int(m[2]), int(m[1])
    if m := re.fullmatch(r"(\d\d)-(\d\d)-(\d{4})", text):
        return int(m[3]), int(m[2]), int(m[1])
    if m := re.fullmatch(r"(\d{4})\.(\d\d)\.(\d\d)", text):
        return int(m[1]), int(m[2]), int(m[3])
    words = re.sub(r"(st|nd|rd|th)\b", "", text.replace(",", "")).split()
    words = [w for w in words if w not in ("the", "of") and w.capitalize() not in
             LANGUAGES["en"]["weekdays"].split()]
    month = [w for w in words if not w.isdigit()][0].capitalize()
    month = next(i for name, i in ENGLISH_MONTHS.items() if name.startswith(month))
    day, year = [int(w) for w in words if w.isdigit()]
    return year, month, day


def test_every_english_pair_reads_back_as_its_iso_date():
    pairs = date_pairs(2000, seed=0)
    for text, iso in pairs:
        assert datetime.date(*parse_english(text)).isoformat() == iso, text
    assert len({text for text, _ in pairs}) > 1900


def test_the_issue_examples_are_written_as_asked():
    d = datetime.date(2001, 3, 3)
    assert format_date(d, "ordinal_of") == "the 3rd of March 2001"
    assert format_date(d, "slash_short") == "03/03/01"
    assert format_date(d, "long") == "Saturday, March 3, 2001"
    assert [format_date(datetime.date(2001, 1, k), "ordinal_of").split()[1] for k in (1, 2, 11, 12, 13, 21, 22)] == \
        ["1st", "2nd", "11th", "12th", "13th", "21st", "22nd"]


def test_weekdays_are_right_in_every_language():
    d = datetime.date(2024, 2, 29)                         # a Thursday
    assert [format_date(d, "long", lang) for lang in ("en", "fr", "de", "es")] == [
        "Thursday, February 29, 2024", "jeudi 29 février 2024", "Donnerstag, 29. Februar 2024",
        "jueves, 29 de febrero de 2024"]


def test_the_generator_is_seeded_and_covers_formats_languages_and_the_range():
    a = date_pairs(3000, seed=5, languages=("en", "fr", "de", "es"))
    assert a == date_pairs(3000, seed=5, languages=("en", "fr", "de", "es")) != date_pairs(3000, seed=6)
    years = [int(iso[:4]) for _, iso in a]
    assert min(years) == 1950 and max(years) == 2049
    assert any("mars" in t for t, _ in a) and any("März" in t for t, _ in a) and any(" de " in t for t, _ in a)
    symbols = set(date_symbols(("en", "fr", "de", "es")))
    assert all(set(t) <= symbols for t, _ in a)
    assert len(DATE_FORMATS) >= 9


def test_held_out_days_never_appear_in_training_pairs():
    train = date_pairs(20000, seed=1, part="train")
    test = date_pairs(2000, seed=1, part="test")
    assert not any(is_held_out(datetime.date.fromisoformat(iso)) for _, iso in train)
    assert all(is_held_out(datetime.date.fromisoformat(iso)) for _, iso in test)
    assert not {iso for _, iso in train} & {iso for _, iso in test}


def test_digit_pairs_reverse_and_sort():
    for s, t in digit_pairs(200, "reverse", 1, 9, seed=0):
        assert t == s[::-1] and 1 <= len(s) <= 9
    for s, t in digit_pairs(200, "sort", 3, 3, seed=0):
        assert t == "".join(sorted(s)) and len(s) == 3


def test_encode_pairs_pads_time_major_with_start_and_end_tokens():
    v = PairVocab("0123456789")
    b = encode_pairs([("12", "21"), ("345", "5")], v, v)
    assert b["src"].T.tolist() == [[4, 5, PAD], [6, 7, 8]]
    assert b["src_lengths"].tolist() == [2, 3]
    assert b["tgt_in"].T.tolist() == [[BOS, 5, 4], [BOS, 8, PAD]]
    assert b["tgt_out"].T.tolist() == [[5, 4, EOS], [8, EOS, PAD]]
    assert b["tgt_mask"].T.tolist() == [[True, True, True], [True, True, False]]
    assert v.decode(b["tgt_out"][:, 0]) == "21"


@pytest.mark.parametrize("call, message", [
    (lambda: date_pairs(0, seed=0), "n must be an integer >= 1"),
    (lambda: date_pairs(3, seed=0, languages=("xx",)), "languages must be"),
    (lambda: date_pairs(3, seed=0, formats=("iso",)), "formats must be"),
    (lambda: date_pairs(3, seed=0, part="dev"), "part must be"),
    (lambda: digit_pairs(3, "shuffle"), "task must be one of"),
    (lambda: encode_pairs([("1x", "1")], PairVocab("01"), PairVocab("01")), "'x', which is not in the vocabulary"),
    (lambda: PairVocab("aa"), "distinct"),
])
def test_bad_arguments_are_refused_with_a_sentence(call, message):
    with pytest.raises((ValueError, TypeError), match=message):
        call()
