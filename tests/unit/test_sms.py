"""SMS templates, segment counts, the error table, the local sender and Twilio settings (pure)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import pytest

from common.config import ConfigError
from common.logs import JsonFormatter
from services.notification.config import TwilioConfig
from services.notification.senders import LocalSender
from services.notification.sms_errors import Outcome, classify
from services.notification.templates import render, segments, when, when_es


@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("a" * 160, "GSM-7", 1),
        ("a" * 161, "GSM-7", 2),
        ("a" * 306, "GSM-7", 2),
        ("a" * 307, "GSM-7", 3),
        ("€" * 80, "GSM-7", 1),  # extension characters take two septets
        ("€" * 81, "GSM-7", 2),
        ("é" * 160, "GSM-7", 1),  # in the basic set
        ("ł" * 70, "UCS-2", 1),
        ("ł" * 71, "UCS-2", 2),
        ("Dr. Müller 🙂", "UCS-2", 1),
    ],
)
def test_segments(text: str, encoding: str, count: int) -> None:
    result = segments(text)
    assert (result.encoding, result.count) == (encoding, count)


@pytest.mark.parametrize(
    ("utc", "zone", "expected"),
    [
        (datetime(2026, 9, 1, 14, 0, tzinfo=UTC), "America/New_York", "Tue Sep 1 at 10:00 AM"),
        (datetime(2026, 9, 1, 16, 30, tzinfo=UTC), "America/New_York", "Tue Sep 1 at 12:30 PM"),
        (datetime(2026, 9, 2, 4, 15, tzinfo=UTC), "America/New_York", "Wed Sep 2 at 12:15 AM"),
        (datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "Europe/London", "Thu Dec 31 at 11:00 PM"),
    ],
)
def test_when_is_local_and_twelve_hour(utc: datetime, zone: str, expected: str) -> None:
    assert when(utc, zone) == expected


def test_templates_fit_one_segment() -> None:
    start = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)
    confirmation = render(
        "CONFIRMATION", "Acme Dental", service="a dental cleaning", provider="Dr. Lee", start=start,
        timezone="America/New_York",
    )  # fmt: skip
    assert confirmation == (
        "Acme Dental: your dental cleaning with Dr. Lee is confirmed for Tue Sep 1 at 10:00 AM. Reply STOP to opt out."
    )
    for kind in ("CANCELLATION", "RESCHEDULE", "REMINDER"):
        text = render(kind, "Acme Dental", service="a check-up", provider="Dr. Lee", start=start, timezone="UTC")
        assert segments(text).count == 1 and "STOP" in text
    otp = render("OTP", "Acme Dental", code="042917")
    assert "042917" in otp and segments(otp).count == 1


def test_waitlist_texts_name_the_time_the_provider_and_the_window_in_one_segment() -> None:
    start = datetime(2026, 12, 8, 20, 0, tzinfo=UTC)
    offer = render(
        "WAITLIST_OFFER", "Acme Dental", provider="Doctor Lee", start=start, timezone="America/New_York", minutes=15
    )
    assert offer == (
        "Acme Dental: a time opened up. Reply YES within 15 minutes to book Tue Dec 8 at 3:00 PM with Doctor Lee, "
        "or NO to pass. Reply STOP to opt out."
    )
    ended = render("WAITLIST_OFFER_EXPIRED", "Acme Dental", start=start, timezone="America/New_York")
    assert ended == (
        "Acme Dental: sorry, the offer of Tue Dec 8 at 3:00 PM has ended and that time is no longer held for you."
    )
    assert segments(offer).count == 1 and segments(ended).count == 1


@pytest.mark.parametrize(
    ("status", "code", "outcome"),
    [
        (429, 20429, Outcome.RETRY),
        (429, None, Outcome.RETRY),
        (400, 30003, Outcome.RETRY),
        (400, 30008, Outcome.RETRY),
        (500, None, Outcome.AMBIGUOUS),
        (503, 20500, Outcome.AMBIGUOUS),
        (None, None, Outcome.AMBIGUOUS),
        (400, 21211, Outcome.PERMANENT),
        (400, 30004, Outcome.PERMANENT),
        (400, 30005, Outcome.PERMANENT),
        (400, 30006, Outcome.PERMANENT),
        (401, 20003, Outcome.PERMANENT),
        (400, 21610, Outcome.OPTED_OUT),
    ],
)
def test_error_table(status: int | None, code: int | None, outcome: Outcome) -> None:
    assert classify(status, code) is outcome


async def test_local_sender_logs_no_number_and_no_text(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO):
        result = await LocalSender().send("+12125550142", "Acme Dental: your verification code is 042917.")
    assert result.outcome is Outcome.SENT and result.provider_sid.startswith("LOCAL")
    logged = "\n".join(JsonFormatter("t").format(r) for r in caplog.records)
    assert "LOCAL SMS SENDER" in logged
    assert "042917" not in logged and "2125550142" not in logged and "**42" in logged


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({"TWILIO_ACCOUNT_SID": "XX123", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "+1"}, "TWILIO_ACCOUNT_SID"),
        ({"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_FROM_NUMBER": "+12125550100"}, "TWILIO_AUTH_TOKEN"),
        ({"TWILIO_ACCOUNT_SID": "AC123", "TWILIO_AUTH_TOKEN": "t"}, "TWILIO_FROM_NUMBER"),
        ({"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_FROM_NUMBER": "212"}, "TWILIO_FROM_NUMBER"),
        ({"TWILIO_API_BASE_URL": "ftp://x"}, "TWILIO_API_BASE_URL"),
    ],
)
def test_bad_twilio_settings_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        TwilioConfig.from_env(env)


def test_no_twilio_settings_means_the_local_sender() -> None:
    assert not TwilioConfig.from_env({}).enabled
    assert TwilioConfig.from_env(
        {"TWILIO_ACCOUNT_SID": "AC1", "TWILIO_AUTH_TOKEN": "t", "TWILIO_MESSAGING_SERVICE_SID": "MG1"}
    ).enabled


# --- Spanish texts ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "encoding", "count"),
    [
        ("¿ñ¡éÑÉü" * 20, "GSM-7", 1),  # all in the GSM basic set: 140 septets
        ("á" + "a" * 69, "UCS-2", 1),  # one á makes the whole text UCS-2
        ("á" + "a" * 70, "UCS-2", 2),
        ("í" * 134, "UCS-2", 2),
        ("ó" * 135, "UCS-2", 3),
        ("ú", "UCS-2", 1),
        ("código", "UCS-2", 1),
    ],
)
def test_spanish_accents_in_segment_counting(text: str, encoding: str, count: int) -> None:
    result = segments(text)
    assert (result.encoding, result.count) == (encoding, count)


def test_spanish_texts_are_chosen_by_language_and_said_in_local_time() -> None:
    tuesday = datetime(2026, 9, 1, 14, 0, tzinfo=UTC)  # 10 AM in New York
    details = {
        "service": "una limpieza dental",
        "provider": "Dra. Ruiz",
        "start": tuesday,
        "timezone": "America/New_York",
    }
    texts = {kind: render(kind, "Acme Dental", **details, language="es") for kind in KINDS}  # type: ignore[arg-type]
    assert texts["CONFIRMATION"] == (
        "Acme Dental: confirmamos su cita de limpieza dental con Dra. Ruiz el martes 1 de sep. a las 10:00 a.m."
        " Responda STOP para darse de baja."
    )
    assert texts["CANCELLATION"].startswith("Acme Dental: cancelamos su cita de limpieza dental del martes 1 de sep.")
    assert texts["RESCHEDULE"].startswith("Acme Dental: cambiamos su cita de limpieza dental con Dra. Ruiz al martes")
    assert texts["REMINDER"].startswith("Acme Dental: le recordamos su cita de limpieza dental")
    for kind, text in texts.items():  # no accented vowel on a Tuesday: one GSM-7 segment each
        assert "STOP" in text and (segments(text).encoding, segments(text).count) == ("GSM-7", 1), kind
    code = render("OTP", "Acme Dental", code="042917", language="es")
    assert code == "Acme Dental: su código es 042917. Vence en 10 minutos. No lo comparta."
    assert (segments(code).encoding, segments(code).count) == ("UCS-2", 1)  # "código" is not GSM-7
    # An unknown or empty language: English.
    assert render("OTP", "Acme Dental", code="042917", language="") == render("OTP", "Acme Dental", code="042917")
    assert render("OTP", "Acme Dental", code="042917", language="fr").startswith("Acme Dental: your verification")


@pytest.mark.parametrize(
    "clinic",
    ["Acme Dental", "Riverside Family Dentistry", "Smile Bright Dental Group LLC", "Clínica Dental Sonrisa",
     "Clínica Dental Río Grande Sur", "Zoë's Family Dental Care"],
)  # fmt: skip
@pytest.mark.parametrize("language", ["en", "es"])
def test_the_code_text_starts_with_the_clinics_name_in_one_segment(clinic: str, language: str) -> None:
    """Up to 30 characters, in GSM-7 or not (an accented name makes the text UCS-2, 70 units)."""
    text = render("OTP", clinic, code="042917", language=language)
    assert text.startswith(f"{clinic}: ") and "042917" in text
    assert segments(text).count == 1, (text, segments(text))
    assert ("No lo comparta." if language == "es" else "Don't share it.") in text


def test_a_long_clinic_name_drops_the_code_texts_expiry_before_a_second_segment() -> None:
    assert render("OTP", "Acme Dental", code="042917") == (
        "Acme Dental: your verification code is 042917. It expires in 10 minutes. Don't share it."
    )
    long_es = render("OTP", "Clínica Dental Sonrisa", code="042917", language="es")
    assert long_es == "Clínica Dental Sonrisa: su código es 042917. No lo comparta."
    accented = render("OTP", "Clínica Dental Sonrisa", code="042917", language="en")
    assert accented == "Clínica Dental Sonrisa: your code is 042917. Don't share it."
    # No name fits at all: the short text, whatever its length.
    assert render("OTP", "Ó" * 100, code="042917").endswith(": your code is 042917. Don't share it.")


def test_a_saturday_or_an_afternoon_at_one_in_spanish() -> None:
    saturday = datetime(2026, 9, 5, 17, 30, tzinfo=UTC)  # 1:30 PM in New York
    assert when_es(saturday, "America/New_York") == "sábado 5 de sep. a la 1:30 p.m."
    text = render(
        "CONFIRMATION", "Acme Dental", service="una limpieza dental", provider="Dra. Ruiz", start=saturday,
        timezone="America/New_York", language="es",
    )  # fmt: skip
    assert (segments(text).encoding, segments(text).count) == ("UCS-2", 2)  # "sábado" is not GSM-7
    assert when_es(datetime(2026, 12, 31, 23, 0, tzinfo=UTC), "Europe/London") == "jueves 31 de dic. a las 11:00 p.m."


KINDS = ("CONFIRMATION", "CANCELLATION", "RESCHEDULE", "REMINDER")
