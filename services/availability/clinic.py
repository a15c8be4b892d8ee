"""A clinic's configuration as domain objects, built from the ClinicConfig message.

`build_clinic` validates everything and reports every problem with a field path in the
clinic file's terms (`providers[1].hours.tue[0]: end 09:00 is before start 17:00`), so
a broken configuration is rejected whole. Pure: no I/O.
"""

from __future__ import annotations

import re
from collections.abc import Container
from dataclasses import dataclass, field
from datetime import date, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from booking.availability.v1 import availability_pb2 as pb
from common.rules import DEFAULT_HOLD_MINUTES, MAX_HOLD_MINUTES
from services.availability.language import DEFAULT_LOCALE, canonical_locale, locale_problem
from services.availability.reminder_rules import DEFAULT_REMINDERS, Reminders, check_reminders

SLUG = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
HHMM = re.compile(r"^([01]\d|2[0-3]):([0-5]\d)$|^24:00$")
WEEKDAY_KEYS = {1: "mon", 2: "tue", 3: "wed", 4: "thu", 5: "fri", 6: "sat", 7: "sun"}

# (field, minimum, maximum, default)
RULE_LIMITS: dict[str, tuple[int, int, int]] = {
    "slot_interval_minutes": (5, 240, 15),
    "min_notice_minutes": (0, 60 * 24 * 30, 60),
    "max_days_ahead": (1, 366, 60),
    "hold_minutes": (1, 60, DEFAULT_HOLD_MINUTES),
    "cancellation_cutoff_minutes": (0, 60 * 24 * 30, 24 * 60),
    "max_active_appointments_per_phone": (0, 100, 3),
    "max_codes_per_hour": (0, 100_000, 60),
}
BOOL_RULE_DEFAULTS = {"otp_required": True, "allow_spoken_phone_for_otp": False, "verify_changes_by_code": False}
MIN_SECRET_LENGTH = 16
MAX_SECRET_LENGTH = 256


def secret_problem(secret: str) -> str | None:
    """Why a tenant's webhook secret is unusable, or None."""
    if len(secret) < MIN_SECRET_LENGTH:
        return f"must be at least {MIN_SECRET_LENGTH} characters"
    if len(secret) > MAX_SECRET_LENGTH or not secret.isascii() or not secret.isprintable() or " " in secret:
        return f"must be at most {MAX_SECRET_LENGTH} printable ASCII characters without spaces"
    return None


