"""Clinic files: the demo file is valid; broken files are rejected whole with field paths."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from services.availability.clinic import ClinicConfigError, build_clinic
from services.availability.clinic_file import load_clinic_file, parse_clinic
from services.availability.language import day_first as reads_day_first
from services.availability.language import language_of
from tests.unit.clinics import clinic_dict

ROOT = Path(__file__).resolve().parents[2]


def errors_of(data: Any, env: dict[str, str] | None = None) -> list[str]:
    with pytest.raises(ClinicConfigError) as caught:
        build_clinic(parse_clinic(data, env or {}))
    return caught.value.errors


def test_demo_clinic_file_is_valid() -> None:
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": "x" * 24})
    clinic = build_clinic(config)
    assert clinic.tenant_id == "demo"
    assert config.secret == "x" * 24  # sent to availability, which stores it sealed
    assert len(clinic.providers) == 3 and len(clinic.services) >= 3
    assert str(clinic.providers["dr-okafor"].timezone) == "Europe/London"
    assert clinic.services["whitening"].rules.slot_interval_minutes == 30  # override
    assert clinic.services["cleaning"].rules.slot_interval_minutes == 15  # clinic default
    assert clinic.locale == "en-US"  # the demo clinic speaks English


def test_the_spec_example_error() -> None:
    data = clinic_dict()
    data["providers"].append({"id": "b", "name": "B", "hours": {"tue": ["17:00-09:00"]}})
    assert errors_of(data) == ["providers[1].hours.tue[0]: end 09:00 is before start 17:00"]


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"tenant_id": "Acme Dental"}, "tenant_id: 'Acme Dental' must be a lowercase slug"),
        ({"timezone": "Mars/Olympus"}, "timezone: 'Mars/Olympus' is not an IANA timezone"),
        ({"phone": "12"}, "phone: '12' is not a valid phone number"),
        ({"default_region": "XX"}, "default_region: 'XX' is not a phone region"),
        ({"secret": "short"}, "secret: must be at least 16 characters"),
        ({"rules": {"slot_interval_minutes": 1}}, "rules.slot_interval_minutes: 1 is outside 5..240"),
        ({"rules": {"otp_required": "yes"}}, "rules.otp_required: must be true or false"),
        ({"colour": "blue"}, "colour: unknown key"),
        ({"locale": "fr-FR"}, "locale: 'fr-FR' is not a supported locale (en-* or es-*"),
        ({"locale": "spanish"}, "locale: 'spanish' is not a supported locale"),
        ({"locale": "es-USA"}, "locale: 'es-USA' is not a supported locale"),
        ({"locale": ["es-US"]}, "locale: must be text"),
        ({"services": []}, "services: at least one appointment type is required"),
        ({"providers": []}, "providers: at least one provider is required"),
        ({"services": [{"id": "x", "name": "X", "duration_minutes": 30, "providers": ["nobody"]}]},
         "services[0].providers[0]: no provider has id 'nobody'"),
        ({"services": [{"id": "x", "name": "X", "duration_minutes": 0}]}, "services[0].duration_minutes: 0 is outside"),
        ({"providers": [{"id": "a", "name": "A", "hours": {"mon": ["9-5"]}}]},
         "providers[0].hours.mon[0]: start '9' is not a time"),
        ({"providers": [{"id": "a", "name": "A", "hours": {"funday": ["09:00-10:00"]}}]},
         "providers[0].hours.funday: unknown key"),
        ({"providers": [{"id": "a", "name": "A", "hours": {"mon": ["09:00-12:00", "11:00-13:00"]}}]},
         "providers[0].hours.mon[1]: 11:00-13:00 overlaps"),
        ({"providers": [{"id": "a", "name": "A", "time_off": [{"date": "2030-02-30"}]}]},
         "providers[0].time_off[0].date: '2030-02-30' is not a date"),
        ({"providers": [{"id": "a", "name": "A", "extra_hours": [{"date": "2030-02-03"}]}]},
         "providers[0].extra_hours[0]: extra hours need a start and an end"),
        ({"providers": [{"id": "a", "name": "A", "time_off": [{"from": "2030-02-05", "to": "2030-02-03"}]}]},
         "providers[0].time_off[0]: to 2030-02-03 is before from 2030-02-05"),
        ({"providers": [{"id": "a", "name": "A"}, {"id": "a", "name": "A2"}]},
         "providers[1].id: 'a' is used by another provider"),
        ({"providers": [{"id": "a", "name": "A", "timezone": "Nowhere"}]},
         "providers[0].timezone: 'Nowhere' is not an IANA timezone"),
    ],
)  # fmt: skip
def test_broken_file_is_rejected_with_field_path(change: dict[str, Any], expected: str) -> None:
    errors = errors_of(clinic_dict(**change))
    assert any(e.startswith(expected) for e in errors), errors


def test_every_problem_is_reported_at_once() -> None:
    errors = errors_of(clinic_dict(timezone="Nowhere", phone="1", rules={"max_days_ahead": 0}))
    assert len(errors) == 3


def test_secret_from_environment_variable() -> None:
    data = clinic_dict()
    del data["secret"]
    data["secret_env"] = "CLINIC_SECRET"
    assert errors_of(data) == ["secret_env: environment variable CLINIC_SECRET is not set"]
    config = parse_clinic(data, {"CLINIC_SECRET": "k" * 20})
    assert config.secret == "k" * 20


def test_unquoted_yaml_times_are_read_as_times(tmp_path: Path) -> None:
    path = tmp_path / "clinic.yaml"
    path.write_text(
        "tenant_id: t\nname: T\ntimezone: UTC\nsecret: ssssssssssssssssssss\n"
        "services: [{id: s, name: S, duration_minutes: 30}]\n"
        "providers: [{id: a, name: A, hours: {mon: [{start: 09:00, end: 17:30}]}}]\n"
    )
    clinic = build_clinic(load_clinic_file(path, {}))
    assert clinic.providers["a"].weekly[1][0].start == 9 * 60
    assert clinic.providers["a"].weekly[1][0].end == 17 * 60 + 30


def test_unreadable_and_malformed_files(tmp_path: Path) -> None:
    with pytest.raises(ClinicConfigError, match="cannot be read"):
        load_clinic_file(tmp_path / "missing.yaml", {})
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    with pytest.raises(ClinicConfigError, match="not valid JSON"):
        load_clinic_file(bad, {})


@pytest.mark.parametrize(
    ("said", "stored"),
    [(None, "en-US"), ("", "en-US"), ("es-US", "es-US"), ("es-us", "es-US"), ("es_MX", "es-MX"), ("es-419", "es-419"),
     ("en-GB", "en-GB"), ("es", "es"), ("en", "en")],
)  # fmt: skip
def test_locale_is_read_checked_and_made_canonical(said: str | None, stored: str) -> None:
    data = clinic_dict() if said is None else clinic_dict(locale=said)
    assert build_clinic(parse_clinic(data, {})).locale == stored


@pytest.mark.parametrize(
    ("locale", "language", "day_first"),
    [("en-US", "en", False), ("en", "en", False), ("en-GB", "en", True), ("es-US", "es", True),
     ("en-US", "es", True), ("es-MX", "en", True)],
)  # fmt: skip
def test_numeric_dates_are_month_first_only_in_english_in_the_us(locale: str, language: str, day_first: bool) -> None:
    assert language_of(locale) in ("en", "es") and language_of("fr") is None and language_of("es-MX") == "es"
    assert reads_day_first(locale, language) is day_first
