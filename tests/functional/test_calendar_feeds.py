"""SPEC §10: a provider's calendar feed on the real gateway — parsed with `icalendar`, the right
events in the clinic's zone across a DST change, no patient names unless the clinic turns them on,
and a token that is checked (one bare 404 for every wrong one), revocable, and per provider."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Mapping
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient, TestServer
from icalendar import Calendar

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as pb
from gateway.app import create_app
from gateway.feeds import FEED_TOKEN_CACHE_SECONDS
from services.availability.clinic_file import parse_clinic
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.booking import CLINIC, ts
from tests.functional.test_schedule import DESK, staff_book

NY = ZoneInfo("America/New_York")
NOW = datetime(2030, 3, 7, 6, 0, tzinfo=NY)  # Thursday; clocks go forward on Sunday the 10th
FRIDAY = datetime(2030, 3, 8, 10, 0, tzinfo=NY)  # EST, 15:00 UTC
MONDAY = datetime(2030, 3, 11, 10, 0, tzinfo=NY)  # EDT, 14:00 UTC


async def load(stack: Stack, clock: Clock, **extra: object) -> None:
    clock.now = NOW.astimezone(UTC)
    for clinic in ({**CLINIC, **extra}, {**CLINIC, "tenant_id": "other", "secret": "other-secret-0123456789"}):
        await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(clinic, {})))


@pytest.fixture
async def feeds(stack: Stack, clock: Clock) -> AsyncIterator[GatewayClient]:
    """The real gateway on a real socket, on the services' clock."""
    client: GatewayClient = TestClient(TestServer(create_app(stack.gateway_config(), clock=clock)))
    await client.start_server()
    yield client
    await client.close()


async def token_for(stack: Stack, provider: str = "p1", tenant: str = "acme") -> apb.IssueFeedTokenResponse:
    reply: apb.IssueFeedTokenResponse = await stack.availability_stub.IssueFeedToken(
        apb.IssueFeedTokenRequest(tenant_id=tenant, provider_id=provider, label="phone")
    )
    return reply


async def fetch(
    client: GatewayClient, token: str, path: str = "/ics/acme/p1.ics"
) -> tuple[int, bytes, Mapping[str, str]]:
    response = await client.get(path, params={"token": token} if token else None)
    return response.status, await response.read(), response.headers.copy()


def events(body: bytes) -> dict[str, dict[str, object]]:
    """SUMMARY and DTSTART of each VEVENT, by UID."""
    calendar = Calendar.from_ical(body)
    return {
        str(e["UID"]): {"summary": str(e["SUMMARY"]), "start": e.decoded("DTSTART"), "end": e.decoded("DTEND")}
        for e in calendar.walk("VEVENT")
    }


async def test_the_feed_has_the_providers_events_in_the_clinics_zone_across_dst_without_patient_names(
    stack: Stack, clock: Clock, feeds: GatewayClient
) -> None:
    await load(stack, clock)
    friday = (await staff_book(stack, FRIDAY, 1)).appointment
    monday = (await staff_book(stack, MONDAY, 2)).appointment
    other = (await staff_book(stack, MONDAY, 3, provider="p2")).appointment
    gone = (await staff_book(stack, MONDAY + timedelta(hours=2), 4)).appointment
    await stack.reservation_stub.StaffCancel(
        pb.StaffCancelRequest(tenant_id="acme", appointment_id=gone.appointment_id, action=DESK)
    )
    block = await stack.reservation_stub.BlockTime(
        pb.BlockTimeRequest(
            tenant_id="acme", provider_id="p1", action=DESK,
            range=C.TimeRange(start=ts(MONDAY + timedelta(hours=4)), end=ts(MONDAY + timedelta(hours=5))),
        )
    )  # fmt: skip
    status, body, headers = await fetch(feeds, (await token_for(stack)).token)
    assert status == 200
    assert headers["Content-Type"] == "text/calendar; charset=utf-8"
    assert headers["ETag"] and "max-age" in headers["Cache-Control"]
    calendar = Calendar.from_ical(body)
    assert calendar["X-WR-TIMEZONE"] == "America/New_York" and "Dr. One" in str(calendar["X-WR-CALNAME"])
    assert [str(z["TZID"]) for z in calendar.walk("VTIMEZONE")] == ["America/New_York"]
    found = events(body)
    uid = "{}@acme.voice-booking".format
    # Cancelled appointments are left out; another provider's are not in this feed.
    assert set(found) == {uid(friday.appointment_id), uid(monday.appointment_id), uid(block.block_id)}
    assert uid(other.appointment_id) not in found
    fri, mon = found[uid(friday.appointment_id)], found[uid(monday.appointment_id)]
    assert fri["start"] == FRIDAY and mon["start"] == MONDAY  # 10:00 local on both sides of the change
    assert str(fri["start"].tzinfo) == "America/New_York"  # type: ignore[attr-defined]
    assert fri["start"].astimezone(UTC).hour == 15 and mon["start"].astimezone(UTC).hour == 14  # type: ignore[attr-defined]
    assert fri["end"] - fri["start"] == timedelta(minutes=30)  # type: ignore[operator]
    assert fri["summary"] == "Short" and found[uid(block.block_id)]["summary"] == "Busy"
    assert b"Patient 1" not in body and b"Patient 2" not in body and b"+1212" not in body