class ClinicConfigError(ValueError):
    """The configuration is invalid; `errors` lists every problem with its field path."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True)
class Rules:
    slot_interval_minutes: int
    min_notice_minutes: int
    max_days_ahead: int
    hold_minutes: int
    cancellation_cutoff_minutes: int
    max_active_appointments_per_phone: int
    max_codes_per_hour: int
    otp_required: bool
    allow_spoken_phone_for_otp: bool
    verify_changes_by_code: bool
    reminders: Reminders = DEFAULT_REMINDERS

    def to_proto(self) -> pb.BookingRules:
        return pb.BookingRules(
            slot_interval_minutes=self.slot_interval_minutes,
            min_notice_minutes=self.min_notice_minutes,
            max_days_ahead=self.max_days_ahead,
            hold_minutes=min(self.hold_minutes, MAX_HOLD_MINUTES),
            cancellation_cutoff_minutes=self.cancellation_cutoff_minutes,
            max_active_appointments_per_phone=self.max_active_appointments_per_phone,
            otp_required=self.otp_required,
            allow_spoken_phone_for_otp=self.allow_spoken_phone_for_otp,
            verify_changes_by_code=self.verify_changes_by_code,
            max_codes_per_hour=self.max_codes_per_hour,
            reminders=self.reminders.to_proto(),
        )


@dataclass(frozen=True)
class WallInterval:
    """A wall-clock interval in one local day, in minutes since midnight (end may be 1440)."""

    start: int
    end: int

    @property
    def start_time(self) -> time:
        return time(self.start // 60, self.start % 60)


@dataclass(frozen=True)
class DateException:
    start_date: date
    end_date: date
    time_off: bool  # False = extra hours
    intervals: tuple[WallInterval, ...]  # empty with time_off = the whole day

    def covers(self, day: date) -> bool:
        return self.start_date <= day <= self.end_date


@dataclass(frozen=True)
class Provider:
    provider_id: str
    name: str
    spoken_name: str
    timezone: ZoneInfo
    weekly: dict[int, tuple[WallInterval, ...]]  # ISO weekday 1..7
    exceptions: tuple[DateException, ...]
    position: int


@dataclass(frozen=True)
class AppointmentType:
    """One kind of appointment (a "service" in the clinic file) and who offers it."""

    service_id: str
    provider_ids: tuple[str, ...]  # as the service lists them; none listed = every provider
    name: str
    spoken_name: str
    duration: timedelta
    buffer_before: timedelta
    buffer_after: timedelta
    rules: Rules


@dataclass(frozen=True)
class Clinic:
    tenant_id: str
    name: str
    timezone: ZoneInfo
    phone: str
    default_region: str
    rules: Rules
    services: dict[str, AppointmentType]
    providers: dict[str, Provider]
    holidays: tuple[DateException, ...] = field(default=())
    sms_countries: tuple[str, ...] = field(default=())
    locale: str = DEFAULT_LOCALE  # BCP 47, en-* or es-*: the default language of phrases and texts
    # Results derived from this configuration alone (slots.day_candidates): a new configuration
    # is a new object, so nothing here outlives the configuration it came from.
    memo: dict[Any, Any] = field(default_factory=dict, compare=False, repr=False)

    def service(self, service_id: str) -> AppointmentType | None:
        if not service_id:
            return next(iter(self.services.values()), None)
        return self.services.get(service_id)


def parse_hhmm(value: str) -> int | None:
    match = HHMM.match(value)
    if not match:
        return None
    if value == "24:00":
        return 24 * 60
    return int(match.group(1)) * 60 + int(match.group(2))


class _Checker:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(f"{path}: {reason}")

    def zone(self, path: str, name: str) -> ZoneInfo | None:
        if not name:
            self.fail(path, "an IANA timezone such as America/New_York is required")
            return None
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            self.fail(path, f"{name!r} is not an IANA timezone")
            return None

    def date(self, path: str, value: str) -> date | None:
        try:
            return date.fromisoformat(value)
        except ValueError:
            self.fail(path, f"{value!r} is not a date (YYYY-MM-DD)")
            return None

    def intervals(self, path: str, items: list[pb.LocalInterval]) -> tuple[WallInterval, ...]:
        result: list[WallInterval] = []
        for index, item in enumerate(items):
            here = f"{path}[{index}]"
            start, end = parse_hhmm(item.start), parse_hhmm(item.end)
            if start is None:
                self.fail(here, f"start {item.start!r} is not a time (HH:MM)")
            if end is None:
                self.fail(here, f"end {item.end!r} is not a time (HH:MM)")
            if start is None or end is None:
                continue
            if end <= start:
                self.fail(here, f"end {item.end} is before start {item.start}")
                continue
            if result and start < result[-1].end:
                self.fail(here, f"{item.start}-{item.end} overlaps or precedes the interval before it")
                continue
            result.append(WallInterval(start, end))
        return tuple(result)

    def rules(self, path: str, given: pb.BookingRules, base: Rules | None) -> Rules:
        values: dict[str, int | bool] = {}
        for name, (low, high, default) in RULE_LIMITS.items():
            if given.HasField(name):  # type: ignore[arg-type]
                value = getattr(given, name)
                if not low <= value <= high:
                    self.fail(f"{path}.{name}", f"{value} is outside {low}..{high}")
                values[name] = value
            else:
                values[name] = getattr(base, name) if base else default
        for name, default_flag in BOOL_RULE_DEFAULTS.items():
            if given.HasField(name):  # type: ignore[arg-type]
                values[name] = getattr(given, name)
            else:
                values[name] = getattr(base, name) if base else default_flag
        inherited = base.reminders if base else DEFAULT_REMINDERS
        reminders = check_reminders(self.fail, f"{path}.reminders", given.reminders, inherited)
        return Rules(**values, reminders=reminders)  # type: ignore[arg-type]

    def exceptions(self, path: str, items: list[pb.DateException]) -> tuple[DateException, ...]:
        result: list[DateException] = []
        counters = {True: 0, False: 0}
        for item in items:
            time_off = item.kind != pb.EXCEPTION_KIND_EXTRA_HOURS
            index = counters[time_off]
            counters[time_off] += 1
            here = f"{path}.{'time_off' if time_off else 'extra_hours'}[{index}]"
            if item.kind == pb.EXCEPTION_KIND_UNSPECIFIED:
                self.fail(here, "kind must be time off or extra hours")
                continue
            start = self.date(f"{here}.date", item.start_date)
            end = self.date(f"{here}.to", item.end_date) if item.end_date else start
            intervals = self.intervals(f"{here}.hours", list(item.intervals))
            if start is None or end is None:
                continue
            if end < start:
                self.fail(here, f"to {end} is before from {start}")
                continue
            if not time_off and not item.intervals:
                self.fail(here, "extra hours need a start and an end")
                continue
            result.append(DateException(start, end, time_off, intervals))
        return tuple(result)


def build_clinic(config: pb.ClinicConfig, *, stored: bool = False) -> Clinic:
    """Validate a whole configuration and build the domain clinic, or raise ClinicConfigError.

    A `stored` configuration comes without its secret (that is kept sealed, apart)."""
    check = _Checker()
    zone, region = _check_clinic(check, config, stored)
    clinic_rules = check.rules("rules", config.rules, None)
    holidays = check.exceptions("holidays", list(config.holidays))
    if any(not h.time_off for h in holidays):
        check.fail("holidays", "holidays are closures; put extra hours on a provider")
    providers = _providers(check, config, zone)
    services = _services(check, config, clinic_rules)
    if check.errors or zone is None:
        raise ClinicConfigError(check.errors or ["timezone: invalid"])
    return Clinic(
        tenant_id=config.tenant_id,
        name=config.name,
        timezone=zone,
        phone=config.phone,
        default_region=region,
        rules=clinic_rules,
        services=services,
        providers=providers,
        holidays=holidays,
        sms_countries=tuple(config.sms_countries) or (region,),
        locale=canonical_locale(config.locale) or DEFAULT_LOCALE,
    )


def _check_clinic(check: _Checker, config: pb.ClinicConfig, stored: bool) -> tuple[ZoneInfo | None, str]:
    """The clinic's own fields; returns its timezone (None when invalid) and phone region."""
    if not SLUG.match(config.tenant_id):
        check.fail("tenant_id", f"{config.tenant_id!r} must be a lowercase slug (a-z, 0-9, -)")
    if not config.name.strip():
        check.fail("name", "the clinic's name is required")
    zone = check.zone("timezone", config.timezone)
    region = config.default_region or "US"
    if region not in phonenumbers.SUPPORTED_REGIONS:
        check.fail("default_region", f"{region!r} is not a phone region code such as US or GB")
    if config.phone and not _valid_phone(config.phone, region):
        check.fail("phone", f"{config.phone!r} is not a valid phone number")
    if not config.secret:
        if not stored:
            check.fail("secret", "a tenant secret is required (secret or secret_env)")
    elif problem := secret_problem(config.secret):
        check.fail("secret", problem)
    for index, country in enumerate(config.sms_countries):
        if country not in phonenumbers.SUPPORTED_REGIONS:
            check.fail(f"sms_countries[{index}]", f"{country!r} is not a phone region code such as US or GB")
    if problem := locale_problem(config.locale):
        check.fail("locale", problem)
    return zone, region


