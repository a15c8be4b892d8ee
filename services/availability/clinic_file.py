"""Read a clinic file (YAML or JSON) into a ClinicConfig message.

This step checks the file's shape (known keys, types, "HH:MM-HH:MM" intervals) with field
paths; `clinic.build_clinic` then checks the meaning. The tenant secret is read from the file
(`secret`) or from an environment variable (`secret_env`); availability stores it sealed and never
returns it.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import date
from pathlib import Path
from typing import Any

import yaml

from booking.availability.v1 import availability_pb2 as pb
from services.availability.clinic import ClinicConfigError, secret_problem

WEEKDAYS = {"mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6, "sun": 7}
RULE_KEYS = {
    "slot_interval_minutes",
    "min_notice_minutes",
    "max_days_ahead",
    "hold_minutes",
    "cancellation_cutoff_minutes",
    "max_active_appointments_per_phone",
    "max_codes_per_hour",
}
BOOL_RULE_KEYS = {"otp_required", "allow_spoken_phone_for_otp", "verify_changes_by_code"}
REMINDER_KEYS = {"before_minutes", "quiet_hours", "enabled"}
TOP_KEYS = {
    "tenant_id",
    "name",
    "timezone",
    "phone",
    "default_region",
    "secret",
    "secret_env",
    "rules",
    "services",
    "providers",
    "holidays",
    "sms_countries",
    "calendar_feeds",
    "locale",
}
FEED_KEYS = {"patient_names"}
SERVICE_KEYS = {
    "id",
    "name",
    "spoken_name",
    "duration_minutes",
    "buffer_before_minutes",
    "buffer_after_minutes",
    "providers",
    "rules",
}
PROVIDER_KEYS = {"id", "name", "spoken_name", "timezone", "hours", "time_off", "extra_hours"}
EXCEPTION_KEYS = {"date", "from", "to", "hours", "reason"}


class _Reader:
    def __init__(self) -> None:
        self.errors: list[str] = []

    def fail(self, path: str, reason: str) -> None:
        self.errors.append(f"{path}: {reason}")

    def mapping(self, path: str, value: Any, allowed: set[str]) -> Mapping[str, Any]:
        if not isinstance(value, Mapping):
            self.fail(path or "(file)", "must be a mapping of keys to values")
            return {}
        for key in value:
            if key not in allowed:
                self.fail(f"{path}.{key}" if path else str(key), "unknown key")
        return value

    def sequence(self, path: str, value: Any) -> list[Any]:
        if value is None:
            return []
        if not isinstance(value, list):
            self.fail(path, "must be a list")
            return []
        return value

    def text(self, path: str, value: Any) -> str:
        if value is None:
            return ""
        if isinstance(value, date):
            return value.isoformat()
        if isinstance(value, (str, int, float)) and not isinstance(value, bool):
            return str(value)
        self.fail(path, "must be text")
        return ""

    def integer(self, path: str, value: Any) -> int:
        if value is None:
            return 0
        if isinstance(value, bool) or not isinstance(value, int):
            self.fail(path, f"{value!r} must be a whole number")
            return 0
        if not -(2**31) <= value < 2**31:
            self.fail(path, f"{value} is out of range")
            return 0
        return value

    def clock(self, path: str, value: Any) -> str:
        # YAML 1.1 reads unquoted 09:00 as the number 540 (base 60); turn it back.
        if isinstance(value, int) and not isinstance(value, bool) and 0 <= value <= 24 * 60:
            return f"{value // 60:02d}:{value % 60:02d}"
        return self.text(path, value)

    def intervals(self, path: str, value: Any) -> list[pb.LocalInterval]:
        result = []
        for index, item in enumerate(self.sequence(path, value)):
            here = f"{path}[{index}]"
            if isinstance(item, str):
                start, sep, end = item.partition("-")
                if not sep:
                    self.fail(here, f"{item!r} must look like 09:00-17:00")
                    continue
                result.append(pb.LocalInterval(start=start.strip(), end=end.strip()))
            elif isinstance(item, Mapping):
                bounds = self.mapping(here, item, {"start", "end"})
                result.append(
                    pb.LocalInterval(
                        start=self.clock(f"{here}.start", bounds.get("start")),
                        end=self.clock(f"{here}.end", bounds.get("end")),
                    )
                )
            else:
                self.fail(here, "must be 'HH:MM-HH:MM' or {start, end}")
        return result

    def rules(self, path: str, value: Any) -> pb.BookingRules:
        rules = pb.BookingRules()
        if value is None:
            return rules
        for key, item in self.mapping(path, value, RULE_KEYS | BOOL_RULE_KEYS | {"reminders"}).items():
            if key == "reminders":
                rules.reminders.CopyFrom(self.reminders(f"{path}.reminders", item))
            elif key in RULE_KEYS:
                setattr(rules, key, self.integer(f"{path}.{key}", item))
            elif key in BOOL_RULE_KEYS:
                if not isinstance(item, bool):
                    self.fail(f"{path}.{key}", "must be true or false")
                else:
                    setattr(rules, key, item)
        return rules

    def reminders(self, path: str, value: Any) -> pb.ReminderRules:
        """`{before_minutes: [1440, 120], quiet_hours: "21:00-08:00", enabled: true}`, every key optional."""
        item = self.mapping(path, value, REMINDER_KEYS)
        reminders = pb.ReminderRules(
            offsets_minutes=[
                self.integer(f"{path}.before_minutes[{i}]", v)
                for i, v in enumerate(self.sequence(f"{path}.before_minutes", item.get("before_minutes")))
            ]
        )
        if "enabled" in item:
            if not isinstance(item["enabled"], bool):
                self.fail(f"{path}.enabled", "must be true or false")
            else:
                reminders.enabled = item["enabled"]
        if item.get("quiet_hours") is not None:
            quiet = self.intervals(f"{path}.quiet_hours", [item["quiet_hours"]])
            if quiet:
                reminders.quiet_start, reminders.quiet_end = quiet[0].start, quiet[0].end
        return reminders

    def exceptions(self, path: str, value: Any, kind: int) -> list[pb.DateException]:
        result = []
        for index, raw in enumerate(self.sequence(path, value)):
            here = f"{path}[{index}]"
            item = self.mapping(here, raw, EXCEPTION_KEYS)
            start = item.get("date", item.get("from"))
            if start is None:
                self.fail(here, "needs a date (or from/to)")
                continue
            result.append(
                pb.DateException(
                    start_date=self.text(f"{here}.date", start),
                    end_date=self.text(f"{here}.to", item.get("to")),
                    kind=kind,  # type: ignore[arg-type]
                    intervals=self.intervals(f"{here}.hours", item.get("hours")),
                    reason=self.text(f"{here}.reason", item.get("reason")),
                )
            )
        return result


def parse_clinic(data: Any, env: Mapping[str, str]) -> pb.ClinicConfig:
    """Turn the parsed file into a ClinicConfig, or raise ClinicConfigError with every problem."""
    read = _Reader()
    top = read.mapping("", data, TOP_KEYS)
    config = pb.ClinicConfig(
        tenant_id=read.text("tenant_id", top.get("tenant_id")),
        name=read.text("name", top.get("name")),
        timezone=read.text("timezone", top.get("timezone")),
        phone=read.text("phone", top.get("phone")),
        default_region=read.text("default_region", top.get("default_region")),
        locale=read.text("locale", top.get("locale")),
        rules=read.rules("rules", top.get("rules")),
    )
    config.secret = _secret(read, top, env)
    config.sms_countries.extend(
        read.text(f"sms_countries[{i}]", item).upper()
        for i, item in enumerate(read.sequence("sms_countries", top.get("sms_countries")))
    )
    config.holidays.extend(read.exceptions("holidays", top.get("holidays"), pb.EXCEPTION_KIND_TIME_OFF))
    config.calendar_feeds.CopyFrom(_calendar_feeds(read, top.get("calendar_feeds")))
    for index, raw in enumerate(read.sequence("services", top.get("services"))):
        config.services.append(_service(read, f"services[{index}]", raw))
    for index, raw in enumerate(read.sequence("providers", top.get("providers"))):
        config.providers.append(_provider(read, f"providers[{index}]", raw))
    if read.errors:
        raise ClinicConfigError(read.errors)
    return config


def _secret(read: _Reader, top: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """The tenant secret, from the file or from the environment variable it names."""
    secret = read.text("secret", top.get("secret"))
    if "secret_env" in top:
        name = read.text("secret_env", top.get("secret_env"))
        secret = env.get(name, "")
        if not secret:
            read.fail("secret_env", f"environment variable {name} is not set")
    if secret and (problem := secret_problem(secret)):
        read.fail("secret", problem)
    return secret


def _calendar_feeds(read: _Reader, value: Any) -> pb.CalendarFeeds:
    """What the providers' calendar feeds show (`calendar_feeds: {patient_names: true}`)."""
    feeds = pb.CalendarFeeds()
    for key, item in read.mapping("calendar_feeds", value or {}, FEED_KEYS).items():
        if key not in FEED_KEYS:
            continue  # reported as an unknown key
        if not isinstance(item, bool):
            read.fail(f"calendar_feeds.{key}", "must be true or false")
        else:
            setattr(feeds, key, item)
    return feeds


