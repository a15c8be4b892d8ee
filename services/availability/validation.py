"""What ValidateSlot answers about one start time. Pure: the servicer passes the clinic, `now`
and the busy time it fetched.

With a provider named, the time must be one of that provider's offered slots. Without one, the
first provider in clinic order who offers the service, works then and is not busy then is chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from services.availability.clinic import AppointmentType, Clinic
from services.availability.refusals import (
    EVERYONE_BUSY,
    NOT_OFFERED,
    PROVIDER_DOES_NOT_OFFER,
    TIME_IN_PAST,
    TIME_NOT_BOOKABLE,
    Refusal,
)
from services.availability.slots import Busy, BusyIndex, bookable_window


def check_time(
    clinic: Clinic,
    service: AppointmentType | None,
    provider_id: str,
    start: datetime,
    duration_minutes: int | None,
    now: datetime,
) -> Refusal | None:
    """Why `start` can't be booked, from the rules alone (provider_id "" = any provider)."""
    if service is None or (
        provider_id and (provider_id not in clinic.providers or provider_id not in service.provider_ids)
    ):
        return PROVIDER_DOES_NOT_OFFER
    if duration_minutes is not None and duration_minutes != int(service.duration.total_seconds() // 60):
        return NOT_OFFERED
    earliest, horizon = bookable_window(clinic, service.rules, now)
    if start < now:
        return TIME_IN_PAST
    if start < earliest or _local_day(start, clinic.timezone) > horizon:
        return TIME_NOT_BOOKABLE
    return None


def _local_day(start: datetime, zone: ZoneInfo) -> date:
    try:
        return start.astimezone(zone).date()
    except OverflowError:  # the last hours of year 9999: beyond any horizon
        return date.max


def occupied(service: AppointmentType, start: datetime) -> tuple[datetime, datetime]:
    """The time a provider is taken by this appointment: the slot plus its buffers."""
    return start - service.buffer_before, start + service.duration + service.buffer_after


def first_free(
    working: Sequence[str], busy: Mapping[str, Sequence[Busy]], taken: tuple[datetime, datetime]
) -> tuple[str, Refusal | None]:
    """The first of the providers working then (clinic order) whose busy time leaves `taken` clear."""
    if not working:
        return "", NOT_OFFERED
    for provider_id in working:
        if not BusyIndex(busy.get(provider_id, ())).overlaps(*taken):
            return provider_id, None
    return "", EVERYONE_BUSY
