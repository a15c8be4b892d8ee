"""Build domain clinics for pure tests from the clinic-file format."""

from __future__ import annotations

from typing import Any

from services.availability.clinic import Clinic, build_clinic
from services.availability.clinic_file import parse_clinic

WEEKDAY_HOURS = ["09:00-12:00", "13:00-17:00"]


def clinic_dict(**overrides: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "tenant_id": "acme",
        "name": "Acme Dental",
        "timezone": "America/New_York",
        "secret": "s" * 32,
        "rules": {"slot_interval_minutes": 30, "min_notice_minutes": 0, "max_days_ahead": 60},
        "services": [{"id": "cleaning", "name": "Cleaning", "duration_minutes": 30}],
        "providers": [
            {"id": "a", "name": "Dr. A", "hours": {d: WEEKDAY_HOURS for d in ("mon", "tue", "wed", "thu", "fri")}}
        ],
    }
    data.update(overrides)
    return data


def make_clinic(**overrides: Any) -> Clinic:
    return build_clinic(parse_clinic(clinic_dict(**overrides), {}))