def _service(read: _Reader, here: str, raw: Any) -> pb.AppointmentType:
    item = read.mapping(here, raw, SERVICE_KEYS)
    return pb.AppointmentType(
        id=read.text(f"{here}.id", item.get("id")),
        name=read.text(f"{here}.name", item.get("name")),
        spoken_name=read.text(f"{here}.spoken_name", item.get("spoken_name")),
        duration_minutes=read.integer(f"{here}.duration_minutes", item.get("duration_minutes")),
        buffer_before_minutes=read.integer(f"{here}.buffer_before_minutes", item.get("buffer_before_minutes")),
        buffer_after_minutes=read.integer(f"{here}.buffer_after_minutes", item.get("buffer_after_minutes")),
        provider_ids=[
            read.text(f"{here}.providers[{i}]", p)
            for i, p in enumerate(read.sequence(f"{here}.providers", item.get("providers")))
        ],
        rules=read.rules(f"{here}.rules", item.get("rules")),
    )


def _provider(read: _Reader, here: str, raw: Any) -> pb.Provider:
    item = read.mapping(here, raw, PROVIDER_KEYS)
    provider = pb.Provider(
        id=read.text(f"{here}.id", item.get("id")),
        name=read.text(f"{here}.name", item.get("name")),
        spoken_name=read.text(f"{here}.spoken_name", item.get("spoken_name")),
        timezone=read.text(f"{here}.timezone", item.get("timezone")),
    )
    hours = read.mapping(f"{here}.hours", item.get("hours") or {}, set(WEEKDAYS))
    for day, weekday in WEEKDAYS.items():
        if day in hours:
            provider.weekly_hours.append(
                pb.WeeklyHours(
                    weekday=weekday,  # type: ignore[arg-type]
                    intervals=read.intervals(f"{here}.hours.{day}", hours[day]),
                )
            )
    provider.exceptions.extend(read.exceptions(f"{here}.time_off", item.get("time_off"), pb.EXCEPTION_KIND_TIME_OFF))
    provider.exceptions.extend(
        read.exceptions(f"{here}.extra_hours", item.get("extra_hours"), pb.EXCEPTION_KIND_EXTRA_HOURS)
    )
    return provider


def load_clinic_file(path: Path, env: Mapping[str, str]) -> pb.ClinicConfig:
    try:
        text = path.read_text()
    except OSError as error:
        raise ClinicConfigError([f"{path}: cannot be read ({error.strerror})"]) from None
    try:
        data = json.loads(text) if path.suffix == ".json" else yaml.safe_load(text)
    except (json.JSONDecodeError, yaml.YAMLError) as error:
        raise ClinicConfigError(
            [f"{path.name}: not valid {'JSON' if path.suffix == '.json' else 'YAML'}: {error}"]
        ) from None
    return parse_clinic(data, env)
