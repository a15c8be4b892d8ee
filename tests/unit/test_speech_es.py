"""Spanish speech: every key and cause of English has a Spanish sentence (and back), times and days
said naturally, offers of one to three times, across a DST change (pure)."""

from __future__ import annotations

import string
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from booking.common.v1 import common_pb2 as cpb
from gateway.speech import (
    LANGUAGES,
    SpokenSlot,
    day_phrase,
    en,
    es,
    failure,
    join_or,
    language_of,
    moment_phrase,
    offer_sentence,
    options_sentence,
    phone_tail,
    say,
    time_phrase,
)

NY = ZoneInfo("America/New_York")
TODAY = date(2026, 12, 7)  # a Monday


def at(day: int, hour: int, minute: int = 0, month: int = 12) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=NY)


def placeholders(sentence: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(sentence) if name}


def test_every_english_key_and_cause_has_a_spanish_sentence_and_back() -> None:
    assert set(es.SENTENCES) == set(en.SENTENCES)
    assert set(es.FAILURES) == set(en.FAILURES)
    assert set(es.TOOL_FALLBACKS) == set(en.TOOL_FALLBACKS)
    for key, sentence in en.SENTENCES.items():  # the same values fill both
        assert placeholders(es.SENTENCES[key]) == placeholders(sentence), key
    for cause_key, refusal in en.FAILURES.items():
        assert placeholders(es.FAILURES[cause_key]) == placeholders(refusal), cause_key
    causes = {name.removeprefix("FAILURE_CAUSE_") for name in cpb.FailureCause.keys()} - {"UNSPECIFIED"}
    assert causes <= {cause for cause, _, _ in es.FAILURES}
    assert set(LANGUAGES) == {"en", "es"}


def test_no_spanish_sentence_is_left_in_english() -> None:
    english = set(en.SENTENCES.values()) | set(en.FAILURES.values()) | set(en.TOOL_FALLBACKS.values())
    same = [s for s in [*es.SENTENCES.values(), *es.FAILURES.values(), *es.TOOL_FALLBACKS.values()] if s in english]
    assert same == ["{first} {then}", "{what} {when}"]  # only joinings of phrases
    assert not [s for s in es.FAILURES.values() if " the " in s or "I " in s]


@pytest.mark.parametrize(
    ("cause", "reason", "tool", "expected"),
    [
        ("SLOT_UNAVAILABLE", "", "reserve_slot", "Lo siento, alguien acaba de tomar esa hora."),
        ("NOT_FOUND", "not_confirmed", "cancel_appointment", "Esa cita no se puede cancelar."),
        ("NOT_FOUND", "not_confirmed", "reschedule_appointment", "Esa cita no se puede cambiar de hora."),
        ("OTP_INVALID", "", "verify_otp", "Ese código no coincide."),
        ("OTP_EXPIRED", "no_current_code", "verify_otp", "Ese código ya no es válido; puedo enviarle uno nuevo."),
        ("DATE_IN_PAST", "", "check_availability", "Esa fecha ya pasó."),
        ("OUTSIDE_BOOKING_WINDOW", "", "check_availability", "Todavía no podemos reservar con tanta anticipación."),
        (
            "VERIFICATION_REQUIRED", "appointment", "cancel_appointment",
            "Para proteger su privacidad, necesito confirmar que es usted. ¿Le envío un código al número de la cita?",
        ),
        ("UNSPECIFIED", "", "reserve_slot", "No pude apartar esa hora."),  # the tool's fallback
        ("SOMETHING_NEW", "", "no_such_tool", "No pude hacer eso ahora. ¿Podría decirlo de otra manera?"),
    ],
)  # fmt: skip
def test_causes_in_spanish(cause: str, reason: str, tool: str, expected: str) -> None:
    assert failure(cause, reason, tool, language="es") == expected


def test_every_cause_is_worded_in_spanish_with_its_limit() -> None:
    for cause, reason, tool in en.FAILURES:
        sentence = failure(cause, reason, tool, limit=3, language="es")
        assert sentence == es.FAILURES[(cause, reason, tool)].format(limit=3) and "{" not in sentence
    assert failure("USER_OVER_BOOKING_LIMIT", limit=3, language="es") == (
        "Ya tiene 3 citas próximas, que es nuestro límite."
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (at(8, 9), "a las nueve de la mañana"),
        (at(8, 15, 30), "a las tres y media de la tarde"),
        (at(8, 13, 15), "a la una y cuarto de la tarde"),
        (at(8, 12), "al mediodía"),
        (at(8, 12, 30), "a las doce y media de la tarde"),
        (at(8, 0), "a medianoche"),
        (at(8, 1, 5), "a la una y cinco de la madrugada"),
        (at(8, 10, 45), "a las diez y cuarenta y cinco de la mañana"),
        (at(8, 16, 20), "a las cuatro y veinte de la tarde"),
        (at(8, 20, 10), "a las ocho y diez de la noche"),
        (at(8, 11, 22), "a las once y veintidós de la mañana"),
    ],
)
def test_times_said_in_words_with_the_part_of_the_day(value: datetime, expected: str) -> None:
    assert time_phrase(value, "es") == expected


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 12, 7), "hoy"),
        (date(2026, 12, 8), "mañana"),
        (date(2026, 12, 9), "el miércoles 9 de diciembre"),
        (date(2026, 12, 12), "el sábado 12 de diciembre"),
        (date(2027, 1, 1), "el viernes primero de enero"),
        (date(2027, 12, 7), "el martes 7 de diciembre de 2027"),
    ],
)
def test_days(day: date, expected: str) -> None:
    assert day_phrase(day, TODAY, "es") == expected


