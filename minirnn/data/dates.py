"""Human-written dates and their ISO form, from a seeded generator: "the 3rd of March 2001", "03/03/01",
"Saturday, March 3, 2001" -> "2001-03-03". The translation task of ``minirnn train translate``.

Dates are drawn uniformly from ``start``-01-01 to ``end``-12-31 (default 1950-2049) and written in one of the
formats below, chosen uniformly, in one of the chosen languages (month and weekday names of English, French,
German,
Spanish). Two conventions make every input unambiguous: numeric dates are day first (``dd/mm/yy``, European),
and a two-digit year ``yy`` means 20yy for yy < 50, else 19yy (which is why the default range is 1950-2049).

=================  ================================  ===========================================
format             English                           the other languages
=================  ================================  ===========================================
ordinal_of         the 3rd of March 2001             (English only; others use ``long``)
long               Saturday, March 3, 2001           samedi 3 mars 2001 / Samstag, 3. März 2001
day_month_year     3 March 2001                      3 mars 2001 / 3. März 2001 / 3 de marzo de 2001
month_day_year     March 3, 2001                     (English only; others use ``day_month_year``)
abbreviated        3 Mar 2001                        3 mar 2001 (first three letters, lower case)
lower              march 3 2001                      3 mars 2001 in lower case
slash_short        03/03/01                          the same
dash_long          03-03-2001                        the same
dotted_iso         2001.03.03                        the same
=================  ================================  ===========================================
"""

from __future__ import annotations

import datetime

import numpy as np

from ._checks import check_int, make_rng

__all__ = [
    "date_pairs",
    "is_held_out",
    "DATE_FORMATS",
    "LANGUAGES",
    "date_symbols",
    "ISO_SYMBOLS",
    "format_date",
]

LANGUAGES = {
    "en": {
        "months": "January February March April May June July August September October November December",
        "weekdays": "Monday Tuesday Wednesday Thursday Friday Saturday Sunday",
        "long": "{weekday}, {month} {day}, {year}",
        "day_month_year": "{day} {month} {year}",
    },
    "fr": {
        "months": "janvier février mars avril mai juin juillet août septembre octobre novembre décembre",
        "weekdays": "lundi mardi mercredi jeudi vendredi samedi dimanche",
        "long": "{weekday} {day} {month} {year}",
        "day_month_year": "{day} {month} {year}",
    },
    "de": {
        "months": "Januar Februar März April Mai Juni Juli August September Oktober November Dezember",
        "weekdays": "Montag Dienstag Mittwoch Donnerstag Freitag Samstag Sonntag",
        "long": "{weekday}, {day}. {month} {year}",
        "day_month_year": "{day}. {month} {year}",
    },
    "es": {
        "months": "enero febrero marzo abril mayo junio julio agosto septiembre octubre noviembre diciembre",
        "weekdays": "lunes martes miércoles jueves viernes sábado domingo",
        "long": "{weekday}, {day} de {month} de {year}",
        "day_month_year": "{day} de {month} de {year}",
    },
}
ISO_SYMBOLS = "0123456789-"


def _ordinal(day: int) -> str:
    suffix = "th" if 10 <= day % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(day % 10, "th")
    return f"{day}{suffix}"


def _named(d: datetime.date, lang: str, template: str) -> str:
    names = LANGUAGES[lang]
    return names[template].format(
        weekday=names["weekdays"].split()[d.weekday()],
        month=names["months"].split()[d.month - 1],
        day=d.day,
        year=d.year,
    )


def _english_only(english, fallback):
    return lambda d, lang: english(d) if lang == "en" else _named(d, lang, fallback)


DATE_FORMATS = {
    "ordinal_of": _english_only(lambda d: f"the {_ordinal(d.day)} of {d:%B} {d.year}", "long"),
    "long": lambda d, lang: _named(d, lang, "long"),
    "day_month_year": lambda d, lang: _named(d, lang, "day_month_year"),
    "month_day_year": _english_only(lambda d: f"{d:%B} {d.day}, {d.year}", "day_month_year"),
    "abbreviated": lambda d, lang: (
        f"{d.day} {LANGUAGES[lang]['months'].split()[d.month - 1][:3]} {d.year}"
        if lang != "en"
        else f"{d.day} {d:%b} {d.year}"
    ),
    "lower": lambda d, lang: (
        f"{d:%B} {d.day} {d.year}" if lang == "en" else _named(d, lang, "day_month_year")
    ).lower(),
    "slash_short": lambda d, lang: f"{d.day:02d}/{d.month:02d}/{d.year % 100:02d}",
    "dash_long": lambda d, lang: f"{d.day:02d}-{d.month:02d}-{d.year}",
    "dotted_iso": lambda d, lang: f"{d.year}.{d.month:02d}.{d.day:02d}",
}