def _valid_phone(phone: str, region: str) -> bool:
    try:
        parsed = phonenumbers.parse(phone, region if region in phonenumbers.SUPPORTED_REGIONS else "US")
    except phonenumbers.NumberParseException:
        return False
    return bool(phonenumbers.is_valid_number(parsed))


def _check_entry(check: _Checker, here: str, entry_id: str, name: str, taken: Container[str], kind: str) -> None:
    """The id and name every provider and service needs (ids unique within their kind)."""
    if not SLUG.match(entry_id):
        check.fail(f"{here}.id", f"{entry_id!r} must be a lowercase slug (a-z, 0-9, -)")
    elif entry_id in taken:
        check.fail(f"{here}.id", f"{entry_id!r} is used by another {kind}")
    if not name.strip():
        check.fail(f"{here}.name", "a name is required")


def _providers(check: _Checker, config: pb.ClinicConfig, zone: ZoneInfo | None) -> dict[str, Provider]:
    providers: dict[str, Provider] = {}
    if not config.providers:
        check.fail("providers", "at least one provider is required")
    for index, item in enumerate(config.providers):
        here = f"providers[{index}]"
        _check_entry(check, here, item.id, item.name, providers, "provider")
        provider_zone = check.zone(f"{here}.timezone", item.timezone) if item.timezone else zone
        weekly = _weekly(check, here, list(item.weekly_hours))
        exceptions = check.exceptions(here, list(item.exceptions))
        if provider_zone is not None and item.id not in providers:
            providers[item.id] = Provider(
                provider_id=item.id,
                name=item.name,
                spoken_name=item.spoken_name or item.name,
                timezone=provider_zone,
                weekly=weekly,
                exceptions=exceptions,
                position=index,
            )
    return providers


