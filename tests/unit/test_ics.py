"""A provider's calendar feed as iCalendar (pure): parsed back with `icalendar`, in the clinic's
zone across a DST change, with stable UIDs and an ETag that ignores when it was made."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from icalendar import Calendar

from gateway import ics

NY = ZoneInfo("America/New_York")
BEFORE_DST = datetime(2030, 3, 8, 10, tzinfo=NY)  # Friday, EST (UTC-5)
AFTER_DST = datetime(2030, 3, 11, 10, tzinfo=NY)  # Monday, EDT (UTC-4): clocks went forward on the 10th


def feed(*events: ics.FeedEvent) -> ics.Feed:
    return ics.Feed("acme", "Acme Dental – Dr. One", NY, date(2030, 3, 1), date(2030, 4, 1), events)


EVENTS = (
    ics.FeedEvent("a1", BEFORE_DST, BEFORE_DST + timedelta(minutes=30), "Short"),
    ics.FeedEvent("b1", AFTER_DST, AFTER_DST + timedelta(hours=1), ""),
)


def test_the_feed_parses_back_with_events_in_the_clinics_zone_across_dst() -> None:
    body = ics.render(feed(*EVENTS), datetime(2030, 3, 1, tzinfo=UTC))
    calendar = Calendar.from_ical(body)
    assert calendar["X-WR-TIMEZONE"] == "America/New_York"
    assert calendar["X-WR-CALNAME"] == "Acme Dental – Dr. One"
    assert calendar["VERSION"] == "2.0" and calendar["PRODID"]
    [zone] = calendar.walk("VTIMEZONE")
    assert zone["TZID"] == "America/New_York"
    events = {str(e["UID"]): e for e in calendar.walk("VEVENT")}
    short, busy = events["a1@acme.voice-booking"], events["b1@acme.voice-booking"]
    # 10:00 local on both days, which is 15:00 UTC before the change and 14:00 UTC after it.
    assert short.decoded("DTSTART").hour == 10 and busy.decoded("DTSTART").hour == 10
    assert short.decoded("DTSTART").astimezone(UTC).hour == 15
    assert busy.decoded("DTSTART").astimezone(UTC).hour == 14
    assert str(short.decoded("DTSTART").tzinfo) == "America/New_York"
    assert short.decoded("DTEND") - short.decoded("DTSTART") == timedelta(minutes=30)
    assert str(short["SUMMARY"]) == "Short"
    assert str(busy["SUMMARY"]) == ics.BUSY_SUMMARY and str(busy["CLASS"]) == "PRIVATE"
    assert b"DTSTART;TZID=America/New_York:20300311T100000" in body


def test_the_etag_ignores_dtstamp_and_changes_with_the_schedule() -> None:
    first = ics.render(feed(*EVENTS), datetime(2030, 3, 1, tzinfo=UTC))
    later = ics.render(feed(*EVENTS), datetime(2030, 3, 2, tzinfo=UTC))
    assert first != later and ics.etag(first) == ics.etag(later)
    fewer = ics.render(feed(EVENTS[0]), datetime(2030, 3, 1, tzinfo=UTC))
    assert ics.etag(fewer) != ics.etag(first)
    tag = ics.etag(first)
    assert ics.matches(tag, tag) and ics.matches(f'"x", {tag.removeprefix("W/")}', tag) and ics.matches("*", tag)
    assert not ics.matches('"other"', tag) and not ics.matches("", tag)


def test_the_summary_names_the_patient_only_when_the_clinic_turns_it_on() -> None:
    assert ics.summary("Cleaning", "Ann Lee", with_patient=False) == "Cleaning"
    assert ics.summary("Cleaning", "Ann Lee", with_patient=True) == "Cleaning – Ann Lee"
    assert ics.summary("Cleaning", " ", with_patient=True) == "Cleaning"
