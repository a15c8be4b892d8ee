"""More date phrases, English and Spanish, each with an oracle: what it must mean for a given
"today", written from the calendar rules (tests/unit/test_phrases_grammar.py's arithmetic), not
by running the grammar. Used by test_phrases_tables.py, test_phrases_properties.py and
bench/phrase_counts.py.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from services.availability.calendar_words import PartOfDay
from tests.unit.test_phrases_grammar import (
    DAYS,
    MISMATCH,
    MONTHS,
    PAST,
    Expected,
    Oracle,
    day_of_month,
    day_of_next_month,
    fixed,
    in_next_week,
    later,
    month_after,
    month_and_day,
    nearest_month_day,
    of_next_month,
    on_weekday,
    single,
)

# (language, day first): how the clinic reads the phrase (phrases.Reading; plain here so that
# bench/phrase_counts.py can run these tables against a grammar from before Reading existed).
EN_US = ("en", False)
EN_GB = ("en", True)
ES = ("es", True)
MORNING, AFTERNOON, EVENING = PartOfDay.MORNING, PartOfDay.AFTERNOON, PartOfDay.EVENING


@dataclass(frozen=True)
class Row:
    phrase: str
    oracle: Oracle
    reading: tuple[str, bool] = EN_US
    part: PartOfDay | None = None
    at: time | None = None
    after: time | None = None
    before: time | None = None


# --- the oracle's span arithmetic (weeks run Monday to Sunday) ----------------------------------------
def monday_of(today: date, weeks: int = 0) -> date:
    return today - timedelta(days=today.weekday()) + timedelta(weeks=weeks)


def last_day(year: int, month: int) -> date:
    next_year, next_month = (year + 1, 1) if month == 12 else (year, month + 1)
    return date(next_year, next_month, 1) - timedelta(days=1)


def cut(first: date, last: date, today: date) -> Expected:
    return PAST if last < today else (max(first, today), last)


def week_days(weeks: int, first: int, last: int) -> Oracle:
    """Days `first`..`last` (0 = Monday) of this week (0) or next (1), from today on."""
    return lambda today: cut(
        monday_of(today, weeks) + timedelta(first), monday_of(today, weeks) + timedelta(last), today
    )


def month_days(months: int, first: int, last: int | None) -> Oracle:
    """Days `first`..`last` (None = the last) of this month (0) or next (1), from today on."""

    def oracle(today: date) -> Expected:
        year, month = month_after(today, months)
        return cut(date(year, month, first), last_day(year, month) if last is None else date(year, month, last), today)

    return oracle


def days_ahead(count: int) -> Oracle:
    return lambda today: (today, today + timedelta(days=count))


def weekend_after_next(today: date) -> Expected:
    saturday = monday_of(today, 2) + timedelta(days=5)
    return saturday, saturday + timedelta(days=1)


def week_holding(found: Callable[[date], date]) -> Oracle:
    return lambda today: cut(monday_of(found(today)), monday_of(found(today)) + timedelta(days=6), today)


def midweek(today: date) -> Expected:
    return week_days(0 if today.weekday() <= 3 else 1, 1, 3)(today)


def this_week(today: date) -> Expected:
    return today, monday_of(today) + timedelta(days=6)


def this_weekend(today: date) -> Expected:
    if today.weekday() == 6:
        return single(today)
    saturday = monday_of(today) + timedelta(days=5)
    return saturday, saturday + timedelta(days=1)


def next_weekend(today: date) -> Expected:
    saturday = monday_of(today, 1) + timedelta(days=5)
    return saturday, saturday + timedelta(days=1)


def nth_of_month(day: int, weekday: int) -> Oracle:
    """ "the 4th" said with a weekday: that day, or MISMATCH when its weekday differs."""
    base = day_of_month(day)

    def oracle(today: date) -> Expected:
        found = base(today)
        return found if isinstance(found, str) or found[0].weekday() == weekday else MISMATCH

    return oracle


# --- the todays: late at night in Los Angeles, every other day of 2026, DST and month ends -----------
LA = ZoneInfo("America/Los_Angeles")
LATE = time(23, 30)
DST_CHANGES = (date(2026, 3, 8), date(2026, 11, 1))
SPECIAL_TODAYS = sorted(
    {d + timedelta(days=n) for d in DST_CHANGES for n in (-2, -1, 0, 1, 2)}
    | {date(2026, m, 1) for m in range(1, 13)}
    | {last_day(2026, m) for m in range(1, 13)}
)
TODAYS = sorted({date(2026, 1, 1) + timedelta(days=n) for n in range(0, 365, 2)} | set(SPECIAL_TODAYS))


def clinic_now(today: date) -> datetime:
    """23:30 in Los Angeles on `today`, read from a UTC clock (where it is already tomorrow)."""
    utc = datetime.combine(today, LATE, tzinfo=LA).astimezone(UTC)
    assert utc.date() == today + timedelta(days=1)
    return utc.astimezone(LA)


# --- English -----------------------------------------------------------------------------------------
ORDINAL_WORDS = ("first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth", "tenth",
                 "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "sixteenth", "seventeenth",
                 "eighteenth", "nineteenth", "twentieth", "twenty-first", "twenty-second")  # fmt: skip


def _english_spans() -> list[Row]:
    spans = {
        "early next week": week_days(1, 0, 2),
        "the beginning of next week": week_days(1, 0, 2),
        "at the start of next week": week_days(1, 0, 2),
        "mid next week": week_days(1, 1, 3),
        "the middle of next week": week_days(1, 1, 3),
        "midweek next week": week_days(1, 1, 3),
        "late next week": week_days(1, 3, 6),
        "the end of next week": week_days(1, 3, 6),
        "towards the end of next week": week_days(1, 3, 6),
        "early this week": week_days(0, 0, 2),
        "the middle of this week": week_days(0, 1, 3),
        "midweek": midweek,
        "end of this week": week_days(0, 3, 6),
        "end of the week": week_days(0, 3, 6),
        "the end of the week": week_days(0, 3, 6),
        "late this week": week_days(0, 3, 6),
        "by the end of the week": this_week,
        "sometime this week": this_week,
        "next month": month_days(1, 1, None),
        "sometime next month": month_days(1, 1, None),
        "this month": month_days(0, 1, None),
        "the rest of the month": month_days(0, 1, None),
        "early next month": month_days(1, 1, 10),
        "the beginning of next month": month_days(1, 1, 10),
        "mid next month": month_days(1, 11, 20),
        "the middle of next month": month_days(1, 11, 20),
        "late next month": month_days(1, 21, None),
        "the end of next month": month_days(1, 21, None),
        "end of the month": month_days(0, 21, None),
        "the end of this month": month_days(0, 21, None),
        "early this month": month_days(0, 1, 10),
        "the weekend after next": weekend_after_next,
        "weekend after next": weekend_after_next,
        "the week of december 7th": week_holding(lambda t: nearest_month_day(t, 12, 7)),
        "week of March 2": week_holding(lambda t: nearest_month_day(t, 3, 2)),
        "the week of the 14th": week_holding(lambda t: single_day(day_of_month(14)(t))),
        "in the next few days": days_ahead(3),
        "over the next few days": days_ahead(3),
        "within the next couple of days": days_ahead(2),
        "in the next 5 days": days_ahead(5),
        "within the next ten days": days_ahead(10),
        "the next two weeks": days_ahead(14),
        "within a week": days_ahead(7),
        "within the next week": days_ahead(7),
    }
    return [Row(phrase, oracle) for phrase, oracle in spans.items()]


def single_day(found: Expected) -> date:
    assert not isinstance(found, str)
    return found[0]


def _english_days() -> list[Row]:
    rows = [Row(f"the following {name}", in_next_week(wd)) for wd, name in enumerate(DAYS)]
    for m, name in enumerate(MONTHS, start=1):
        day = 8 + m  # 9th..20th, said as words
        rows += [
            Row(f"{name.title()} {ORDINAL_WORDS[day - 1]}", month_and_day(m, day)),
            Row(f"the {ORDINAL_WORDS[day - 1]} of {name}", month_and_day(m, day)),
            Row(f"{13 + m % 12}/{m}", month_and_day(m, 13 + m % 12)),  # only one order is a date
            Row(f"{m}-{day}", month_and_day(m, day)),
            Row(f"{day}/{m}", month_and_day(m, day), EN_GB),  # a clinic that reads the day first
            Row(f"{day}/{m}/2027", fixed(date(2027, m, day)), EN_GB),
        ]
    rows += [
        Row("2027/1/9", fixed(date(2027, 1, 9))),  # the library's reading (our grammar has no Y/M/D)
        Row("2026/12/15", fixed(date(2026, 12, 15))),
        Row("15 dic 2026", fixed(date(2026, 12, 15))),
        Row("the 15", day_of_month(15)),
    ]
    return rows


def _english_times() -> list[Row]:
    tomorrow, friday = later(1), on_weekday(4)
    return [
        Row("after 4", later(0), after=time(16)),
        Row("after 4 pm", later(0), after=time(16)),
        Row("tomorrow after 3", tomorrow, after=time(15)),
        Row("Friday after 10 am", friday, after=time(10)),
        Row("before noon", later(0), before=time(12)),
        Row("tomorrow before noon", tomorrow, before=time(12)),
        Row("before 10 next Monday", in_next_week(0), before=time(10)),
        Row("Monday after lunch", on_weekday(0), after=time(13)),
        Row("tomorrow before lunch", tomorrow, before=time(12)),
        Row("between 2 and 4 on Friday", friday, after=time(14), before=time(16)),
        Row("tomorrow from 9 to 11 am", tomorrow, after=time(9), before=time(11)),
        Row("until 3 on Friday", friday, before=time(15)),
        Row("from 2 pm on tomorrow", tomorrow, after=time(14)),
        Row("a week from 12 December", lambda t: single(nearest_month_day(t, 12, 12) + timedelta(days=7))),
        Row("two days from 3/4", lambda t: single(nearest_month_day(t, 3, 4) + timedelta(days=2))),
        Row("not before 10 tomorrow", tomorrow, after=time(10)),
        Row("no later than 3 on Monday", on_weekday(0), before=time(15)),
        Row("sometime after 2 tomorrow", tomorrow, after=time(14)),
        Row("later than 11 tomorrow", tomorrow, after=time(11)),
        Row("not after 3 on Friday", friday, before=time(15)),
        Row("no earlier than 9 tomorrow", tomorrow, after=time(9)),
        Row("Friday at half past two", friday, at=time(14, 30)),
        Row("tomorrow at quarter past 10", tomorrow, at=time(10, 15)),
        Row("tomorrow at a quarter to four", tomorrow, at=time(15, 45)),
        Row("at three thirty tomorrow", tomorrow, at=time(15, 30)),
        Row("at eleven tomorrow", tomorrow, at=time(11)),
        Row("tomorrow at 8 in the evening", tomorrow, part=EVENING, at=time(20)),
        Row("late afternoon tomorrow", tomorrow, part=AFTERNOON),
        Row("early morning on Friday", friday, part=MORNING),
        Row("the morning of the 15th", day_of_month(15), part=MORNING),
        Row("the afternoon of next Tuesday", in_next_week(1), part=AFTERNOON),
        Row("early next week in the morning", week_days(1, 0, 2), part=MORNING),
        Row("end of the week after 3", week_days(0, 3, 6), after=time(15)),
        Row("the first of next month before noon", day_of_next_month(1), before=time(12)),
    ]


ENGLISH = _english_spans() + _english_days() + _english_times()


# --- Spanish -----------------------------------------------------------------------------------------
DIAS = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")
DIAS_SIN_ACENTO = ("lunes", "martes", "miercoles", "jueves", "viernes", "sabado", "domingo")
MESES = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
         "noviembre", "diciembre")  # fmt: skip


def _spanish_weekdays() -> list[Row]:
    rows: list[Row] = []
    for wd, (dia, plain) in enumerate(zip(DIAS, DIAS_SIN_ACENTO, strict=True)):
        rows += [
            Row(f"el {dia}", on_weekday(wd), ES),
            Row(f"este {plain}", on_weekday(wd), ES),
            Row(f"el próximo {dia}", in_next_week(wd), ES),
            Row(f"el proximo {plain}", in_next_week(wd), ES),
            Row(f"el {dia} que viene", in_next_week(wd), ES),
            Row(f"el {plain} de la semana que viene", in_next_week(wd), ES),
            Row(f"el {dia} después del próximo", in_next_week(wd, 1), ES),
            Row(f"el primer {dia} del mes que viene", of_next_month(wd, 1), ES),
            Row(f"el último {plain} del mes que viene", of_next_month(wd, -1), ES),
            Row(f"el {dia} por la mañana", on_weekday(wd), ES, part=MORNING),
            Row(f"el {plain} {wd + 3}", nth_of_month(wd + 3, wd), ES),
            Row(f"el {dia} en ocho", on_weekday(wd, 1), ES),
        ]
    return rows


def _spanish_dates() -> list[Row]:
    rows: list[Row] = []
    for m, mes in enumerate(MESES, start=1):
        day = 9 + m
        wd = date(2027, m, day).weekday()
        rows += [
            Row(f"el {day} de {mes}", month_and_day(m, day), ES),
            Row(f"{day} de {mes} de 2027", fixed(date(2027, m, day)), ES),
            Row(f"el {DIAS[wd]} {day} de {mes}", month_and_day(m, day, wd), ES),
            Row(f"{day}/{m}", month_and_day(m, day), ES),
        ]
    return rows


def _spanish_relative() -> list[Row]:
    relative = {
        "hoy": later(0),
        "mañana": later(1),
        "manana": later(1),
        "pasado mañana": later(2),
        "pasado manana": later(2),
        "dentro de una semana": later(7),
        "dentro de tres días": later(3),
        "dentro de 10 dias": later(10),
        "en dos semanas": later(14),
        "dentro de un par de días": later(2),
        "dentro de ocho días": later(7),
        "en quince días": later(14),
        "de hoy en ocho": later(7),
        "la semana que viene": week_days(1, 0, 6),
        "la próxima semana": week_days(1, 0, 6),
        "la semana proxima": week_days(1, 0, 6),
        "esta semana": this_week,
        "la semana después de la que viene": week_days(2, 0, 6),
        "este fin de semana": this_weekend,
        "el próximo fin de semana": next_weekend,
        "el fin de semana que viene": next_weekend,
        "el mes que viene": month_days(1, 1, None),
        "a principios de la semana que viene": week_days(1, 0, 2),
        "a mediados de la semana que viene": week_days(1, 1, 3),
        "a finales de la semana que viene": week_days(1, 3, 6),
        "a finales de esta semana": week_days(0, 3, 6),
        "a principios del mes que viene": month_days(1, 1, 10),
        "a finales de mes": month_days(0, 21, None),
        "el primero del mes que viene": day_of_next_month(1),
        "el 15 del mes que viene": day_of_next_month(15),
        "el día 15": day_of_month(15),
        "el 15": day_of_month(15),
        "el veinte": day_of_month(20),
        "el primero de enero": month_and_day(1, 1),
        "el 1º de marzo": month_and_day(3, 1),
        "25/12/2027": fixed(date(2027, 12, 25)),
        "lo antes posible": later(0),
    }
    return [Row(phrase, oracle, ES) for phrase, oracle in relative.items()]


def _spanish_times() -> list[Row]:
    today, tomorrow = later(0), later(1)
    return [
        Row("a las tres y media", today, ES, at=time(15, 30)),
        Row("mañana a las diez de la mañana", tomorrow, ES, at=time(10)),
        Row("el viernes a las ocho de la tarde", on_weekday(4), ES, at=time(20)),
        Row("a la una", today, ES, at=time(13)),
        Row("a las cuatro menos cuarto", today, ES, at=time(15, 45)),
        Row("mañana a las 9 y cuarto", tomorrow, ES, at=time(9, 15)),
        Row("después de las 4", today, ES, after=time(16)),
        Row("mañana después de las cuatro", tomorrow, ES, after=time(16)),
        Row("el lunes a partir de las 3", on_weekday(0), ES, after=time(15)),
        Row("antes de las 11 el lunes", on_weekday(0), ES, before=time(11)),
        Row("entre las 2 y las 4", today, ES, after=time(14), before=time(16)),
        Row("el viernes de las diez a las doce", on_weekday(4), ES, after=time(10), before=time(12)),
        Row("a mediodía", today, ES, at=time(12)),
        Row("mañana al mediodia", tomorrow, ES, at=time(12)),
        Row("antes del mediodía", today, ES, before=time(12)),
        Row("mañana por la mañana", tomorrow, ES, part=MORNING),
        Row("mañana por la tarde", tomorrow, ES, part=AFTERNOON),
        Row("manana en la tarde", tomorrow, ES, part=AFTERNOON),
        Row("el jueves por la noche", on_weekday(3), ES, part=EVENING),
        Row("esta tarde", today, ES, part=AFTERNOON),
        Row("esta noche", today, ES, part=EVENING),
        Row("el lunes a primera hora", on_weekday(0), ES, part=MORNING),
        Row("mañana sobre las 11", tomorrow, ES, at=time(11)),
        Row("pasado mañana a las 9", later(2), ES, at=time(9)),
    ]


SPANISH = _spanish_weekdays() + _spanish_dates() + _spanish_relative() + _spanish_times()