def test_the_brief_examples() -> None:
    assert moment_phrase(at(8, 15, 30), date(2026, 12, 1), "es") == (
        "el martes 8 de diciembre a las tres y media de la tarde"
    )
    assert moment_phrase(at(8, 12), TODAY, "es") == "mañana al mediodía"


@pytest.mark.parametrize(
    ("slots", "expected"),
    [
        ([SpokenSlot(at(8, 9), "Doctor Lee")], "Tengo mañana a las nueve de la mañana con Doctor Lee."),
        (
            [SpokenSlot(at(8, 9), "Doctor Lee"), SpokenSlot(at(8, 14, 30), "Doctor Lee")],
            "Tengo mañana a las nueve de la mañana o a las dos y media de la tarde con Doctor Lee.",
        ),
        (
            [SpokenSlot(at(8, h, m), "Doctor Lee") for h, m in ((9, 0), (12, 0), (15, 30))],
            "Tengo mañana a las nueve de la mañana, al mediodía o a las tres y media de la tarde con Doctor Lee.",
        ),
        (
            [SpokenSlot(at(8, 9), "Doctor Lee"), SpokenSlot(at(8, 9), "Doctor Patel")],
            "Tengo mañana a las nueve de la mañana con Doctor Lee; o a las nueve de la mañana con Doctor Patel.",
        ),
        (
            [SpokenSlot(at(8, 16), "Doctor Lee"), SpokenSlot(at(10, 9), "Doctor Lee")],
            "Tengo mañana a las cuatro de la tarde con Doctor Lee; o el jueves 10 de diciembre a las nueve de la"
            " mañana con Doctor Lee.",
        ),
    ],
)  # fmt: skip
def test_offers_of_one_to_three_times(slots: list[SpokenSlot], expected: str) -> None:
    assert offer_sentence(slots, TODAY, language="es") == expected


def test_a_wide_open_day_asks_morning_or_afternoon_in_spanish() -> None:
    slots = [SpokenSlot(at(8, 9 + n // 4, 15 * (n % 4)), "Doctor Lee") for n in range(10)]
    assert offer_sentence(slots, TODAY, language="es") == (
        "Tengo mañana a las nueve de la mañana con Doctor Lee y muchas horas más ese día."
        " ¿Le conviene más por la mañana o por la tarde?"
    )
    asked = offer_sentence(slots, TODAY, near=at(8, 10, 40), language="es")
    assert asked == (  # the three nearest to the time asked
        "Tengo mañana a las diez y media de la mañana, a las diez y cuarenta y cinco de la mañana o a las once"
        " de la mañana con Doctor Lee."
    )
    assert options_sentence(slots, TODAY, "es").endswith("Tengo 5 más si ninguna de esas le conviene.")


def test_a_dst_day_is_said_in_local_time_in_spanish() -> None:
    # 1 November 2026: New York falls back at 2 AM; 9 AM local is 14:00 UTC (the day before it was 13:00).
    today = date(2026, 10, 31)
    nine = datetime(2026, 11, 1, 14, 0, tzinfo=UTC).astimezone(NY)
    half_past_one = datetime(2026, 11, 1, 18, 30, tzinfo=UTC).astimezone(NY)
    assert moment_phrase(nine, today, "es") == "mañana a las nueve de la mañana"
    assert offer_sentence([SpokenSlot(nine, ""), SpokenSlot(half_past_one, "")], today, language="es") == (
        "Tengo mañana a las nueve de la mañana o a la una y media de la tarde."
    )
    # and the spring-forward day, 14 March 2027: 9 AM EDT is 13:00 UTC
    spring = datetime(2027, 3, 14, 13, 0, tzinfo=UTC).astimezone(NY)
    assert moment_phrase(spring, date(2027, 3, 13), "es") == "mañana a las nueve de la mañana"
    before, after = (datetime(2027, 3, 14, h, 30, tzinfo=UTC).astimezone(NY) for h in (6, 7))  # an hour apart
    assert [time_phrase(t, "es") for t in (before, after)] == [
        "a la una y media de la madrugada",
        "a las tres y media de la madrugada",  # 2:30 does not exist that day
    ]


def test_lists_and_phones_in_spanish() -> None:
    assert join_or(["a las nueve", "a las diez"], "or", "es") == "a las nueve o a las diez"
    assert join_or(["una limpieza", "un examen"], "and", "es") == "una limpieza y un examen"
    assert join_or(["una limpieza", "implantes"], "and", "es") == "una limpieza e implantes"
    assert join_or(["siete", "ocho"], "or", "es") == "siete u ocho"
    assert phone_tail("+12125550142", "es") == "su número que termina en 4 2"
    assert phone_tail("", "es") == "su teléfono"
    assert say("code_sent", "es", phone=phone_tail("+12125550142", "es")) == (
        "Le envié un código de 6 dígitos a su número que termina en 4 2. Por favor, léamelo cuando le llegue."
    )


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("es", "es"), ("ES", "es"), ("es-US", "es"), ("es_MX", "es"), ("spanish", "es"), ("Español", "es"),
        ("espanol", "es"), ("castellano", "es"), ("en", "en"), ("en-GB", "en"), ("English", "en"), ("inglés", "en"),
        ("fr", "de"), ("klingon", "de"), ("", "de"), (None, "de"), (3, "de"),
    ],
)  # fmt: skip
def test_language_names_and_tags_are_normalised_unknown_is_the_default(given: object, expected: str) -> None:
    assert language_of(given, "de") == expected
