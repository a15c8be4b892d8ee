"""Properties of date phrases in both languages, over any day, hour and clinic zone (pure, no I/O).

No deadlines: the first phrase only the fallback library reads loads it (about a second)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from services.availability.phrases import DateMismatch, DateRequest, PhraseError, Reading, resolve
from tests.unit import phrase_tables
from tests.unit.phrase_tables import DIAS, DIAS_SIN_ACENTO, ENGLISH, MESES, SPANISH, Row
from tests.unit.test_phrases_grammar import DAYS, MONTHS, TABLE

ZONES = [ZoneInfo(name) for name in ("America/Los_Angeles", "America/New_York", "America/Mexico_City",
                                     "Europe/Madrid", "Pacific/Auckland", "Pacific/Honolulu")]  # fmt: skip
EN = Reading("en")
ES = Reading(*phrase_tables.ES)
SUFFIXES = {1: "st", 2: "nd", 3: "rd", 21: "st", 22: "nd", 23: "rd", 31: "st"}
# Rows without an explicit year: none may resolve to a day before today unless refused as past.
UNDATED = [Row(p, o) for p, o in TABLE if "2027" not in p] + [
    r for r in ENGLISH + SPANISH if "2026" not in r.phrase and "2027" not in r.phrase
]

todays = st.dates(date(2026, 1, 1), date(2028, 12, 31))
clock = st.times(time(0, 0), time(23, 59))
zones = st.sampled_from(ZONES)


def at(today: date, when: time, zone: ZoneInfo) -> datetime:
    return datetime.combine(today, when, tzinfo=zone)


@settings(max_examples=400, deadline=None)
@given(row=st.sampled_from(UNDATED), today=todays, when=clock, zone=zones)
def test_never_a_past_date(row: Row, today: date, when: time, zone: ZoneInfo) -> None:
    try:
        request = resolve(row.phrase, at(today, when, zone), Reading(*row.reading))
    except DateMismatch:
        return
    assert request.in_past or request.start >= today, (row.phrase, today, request)


def _english_weekday_dates(weekday: int, day: int, month: int) -> list[str]:
    name, month_name = DAYS[weekday], MONTHS[month - 1]
    suffix = SUFFIXES.get(day, "th")
    return [
        f"{name} the {day}{suffix}",
        f"{name[:3]} {day}",
        f"{name.title()}, {month_name.title()} {day}{suffix}",
        f"{name} {day} {month_name}",
        f"{name} {month}/{day}",
        f"{name} {month_name[:3]} {day} at 3 pm",
        f"{name[:3]} 2027/{month}/{day}",  # the fallback library's reading, checked as ours
    ]


def _spanish_weekday_dates(weekday: int, day: int, month: int) -> list[str]:
    dia, plain, mes = DIAS[weekday], DIAS_SIN_ACENTO[weekday], MESES[month - 1]
    return [f"el {dia} {day}", f"el {plain} día {day}", f"el {dia} {day} de {mes}", f"{plain}, {day} de {mes}",
            f"el {dia} {day}/{month} por la tarde"]  # fmt: skip


def _said_weekday_kept(phrase: str, reading: Reading, weekday: int, now: datetime) -> None:
    try:
        request: DateRequest = resolve(phrase, now, reading)
    except DateMismatch as mismatch:
        assert mismatch.said_weekday == weekday and mismatch.day.weekday() != weekday, phrase
        return
    except PhraseError:
        return  # an impossible date ("Monday, February 30th")
    assert request.start == request.end and request.start.weekday() == weekday, (phrase, request)


@settings(max_examples=300, deadline=None)
@given(weekday=st.integers(0, 6), day=st.integers(1, 31), month=st.integers(1, 12), today=todays, zone=zones)
def test_a_weekday_with_a_date_never_resolves_to_another_weekday(
    weekday: int, day: int, month: int, today: date, zone: ZoneInfo
) -> None:
    now = at(today, time(23, 30), zone)
    for phrase in _english_weekday_dates(weekday, day, month):
        _said_weekday_kept(phrase, EN, weekday, now)
    for phrase in _spanish_weekday_dates(weekday, day, month):
        _said_weekday_kept(phrase, ES, weekday, now)


SAME_MEANING = [
    ("el próximo martes", "next tuesday"),
    ("el viernes que viene por la tarde", "next friday afternoon"),
    ("este sábado", "this saturday"),
    ("pasado mañana a las 10", "the day after tomorrow at 10"),
    ("dentro de tres semanas", "in three weeks"),
    ("el primer lunes del mes que viene", "the first monday of next month"),
    ("el último jueves de marzo", "the last thursday of march"),
    ("la semana que viene", "next week"),
    ("a finales de la semana que viene", "late next week"),
    ("el 3 de febrero", "february 3rd"),
    ("el martes 9", "tuesday the 9th"),
    ("mañana después de las 2", "tomorrow after 2"),
    ("antes de las 11 del viernes", "friday before 11"),
]


@settings(max_examples=200, deadline=None)
@given(pair=st.sampled_from(SAME_MEANING), today=todays, when=clock, zone=zones)
def test_spanish_means_what_the_same_words_mean_in_english(
    pair: tuple[str, str], today: date, when: time, zone: ZoneInfo
) -> None:
    spanish, english = pair
    now = at(today, when, zone)

    def read(phrase: str, reading: Reading) -> object:
        try:
            return resolve(phrase, now, reading)
        except DateMismatch as mismatch:
            return mismatch.said_weekday, mismatch.day

    assert read(spanish, ES) == read(english, EN)


@settings(max_examples=200, deadline=None)
@given(hour=st.integers(1, 12), half=st.sampled_from(["am", "pm", ""]), today=todays)
def test_after_and_before_an_hour(hour: int, half: str, today: date) -> None:
    bare = hour + 12 if hour <= 7 else hour  # "after 4" is 4 PM, "after 9" 9 AM, "after 12" noon
    expected_hour = {"am": hour % 12, "pm": hour % 12 + 12, "": bare}[half]
    now = at(today, time(8, 0), ZONES[0])
    assert resolve(f"tomorrow after {hour} {half}".strip(), now).after == time(expected_hour)
    assert resolve(f"before {hour}{half} on friday", now).before == time(expected_hour)
    if half != "am":  # Spanish says "de la tarde", not AM/PM
        spanish = f"mañana después de las {hour}" + (" de la tarde" if half == "pm" else "")
        assert resolve(spanish, now, ES).after == time(expected_hour)
