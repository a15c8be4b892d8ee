"""The console's pure parts: session cookies (tenant-bound, expiring, tamper-evident), sign-in
limits, the day model across a DST change, and escaping."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import to_timestamp
from gateway.console import words
from gateway.console.day import build_day, day_range, local
from gateway.console.limits import ATTEMPTS_PER_ADDRESS, FAILURES_PER_ACCOUNT, WINDOW_SECONDS, SignInLimits
from gateway.console.markup import Markup, options, render
from gateway.console.pages import login_page
from gateway.console.sessions import SESSION_SECONDS, SessionBox

KEY = "k" * 40
NY = ZoneInfo("America/New_York")


class Now:
    def __init__(self) -> None:
        self.value = 1_000_000.0

    def __call__(self) -> float:
        return self.value


def test_a_session_opens_only_for_its_tenant_and_until_it_expires() -> None:
    now = Now()
    box = SessionBox(KEY, now)
    session = box.new("demo", "anna@demo.test", "stamp-1")
    cookie = box.seal(session)
    assert box.open("demo", cookie) == session
    assert box.open("other", cookie) is None
    assert SessionBox("z" * 40, now).open("demo", cookie) is None  # another key
    now.value += SESSION_SECONDS + 1
    assert box.open("demo", cookie) is None


def test_an_altered_or_garbage_cookie_opens_nothing() -> None:
    box = SessionBox(KEY)
    cookie = box.seal(box.new("demo", "anna@demo.test", "stamp-1"))
    flipped = cookie[:20] + ("A" if cookie[20] != "A" else "B") + cookie[21:]
    for value in (flipped, "", "not base64 !!", "A" * 10, "A" * 5000, cookie + "x"):
        assert box.open("demo", value) is None
    assert "anna" not in cookie


def test_the_csrf_token_belongs_to_one_session() -> None:
    box = SessionBox(KEY)
    one, two = box.new("demo", "a@demo.test", "stamp-1"), box.new("demo", "a@demo.test", "stamp-1")
    assert one.csrf_ok(one.csrf) and not one.csrf_ok(two.csrf) and not one.csrf_ok("")


def test_the_sign_in_form_token_matches_its_cookie_and_tenant_only() -> None:
    box = SessionBox(KEY)
    token = box.login_token("demo", "nonce-1")
    assert box.login_token_ok("demo", "nonce-1", token)
    assert not box.login_token_ok("demo", "nonce-2", token)
    assert not box.login_token_ok("other", "nonce-1", token)
    assert not box.login_token_ok("demo", "", box.login_token("demo", ""))


def test_failures_per_account_are_limited_and_forgotten_after_the_window() -> None:
    clock = Now()
    limits = SignInLimits(clock)
    for _ in range(FAILURES_PER_ACCOUNT):
        assert limits.allowed("demo", "a@x.test", "10.0.0.1")
        limits.failed("demo", "a@x.test")
    assert not limits.allowed("demo", "a@x.test", "10.0.0.2")
    assert limits.allowed("other", "a@x.test", "10.0.0.2")  # per clinic
    clock.value += WINDOW_SECONDS + 1
    assert limits.allowed("demo", "a@x.test", "10.0.0.1")


def test_attempts_being_checked_count_and_only_a_success_or_an_outage_gives_them_back() -> None:
    limits = SignInLimits(Now())
    for _ in range(FAILURES_PER_ACCOUNT):  # let in, none answered yet (hashing)
        assert limits.allowed("demo", "a@x.test", "10.0.0.1")
    assert not limits.allowed("demo", "a@x.test", "10.0.0.1")
    limits.unchecked("demo", "a@x.test")  # availability was away: that one did not count
    assert limits.allowed("demo", "a@x.test", "10.0.0.1")
    limits.succeeded("demo", "a@x.test")
    assert limits.allowed("demo", "a@x.test", "10.0.0.1")


def test_attempts_per_address_are_limited_even_when_they_succeed() -> None:
    limits = SignInLimits(Now())
    for n in range(ATTEMPTS_PER_ADDRESS):
        assert limits.allowed("demo", f"u{n}@x.test", "10.0.0.1")
        limits.succeeded("demo", f"u{n}@x.test")
    assert not limits.allowed("demo", "new@x.test", "10.0.0.1")
    assert limits.allowed("demo", "new@x.test", "10.0.0.9")


def test_the_day_of_a_dst_change_is_25_hours_and_times_are_local() -> None:
    start, end = day_range(date(2026, 11, 1), NY)
    assert end.astimezone(UTC) - start.astimezone(UTC) == timedelta(hours=25)
    assert local(date(2026, 3, 9), time(9), NY).astimezone(UTC).hour == 13  # EDT
    assert local(date(2026, 3, 6), time(9), NY).astimezone(UTC).hour == 14  # EST


def _appointment(start: datetime, minutes: int, provider: str, name: str) -> rpb.Appointment:
    slot = C.Slot(provider_id=provider, service_id="cleaning", start=to_timestamp(start),
                  end=to_timestamp(start + timedelta(minutes=minutes)))  # fmt: skip
    return rpb.Appointment(appointment_id=name, slot=slot, patient=rpb.Patient(name=name))


def test_columns_follow_the_providers_and_show_holds_with_minutes_left() -> None:
    day = date(2026, 11, 1)  # the clocks go back at 2 AM
    first = _appointment(datetime(2026, 11, 1, 14, 0, tzinfo=UTC), 30, "p2", "B")  # 9:00 EST
    early = _appointment(datetime(2026, 11, 1, 5, 30, tzinfo=UTC), 30, "p1", "A")  # 1:30 EDT
    now = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    hold = rpb.Hold(hold_id="h", slot=C.Slot(provider_id="p1", start=to_timestamp(now + timedelta(hours=3)),
                    end=to_timestamp(now + timedelta(hours=3, minutes=15))), patient=rpb.Patient(name="H"),
                    expires_at=to_timestamp(now + timedelta(minutes=4, seconds=10)))  # fmt: skip
    block = rpb.BlockedTime(block_id="b", provider_id="gone", range=C.TimeRange(
        start=to_timestamp(now), end=to_timestamp(now + timedelta(hours=1))),
        action=rpb.StaffAction(actor="console:anna@x.test", reason="lunch"))  # fmt: skip
    live = rpb.ListHoldsAndBlocksResponse(holds=[hold], blocks=[block])
    shown = build_day(day, NY, [("p1", "Dr. One"), ("p2", "Dr. Two")], {"cleaning": "Dental cleaning"},
                      [first, early], live, now)  # fmt: skip
    assert [c.provider_id for c in shown.columns] == ["p1", "p2", "gone"]  # a block of a removed provider shows
    p1 = shown.columns[0].items
    labels = [(i.kind, i.label, i.title) for i in p1]
    assert labels == [("appointment", "01:30 EDT–01:00 EST", "A"), ("hold", "10:00–10:15", "H")]  # the repeated hour
    assert p1[1].minutes_left == 5 and p1[0].detail == "Dental cleaning"
    assert shown.columns[2].items[0].detail == "anna@x.test"
    assert shown.first_hour == 1 and shown.last_hour == 19
    assert (shown.previous, shown.next, shown.week(1)) == (date(2026, 10, 31), date(2026, 11, 2), date(2026, 11, 8))


def test_every_value_is_escaped_unless_built_here() -> None:
    from string import Template

    assert render(Template("<p>$x</p>"), x='<b a="1">') == "<p>&lt;b a=&quot;1&quot;&gt;</p>"
    assert render(Template("<p>$x</p>"), x=Markup("<b>")) == "<p><b></p>"
    assert options([("a", "<A>")], "a") == '<option value="a" selected>&lt;A&gt;</option>'
    page = login_page("<Clinic>", "/console/demo", "tok", email='"><script>', error="<bad>")
    assert "<script>" not in page and "&lt;Clinic&gt;" in page


def test_notices_are_worded_and_unknown_codes_say_nothing() -> None:
    assert words.notice("cancelled") == "Cancelled."
    assert words.notice("refused:FAILURE_CAUSE_SLOT_UNAVAILABLE") == "That time is taken (or blocked)."
    assert words.notice("refused:FAILURE_CAUSE_OTP_INVALID") == words.REFUSED_OTHERWISE
    assert words.notice("refused:<script>") == words.REFUSED_OTHERWISE
    assert words.notice("<script>") == ""