def _weekly(check: _Checker, here: str, items: list[pb.WeeklyHours]) -> dict[int, tuple[WallInterval, ...]]:
    weekly: dict[int, tuple[WallInterval, ...]] = {}
    for hours in items:
        key = WEEKDAY_KEYS.get(hours.weekday)
        if key is None:
            check.fail(f"{here}.hours", "a weekday is missing")
            continue
        if hours.weekday in weekly:
            check.fail(f"{here}.hours.{key}", "listed twice")
            continue
        weekly[hours.weekday] = check.intervals(f"{here}.hours.{key}", list(hours.intervals))
    return weekly


def _services(check: _Checker, config: pb.ClinicConfig, clinic_rules: Rules) -> dict[str, AppointmentType]:
    services: dict[str, AppointmentType] = {}
    if not config.services:
        check.fail("services", "at least one appointment type is required")
    provider_ids = {p.id for p in config.providers}
    for index, svc in enumerate(config.services):
        here = f"services[{index}]"
        _check_entry(check, here, svc.id, svc.name, services, "service")
        if not 5 <= svc.duration_minutes <= 480:
            check.fail(f"{here}.duration_minutes", f"{svc.duration_minutes} is outside 5..480")
        for name in ("buffer_before_minutes", "buffer_after_minutes"):
            if not 0 <= getattr(svc, name) <= 240:
                check.fail(f"{here}.{name}", f"{getattr(svc, name)} is outside 0..240")
        for p_index, provider_id in enumerate(svc.provider_ids):
            if provider_id not in provider_ids:
                check.fail(f"{here}.providers[{p_index}]", f"no provider has id {provider_id!r}")
        services[svc.id] = AppointmentType(
            service_id=svc.id,
            name=svc.name,
            spoken_name=svc.spoken_name or svc.name,
            duration=timedelta(minutes=svc.duration_minutes),
            buffer_before=timedelta(minutes=svc.buffer_before_minutes),
            buffer_after=timedelta(minutes=svc.buffer_after_minutes),
            provider_ids=tuple(svc.provider_ids) or tuple(p.id for p in config.providers),
            rules=check.rules(f"{here}.rules", svc.rules, clinic_rules),
        )
    return services
