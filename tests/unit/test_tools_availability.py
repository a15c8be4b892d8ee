"""check_availability's parse and word steps (pure, replies built by hand)."""

from __future__ import annotations

from booking.availability.v1 import availability_pb2 as apb
from gateway.tools import ToolResult
from gateway.tools.availability import Search, parse, request, word
from tests.unit.tool_context import context, failure, local, slot, stamp


def test_parse_reads_names_into_ids() -> None:
    ctx = context()
    parsed = parse(ctx, {"date": "tomorrow", "service": "cleaning", "doctor": "Lee", "part_of_day": "Morning"})
    assert parsed == Search(
        date="tomorrow", service_id="cleaning", provider_id="lee", part_of_day=apb.PART_OF_DAY_MORNING
    )
    assert parse(ctx, {"from": "monday", "to": "friday", "date": "ignored", "limit": 50}) == Search(
        from_date="monday", to_date="friday", limit=50
    )
    for limit in (0, 51, True, "5", 2.5):
        assert parse(ctx, {"limit": limit}) == Search()  # the default 10
    assert request(ctx, Search(date="tomorrow")) == apb.FindSlotsRequest(
        tenant_id="demo", date="tomorrow", limit=10, language="en"
    )


def test_parse_refuses_an_unknown_service_or_provider_naming_ours() -> None:
    ctx = context()
    refused = parse(ctx, {"service": "haircut"})
    assert isinstance(refused, ToolResult) and refused.data == {"cause": "UNKNOWN_SERVICE"}
    assert refused.speech == "I'm not sure which appointment you mean. We offer a dental cleaning or an exam."
    refused = parse(ctx, {"provider": "Who"})
    assert isinstance(refused, ToolResult) and refused.data == {"cause": "UNKNOWN_PROVIDER"}
    assert refused.speech == "I don't know that provider. Our providers are Doctor Lee or Doctor Patel."


def test_word_reads_the_open_times() -> None:
    reply = apb.FindSlotsResponse(
        slots=[slot(24, 9), slot(24, 9, 30)], timezone="America/New_York", from_date="2026-11-24", to_date="2026-11-24"
    )
    result = word(context(), reply)
    assert result.ok and result.speech == "I have tomorrow at 9 AM or 9:30 AM with Doctor Lee."
    assert result.data["slots"][0] == {
        "slot_id": "s-24-9-0", "start": "2026-11-24T09:00:00-05:00", "when": "tomorrow at 9 AM",
        "provider": "Doctor Lee", "provider_id": "lee", "service_id": "cleaning",
    }  # fmt: skip
    assert "cause" not in result.data and "alternatives" not in result.data


def test_word_nothing_free_on_the_day_range_or_later() -> None:
    ctx = context()
    today = word(ctx, apb.FindSlotsResponse(from_date="2026-11-23", to_date="2026-11-23", alternatives=[slot(24, 9)]))
    assert today.speech == "There's nothing free today. The next openings: I have tomorrow at 9 AM with Doctor Lee."
    assert today.data["alternatives"][0]["slot_id"] == "s-24-9-0"
    friday = word(ctx, apb.FindSlotsResponse(from_date="2026-11-27", to_date="2026-11-27"))
    assert friday.speech == (
        "There's nothing free on Friday, November 27th. I couldn't find an opening in the next two weeks either."
    )
    days = word(ctx, apb.FindSlotsResponse(from_date="2026-11-24", to_date="2026-11-27"))
    assert days.speech.startswith("There's nothing free in those days.")


def test_word_a_refused_date_by_its_cause() -> None:
    reply = apb.FindSlotsResponse(failure=failure("DATE_IN_PAST"), alternatives=[slot(24, 9)], from_date="2026-01-15")
    result = word(context(), reply)
    assert result.ok and result.data["cause"] == "DATE_IN_PAST"
    assert result.speech == "That date has already passed. The next openings: I have tomorrow at 9 AM with Doctor Lee."
    far = word(context(), apb.FindSlotsResponse(failure=failure("OUTSIDE_BOOKING_WINDOW")))
    assert far.speech.startswith("We can't book that far ahead yet.")
    odd = word(context(), apb.FindSlotsResponse(failure=failure("UNSPECIFIED")))
    assert odd.speech.startswith("I can't book that date.")


def test_word_reads_at_most_three_times_spread_or_nearest_to_the_time_asked() -> None:
    day = [slot(24, 9), slot(24, 9, 30), slot(24, 11), slot(24, 12), slot(24, 14), slot(24, 15), slot(24, 16)]
    reply = apb.FindSlotsResponse(slots=day, from_date="2026-11-24", to_date="2026-11-24")
    spread = word(context(), reply)
    assert spread.speech == "I have tomorrow at 9 AM, 12 PM or 3 PM with Doctor Lee."
    assert len(spread.data["slots"]) == len(day)  # the model still gets every time
    reply.asked_time.CopyFrom(stamp(local(24, 14, 30)))
    assert word(context(), reply).speech == "I have tomorrow at 2 PM, 3 PM or 4 PM with Doctor Lee."
    afternoon = [slot(24, 13), slot(24, 13, 15), slot(24, 13, 30), slot(24, 16)]
    reply = apb.FindSlotsResponse(slots=afternoon, part_of_day=apb.PART_OF_DAY_AFTERNOON, from_date="2026-11-24")
    assert word(context(), reply).speech == "I have tomorrow at 1 PM, 1:15 PM or 1:30 PM with Doctor Lee."


def test_word_a_wide_open_day_asks_morning_or_afternoon() -> None:
    day = [slot(24, 9, minute) for minute in (0, 15, 30, 45)] + [slot(24, 10, minute) for minute in (0, 15, 30, 45)]
    reply = apb.FindSlotsResponse(slots=day, from_date="2026-11-24", to_date="2026-11-24")
    assert word(context(), reply).speech == (
        "I have tomorrow at 9 AM with Doctor Lee and many more times that day."
        " Would morning or afternoon suit you better?"
    )


def test_word_beyond_the_window_reads_the_latest_bookable_days_first() -> None:
    alternatives = [slot(27, 9), slot(27, 12), slot(26, 9)]  # as FindSlots answers: latest day first
    reply = apb.FindSlotsResponse(failure=failure("OUTSIDE_BOOKING_WINDOW"), alternatives=alternatives)
    assert word(context(), reply).speech == (
        "We can't book that far ahead yet. The latest openings I can book: I have Friday, November 27th at 9 AM"
        " or 12 PM with Doctor Lee; or Thursday, November 26th at 9 AM with Doctor Lee."
    )


def test_word_a_weekday_and_date_that_disagree_asks_which_one() -> None:
    reply = apb.FindSlotsResponse(failure=failure("DATE_MISMATCH"), from_date="2026-11-04", to_date="2026-11-04")
    reply.failure.reason = "tuesday"
    result = word(context(), reply)
    assert result.data["cause"] == "DATE_MISMATCH" and not result.data["slots"]
    assert result.speech == (
        "November 4th is a Wednesday, not a Tuesday. Did you mean Wednesday, November 4th, or a different Tuesday?"
    )
    reply.failure.reason = ""
    assert word(context(), reply).speech == "That day of the week and that date don't match. Which one did you mean?"
