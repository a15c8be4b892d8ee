"""English and Spanish date phrases against their oracles, for many "todays" of 2026 (pure, no I/O).

Every call is made late at night in Los Angeles (23:30, already the next day in UTC), as the
service does it: the UTC clock turned into the clinic's zone. The todays (phrase_tables.TODAYS)
are every other day of 2026 plus every day around the DST changes and every month's first and
last day, so each phrase crosses DST, month and year ends.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from services.availability.phrases import DateMismatch, PhraseError, Reading, resolve
from tests.unit.phrase_tables import DST_CHANGES, ENGLISH, ES, LA, SPANISH, TODAYS, Row, clinic_now, last_day
from tests.unit.test_phrases_grammar import ATTACHED, ATTACHED_TO, MISMATCH, PAST, TABLE, Expected


def got(row: Row, today: date) -> Expected:
    try:
        request = resolve(row.phrase, clinic_now(today), Reading(*row.reading))
    except DateMismatch:
        return MISMATCH
    except PhraseError as error:
        return f"error: {error}"
    if request.in_past:
        return PAST
    said = (request.part_of_day, request.at, request.after, request.before)
    if said != (row.part, row.at, row.after, row.before):
        return f"times: {said}"
    return request.start, request.end


def wrong_days(row: Row, todays: list[date]) -> list[tuple[date, Expected, Expected]]:
    answers = [(today, got(row, today), row.oracle(today)) for today in todays]
    return [answer for answer in answers if answer[1] != answer[2]]


def test_enough_phrases_in_each_language() -> None:
    english = (
        {p for p, _ in TABLE} | {f.format(d) for f, _, _ in ATTACHED for d in ATTACHED_TO} | {r.phrase for r in ENGLISH}
    )
    assert len(english) >= 300
    assert len({r.phrase for r in SPANISH}) >= 100


def test_the_todays_cross_dst_month_and_year_ends() -> None:
    assert set(DST_CHANGES) <= set(TODAYS) and date(2026, 12, 31) in TODAYS and date(2026, 1, 1) in TODAYS
    assert all(last_day(2026, m) in TODAYS for m in range(1, 13))
    assert len(TODAYS) >= 180


@pytest.mark.parametrize("row", ENGLISH, ids=[r.phrase for r in ENGLISH])
def test_english_phrase_on_many_days(row: Row) -> None:
    wrong = wrong_days(row, TODAYS)
    assert not wrong, wrong[:3]


@pytest.mark.parametrize("row", SPANISH, ids=[r.phrase for r in SPANISH])
def test_spanish_phrase_on_many_days(row: Row) -> None:
    wrong = wrong_days(row, TODAYS)
    assert not wrong, wrong[:3]


def test_spanish_weekday_and_date_that_disagree_name_the_weekday_said() -> None:
    now = datetime(2026, 11, 1, 9, 0, tzinfo=LA)  # Sunday; November 4th is a Wednesday
    with pytest.raises(DateMismatch) as caught:
        resolve("el martes 4", now, Reading(*ES))
    assert (caught.value.said_weekday, caught.value.day) == (1, date(2026, 11, 4))


@pytest.mark.parametrize(
    ("phrase", "expected"),
    [("hoy", date(2026, 12, 31)), ("mañana", date(2027, 1, 1)), ("pasado mañana", date(2027, 1, 2))],
)
def test_a_late_call_reads_the_clinics_date_not_utcs(phrase: str, expected: date) -> None:
    now = clinic_now(date(2026, 12, 31))  # 2027-01-01 07:30 UTC
    assert resolve(phrase, now, Reading(*ES)).start == expected
