"""A provider's calendar feed as iCalendar (RFC 5545), with the `icalendar` library. Pure: no I/O.

Meanings chosen:
- one VEVENT per booked appointment (CONFIRMED, and past ones marked NO_SHOW or COMPLETED) and
  per blocked time ("busy"); cancelled appointments are left out, not sent as STATUS:CANCELLED:
  a subscribed calendar replaces its copy on every refresh, so they simply disappear, and no
  client shows a struck-through ghost;
- times are written in the clinic's zone (DTSTART;TZID=…) with its VTIMEZONE, built from the
  zoneinfo database for the feed's range, so DST changes inside it are right in every client;
- UIDs are the appointment id at a per-tenant domain: stable across refreshes and moves;
- DTSTAMP is when the feed was made; the ETag leaves it out, so an unchanged schedule keeps its
  ETag (a weak one: the bytes differ only in DTSTAMP).
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar, Event, Timezone, vDuration

PRODID = "-//voice-booking//calendar feed//EN"
REFRESH = timedelta(minutes=15)  # how often clients are asked to look again (Apple, Outlook)
BUSY_SUMMARY = "Busy"  # blocked time: the reason stays with the clinic


@dataclass(frozen=True)
class FeedEvent:
    """One occupied time of the provider."""

    reservation_id: str
    start: datetime  # aware
    end: datetime
    summary: str  # "" for blocked time


@dataclass(frozen=True)
class Feed:
    tenant_id: str
    calendar_name: str
    zone: ZoneInfo
    first_day: date  # the range the VTIMEZONE must cover
    last_day: date
    events: Sequence[FeedEvent]


def uid(tenant_id: str, reservation_id: str) -> str:
    return f"{reservation_id}@{tenant_id}.voice-booking"


def summary(service_name: str, patient_name: str, with_patient: bool) -> str:
    """The event title: the service, and the patient only when the clinic turns names on."""
    name = patient_name.strip()
    return f"{service_name} – {name}" if with_patient and name else service_name


def render(feed: Feed, stamp: datetime) -> bytes:
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("calscale", "GREGORIAN")
    calendar.add("method", "PUBLISH")
    calendar.add("x-wr-calname", feed.calendar_name)
    calendar.add("x-wr-timezone", feed.zone.key)
    calendar.add("refresh-interval", vDuration(REFRESH), parameters={"VALUE": "DURATION"})
    calendar.add("x-published-ttl", vDuration(REFRESH))
    calendar.add_component(
        Timezone.from_tzinfo(feed.zone, tzid=feed.zone.key, first_date=feed.first_day, last_date=feed.last_day)
    )
    for item in feed.events:
        event = Event()
        event.add("uid", uid(feed.tenant_id, item.reservation_id))
        event.add("dtstamp", stamp)
        event.add("dtstart", item.start.astimezone(feed.zone))
        event.add("dtend", item.end.astimezone(feed.zone))
        event.add("summary", item.summary or BUSY_SUMMARY)
        event.add("status", "CONFIRMED")
        event.add("transp", "OPAQUE")
        if not item.summary:
            event.add("class", "PRIVATE")
        calendar.add_component(event)
    body: bytes = calendar.to_ical()
    return body


def etag(body: bytes) -> str:
    """A weak ETag of the feed without its DTSTAMPs (they change on every rendering)."""
    lines = (line for line in body.split(b"\r\n") if not line.startswith(b"DTSTAMP"))
    return 'W/"' + hashlib.sha256(b"\r\n".join(lines)).hexdigest()[:32] + '"'


def matches(if_none_match: str, tag: str) -> bool:
    """Whether an If-None-Match header names this ETag (weak comparison, as RFC 9110 asks)."""
    wanted = tag.removeprefix("W/")
    return any(t.strip() == "*" or t.strip().removeprefix("W/") == wanted for t in if_none_match.split(","))