async def test_patient_names_appear_when_the_clinic_turns_them_on(
    stack: Stack, clock: Clock, feeds: GatewayClient
) -> None:
    await load(stack, clock, calendar_feeds={"patient_names": True})
    booked = (await staff_book(stack, FRIDAY, 1)).appointment
    status, body, _ = await fetch(feeds, (await token_for(stack)).token)
    assert status == 200
    assert events(body)[f"{booked.appointment_id}@acme.voice-booking"]["summary"] == "Short – Patient 1"
    assert b"+1212" not in body


async def test_a_wrong_revoked_or_other_feeds_token_is_one_bare_404_and_a_missing_one_401(
    stack: Stack, clock: Clock, feeds: GatewayClient
) -> None:
    await load(stack, clock)
    mine, p2, others = await token_for(stack), await token_for(stack, "p2"), await token_for(stack, "p1", "other")
    assert (await fetch(feeds, mine.token))[0] == 200
    assert (await fetch(feeds, ""))[0] == 401
    refusals = [
        await fetch(feeds, mine.token[:-1] + ("A" if mine.token[-1] != "A" else "B")),  # wrong
        await fetch(feeds, p2.token),  # another provider's
        await fetch(feeds, others.token),  # another tenant's
        await fetch(feeds, mine.token, "/ics/acme/p2.ics"),  # this token on another provider's feed
        await fetch(feeds, mine.token, "/ics/other/p1.ics"),  # ... on another tenant's
        await fetch(feeds, mine.token, "/ics/nobody/p1.ics"),  # a made-up tenant
        await fetch(feeds, mine.token, "/ics/acme/nobody.ics"),  # a made-up provider
        await fetch(feeds, mine.token, "/ics/ACME/p1.ics"),
    ]
    assert {status for status, _, _ in refusals} == {404}
    assert len({body for _, body, _ in refusals}) == 1  # nothing tells which part was wrong

    revoked = await stack.availability_stub.RevokeFeedToken(
        apb.RevokeFeedTokenRequest(tenant_id="acme", provider_id="p1", token_id=mine.token_id)
    )
    assert revoked.revoked == 1
    await asyncio.sleep(FEED_TOKEN_CACHE_SECONDS + 0.2)  # the gateway remembers an answer this long
    assert (await fetch(feeds, mine.token))[0] == 404
    assert (await fetch(feeds, p2.token, "/ics/acme/p2.ics"))[0] == 200  # other tokens unaffected


async def test_an_unchanged_feed_answers_304_to_its_etag_and_a_change_gives_a_new_one(
    stack: Stack, clock: Clock, feeds: GatewayClient
) -> None:
    await load(stack, clock)
    await staff_book(stack, FRIDAY, 1)
    token = (await token_for(stack)).token
    _, _, headers = await fetch(feeds, token)
    same = await feeds.get("/ics/acme/p1.ics", params={"token": token}, headers={"If-None-Match": headers["ETag"]})
    assert same.status == 304 and not await same.read()
    clock.advance(minutes=1)  # DTSTAMP moves; the schedule does not: still the same ETag
    assert (await fetch(feeds, token))[2]["ETag"] == headers["ETag"]
    await staff_book(stack, MONDAY, 2)
    changed = await feeds.get("/ics/acme/p1.ics", params={"token": token}, headers={"If-None-Match": headers["ETag"]})
    assert changed.status == 200 and changed.headers["ETag"] != headers["ETag"]


async def test_feed_tokens_are_issued_only_for_a_known_provider_listed_without_the_token_and_revoked_all(
    stack: Stack, clock: Clock
) -> None:
    import grpc

    await load(stack, clock)
    with pytest.raises(grpc.aio.AioRpcError) as raised:
        await token_for(stack, "nobody")
    assert raised.value.code() == grpc.StatusCode.NOT_FOUND
    first, second = await token_for(stack), await token_for(stack)
    listed = await stack.availability_stub.ListFeedTokens(apb.ListFeedTokensRequest(tenant_id="acme"))
    assert {t.token_id for t in listed.tokens} == {first.token_id, second.token_id}
    assert all(t.shown.endswith("…") and first.token not in str(listed) for t in listed.tokens)
    everything = await stack.availability_stub.RevokeFeedToken(
        apb.RevokeFeedTokenRequest(tenant_id="acme", provider_id="p1")
    )
    assert everything.revoked == 2
    for token in (first.token, second.token):
        checked = await stack.availability_stub.CheckFeedToken(
            apb.CheckFeedTokenRequest(tenant_id="acme", provider_id="p1", token=token)
        )
        assert not checked.valid