def format_date(date: datetime.date, fmt: str, lang: str = "en") -> str:
    """``date`` written in format ``fmt`` (a key of ``DATE_FORMATS``) and language ``lang``.

    Example:
        >>> d = datetime.date(2001, 3, 3)
        >>> [format_date(d, f) for f in ("ordinal_of", "slash_short", "long")]
        ['the 3rd of March 2001', '03/03/01', 'Saturday, March 3, 2001']
        >>> format_date(d, "long", "de")
        'Samstag, 3. März 2001'
    """
    if fmt not in DATE_FORMATS:
        raise ValueError(f"fmt must be one of {tuple(DATE_FORMATS)}, got {fmt!r}")
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {tuple(LANGUAGES)}, got {lang!r}")
    # %B / %b are locale-dependent; these are computed from our own table so the C locale is not assumed
    if lang == "en":
        names = LANGUAGES["en"]["months"].split()
        fake = _EnglishDate(date, names[date.month - 1])
        return DATE_FORMATS[fmt](fake, lang)
    return DATE_FORMATS[fmt](date, lang)


class _EnglishDate:
    """A date whose ``%B`` and ``%b`` are the English month names, whatever the process locale."""

    def __init__(self, date, month_name):
        self._date, self._month = date, month_name
        self.year, self.month, self.day = date.year, date.month, date.day

    def weekday(self):
        return self._date.weekday()

    def __format__(self, spec):
        return {"%B": self._month, "%b": self._month[:3]}.get(spec) or format(self._date, spec)


def date_symbols(languages=("en",)) -> str:
    """Every character the generator can write for these languages, sorted (the source vocabulary).

    Example:
        >>> date_symbols()[:12]
        ' ,-./0123456'
    """
    chars = set("0123456789 ,-./thsrdnof")
    for lang in _check_languages(languages):
        for key in ("months", "weekdays", "long", "day_month_year"):
            text = LANGUAGES[lang][key]
            chars |= set(text) | set(text.lower())
    chars -= set("{}")
    return "".join(sorted(chars))


def _check_languages(languages):
    languages = (languages,) if isinstance(languages, str) else tuple(languages)
    bad = [lang for lang in languages if lang not in LANGUAGES]
    if not languages or bad:
        raise ValueError(f"languages must be a non-empty list of {tuple(LANGUAGES)}, got {languages!r}")
    return languages


def is_held_out(date: datetime.date) -> bool:
    """True for the tenth of all days kept for testing (``date.toordinal() % 10 == 3``: spread over every
    month,
    weekday and year), which ``date_pairs(part="train")`` never writes."""
    return date.toordinal() % 10 == 3


def date_pairs(
    n, *, seed=None, rng=None, languages=("en",), formats=None, start=1950, end=2049, part="all"
) -> list:
    """``n`` pairs (human-written date, ISO date ``YYYY-MM-DD``), dates uniform in ``start``..``end``.

    Args:
        n: how many.  seed / rng: the randomness (one of them).  languages: month and weekday names to draw
        from. formats: names from ``DATE_FORMATS`` (default all).  start, end: the years (inclusive).
        part: "all" days, only the "train" days, or only the held-out "test" days (:func:`is_held_out`).

    Example:
        >>> date_pairs(3, seed=0)
        [('24 January 2035', '2035-01-24'), ('12 September 2013', '2013-09-12'),
         ('the 11th of February 2001', '2001-02-11')]
    """
    n = check_int(n, "n", 1)
    start, end = check_int(start, "start", 1), check_int(end, "end", 1)
    if end < start or end > 9999:
        raise ValueError(f"end must lie in start..9999 = {start}..9999, got {end}")
    languages = _check_languages(languages)
    formats = tuple(DATE_FORMATS) if formats is None else tuple(formats)
    bad = [f for f in formats if f not in DATE_FORMATS]
    if not formats or bad:
        raise ValueError(f"formats must be a non-empty list of {tuple(DATE_FORMATS)}, got {formats!r}")
    if part not in ("all", "train", "test"):
        raise ValueError(f"part must be 'all', 'train' or 'test', got {part!r}")
    rng = make_rng(seed, rng)
    first, last = datetime.date(start, 1, 1).toordinal(), datetime.date(end, 12, 31).toordinal()
    days = rng.integers(first, last + 1, size=n)
    if part != "all":  # move each day to the nearest day of its part, upwards
        offset = (3 - days) % 10 if part == "test" else np.where(days % 10 == 3, 1, 0)
        days = np.where(days + offset > last, days + offset - 10, days + offset)
    fmt = rng.integers(0, len(formats), size=n)
    lang = rng.integers(0, len(languages), size=n)
    out = []
    for d, f, g in zip(days, fmt, lang):
        date = datetime.date.fromordinal(int(d))
        out.append((format_date(date, formats[f], languages[g]), date.isoformat()))
    return out
