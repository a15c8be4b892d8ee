"""AvailabilityService over real gRPC, against the real database and reservation service."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import grpc
import pytest

from booking.availability.v1 import availability_pb2 as pb
from booking.common.v1 import common_pb2
from devkit.processes import ROOT
from services.availability.clinic_file import load_clinic_file
from tests.conftest import Clock, Stack

NY = ZoneInfo("America/New_York")
DEMO_FILE = ROOT / "clinics" / "demo.yaml"
SECRET_ENV = {"DEMO_TENANT_SECRET": "demo-secret-for-tests-0123456789"}
MONDAY_7AM = datetime(2026, 11, 23, 7, 0, tzinfo=NY)


async def load_demo(stack: Stack) -> pb.UpsertClinicResponse:
    config = load_clinic_file(DEMO_FILE, SECRET_ENV)
    reply: pb.UpsertClinicResponse = await stack.availability_stub.UpsertClinic(pb.UpsertClinicRequest(clinic=config))
    return reply


async def run_cli(*args: str) -> tuple[int, str, str]:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "services.availability", "load-clinic", *args,
        cwd=ROOT, env={"PATH": "/usr/bin:/bin", "INTERNAL_API_TOKEN": os.environ["INTERNAL_API_TOKEN"], **SECRET_ENV},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(process.communicate(), 60)
    return process.returncode or 0, out.decode(), err.decode()


async def test_load_clinic_twice_changes_nothing_and_an_edit_updates(
    stack: Stack, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    target = f"127.0.0.1:{stack.availability.port}"
    code, out, err = await run_cli(str(DEMO_FILE), "--target", target)
    assert code == 0, err
    assert "'demo' updated (version 1)" in out
    before = await pool.fetchrow("SELECT version, updated_at FROM availability.clinics WHERE tenant_id = 'demo'")
    code, out, _ = await run_cli(str(DEMO_FILE), "--target", target)
    assert code == 0 and "'demo' unchanged (version 1)" in out
    after = await pool.fetchrow("SELECT version, updated_at FROM availability.clinics WHERE tenant_id = 'demo'")
    assert before == after
    assert await pool.fetchval("SELECT count(*) FROM availability.providers WHERE tenant_id = 'demo'") == 3

    edited = tmp_path / "demo.yaml"
    edited.write_text(DEMO_FILE.read_text().replace("name: Acme Dental", "name: Acme Dental Care"))
    code, out, _ = await run_cli(str(edited), "--target", target)
    assert code == 0 and "updated (version 2)" in out
    reply = await stack.availability_stub.GetClinic(pb.GetClinicRequest(tenant_id="demo"))
    assert reply.clinic.name == "Acme Dental Care" and reply.version == 2
    assert reply.clinic.secret == ""  # never handed out


async def test_broken_file_is_rejected_whole_with_the_field_path(
    stack: Stack, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text(DEMO_FILE.read_text().replace('tue: ["09:00-12:00", "13:00-17:00"]', 'tue: ["17:00-09:00"]'))
    code, _, err = await run_cli(str(broken), "--target", f"127.0.0.1:{stack.availability.port}")
    assert code == 1
    assert "providers[0].hours.tue[0]: end 09:00 is before start 17:00" in err
    assert await pool.fetchval("SELECT count(*) FROM availability.clinics") == 0

    # A gRPC client that skips the file reader gets the same check from the service.
    config = load_clinic_file(DEMO_FILE, SECRET_ENV)
    config.providers[1].weekly_hours[0].intervals[0].end = "07:00"
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.availability_stub.UpsertClinic(pb.UpsertClinicRequest(clinic=config))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "providers[1].hours.mon[0]: end 07:00 is before start 10:00" in (caught.value.details() or "")
    assert await pool.fetchval("SELECT count(*) FROM availability.clinics") == 0


async def test_find_slots_for_the_demo_clinic(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    reply = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date="tomorrow", limit=50))
    assert (reply.from_date, reply.to_date, reply.timezone) == ("2026-11-24", "2026-11-24", "America/New_York")
    starts = [s.local_start for s in reply.slots]
    assert starts[0] == "2026-11-24T09:00"
    assert "2026-11-24T11:30" in starts and "2026-11-24T11:45" not in starts  # lunch break at 12
    assert {s.provider_id for s in reply.slots} == {"dr-lee"}  # Dr. Patel does not work Tuesdays
    first = reply.slots[0]
    assert first.service_id == "cleaning" and first.provider_spoken_name == "Doctor Lee"
    assert first.end.ToDatetime(UTC) - first.start.ToDatetime(UTC) == timedelta(minutes=30)
    assert not reply.HasField("failure") and not reply.alternatives

    afternoon = await stack.availability_stub.FindSlots(
        pb.FindSlotsRequest(tenant_id="demo", date="tomorrow afternoon", provider_id="dr-lee", limit=3)
    )
    assert [s.local_start for s in afternoon.slots] == ["2026-11-24T13:00", "2026-11-24T13:15", "2026-11-24T13:30"]
    assert afternoon.part_of_day == pb.PART_OF_DAY_AFTERNOON


async def test_closed_day_offers_the_next_days_and_a_past_date_is_refused(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    holiday = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date="Dec 25", limit=5))
    assert not holiday.slots and not holiday.HasField("failure")
    assert holiday.alternatives[0].local_start == "2026-12-26T09:00"  # Saturday: Dr. Patel
    assert holiday.alternatives[0].provider_id == "dr-patel"

    past = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date="2026-11-01"))
    assert past.failure.cause == common_pb2.FAILURE_CAUSE_DATE_IN_PAST and not past.slots
    assert past.alternatives[0].local_start.startswith("2026-11-23")  # today, after the notice

    far = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date="2027-06-01"))
    assert far.failure.cause == common_pb2.FAILURE_CAUSE_OUTSIDE_BOOKING_WINDOW


async def test_busy_time_hides_slots_and_cancelled_time_is_offered_again(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    start = datetime(2026, 11, 24, 9, 0, tzinfo=NY)
    reservation_id = await pool.fetchval(
        """
        INSERT INTO reservation.reservations
            (tenant_id, provider_id, service_id, starts_at, ends_at, occupied, timezone, status)
        VALUES ('demo', 'dr-lee', 'cleaning', $1, $2, tstzrange($1, $3), 'America/New_York', 'CONFIRMED')
        RETURNING reservation_id
        """,
        start, start + timedelta(minutes=30), start + timedelta(minutes=40),
    )  # fmt: skip
    request = pb.FindSlotsRequest(tenant_id="demo", date="tomorrow", limit=2)
    reply = await stack.availability_stub.FindSlots(request)
    # Taken 09:00-09:40 (with its buffer); a new cleaning needs 40 minutes clear.
    assert [s.local_start for s in reply.slots] == ["2026-11-24T09:45", "2026-11-24T10:00"]
    await pool.execute(
        "UPDATE reservation.reservations SET status = 'CANCELED' WHERE reservation_id = $1", reservation_id
    )
    reply = await stack.availability_stub.FindSlots(request)
    assert [s.local_start for s in reply.slots] == ["2026-11-24T09:00", "2026-11-24T09:15"]


async def test_validate_slot_accepts_a_real_slot_and_refuses_the_rest(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    found = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date="tomorrow", limit=1))
    slot = found.slots[0]
    ok = await stack.availability_stub.ValidateSlot(pb.ValidateSlotRequest(tenant_id="demo", slot_id=slot.slot_id))
    assert ok.bookable and ok.slot.slot_id == slot.slot_id
    assert ok.occupied.end.ToDatetime(UTC) - ok.occupied.start.ToDatetime(UTC) == timedelta(minutes=40)
    assert ok.rules.hold_minutes == 10 and ok.rules.otp_required

    by_time = await stack.availability_stub.ValidateSlot(
        pb.ValidateSlotRequest(tenant_id="demo", provider_id="dr-lee", service_id="cleaning", start=slot.start)
    )
    assert by_time.bookable and by_time.slot.slot_id == slot.slot_id

    forged = slot.slot_id[:-3] + ("xyz" if not slot.slot_id.endswith("xyz") else "abc")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.availability_stub.ValidateSlot(pb.ValidateSlotRequest(tenant_id="demo", slot_id=forged))
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT and "slot_id" in (caught.value.details() or "")

    lunch = datetime(2026, 11, 24, 12, 0, tzinfo=NY)
    outside = await stack.availability_stub.ValidateSlot(
        pb.ValidateSlotRequest(tenant_id="demo", provider_id="dr-lee", service_id="cleaning", start=_ts(lunch))
    )
    assert not outside.bookable and outside.failure.cause == common_pb2.FAILURE_CAUSE_OUTSIDE_WORKING_HOURS

    not_offered = await stack.availability_stub.ValidateSlot(
        pb.ValidateSlotRequest(tenant_id="demo", provider_id="dr-lee", service_id="whitening", start=slot.start)
    )
    assert not not_offered.bookable and not_offered.failure.cause == common_pb2.FAILURE_CAUSE_NOT_FOUND

    clock.advance(days=2)  # the slot is now in the past: the same id is stale
    stale = await stack.availability_stub.ValidateSlot(pb.ValidateSlotRequest(tenant_id="demo", slot_id=slot.slot_id))
    assert not stale.bookable and stale.failure.cause == common_pb2.FAILURE_CAUSE_DATE_IN_PAST


async def test_bad_requests_name_the_field(stack: Stack) -> None:
    await load_demo(stack)
    cases = [
        (pb.FindSlotsRequest(tenant_id=""), grpc.StatusCode.INVALID_ARGUMENT, "tenant_id"),
        (pb.FindSlotsRequest(tenant_id="nobody"), grpc.StatusCode.NOT_FOUND, "tenant_id"),
        (pb.FindSlotsRequest(tenant_id="demo", service_id="haircut"), grpc.StatusCode.INVALID_ARGUMENT, "service_id"),
        (pb.FindSlotsRequest(tenant_id="demo", provider_id="dr-who"), grpc.StatusCode.INVALID_ARGUMENT, "provider_id"),
        (pb.FindSlotsRequest(tenant_id="demo", date="blursday"), grpc.StatusCode.INVALID_ARGUMENT, "date"),
        (pb.FindSlotsRequest(tenant_id="demo", limit=-1), grpc.StatusCode.INVALID_ARGUMENT, "limit"),
    ]
    for request, code, field in cases:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stack.availability_stub.FindSlots(request)
        assert caught.value.code() == code, request
        assert (caught.value.details() or "").startswith(field), caught.value.details()


async def test_find_slots_is_unavailable_while_reservation_is_down(stack: Stack) -> None:
    await load_demo(stack)
    await stack.reservation.stop(0)
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo"), timeout=5)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_booking_rules_and_tenant_auth(stack: Stack) -> None:
    await load_demo(stack)
    rules = await stack.availability_stub.GetBookingRules(
        pb.GetBookingRulesRequest(tenant_id="demo", service_id="consult")
    )
    assert not rules.rules.otp_required and rules.timezone == "America/New_York"
    auth = await stack.availability_stub.GetTenantCredentials(pb.GetTenantCredentialsRequest(tenant_id="demo"))
    assert auth.found and len(auth.secrets) == 1 and not auth.secrets[0].HasField("expires_at")
    assert SECRET_ENV["DEMO_TENANT_SECRET"].encode() not in auth.secrets[0].sealed  # sealed, not in clear
    missing = await stack.availability_stub.GetTenantCredentials(pb.GetTenantCredentialsRequest(tenant_id="nobody"))
    assert not missing.found


async def _book(pool: asyncpg.Pool, provider_id: str, start: datetime, minutes: int = 30) -> None:
    end = start + timedelta(minutes=minutes)
    await pool.execute(
        """
        INSERT INTO reservation.reservations
            (tenant_id, provider_id, service_id, starts_at, ends_at, occupied, timezone, status)
        VALUES ('demo', $1, 'checkup', $2, $3, tstzrange($2, $3), 'America/New_York', 'CONFIRMED')
        """,
        provider_id, start, end,
    )  # fmt: skip


async def test_validate_slot_without_a_provider_picks_the_first_free_one_in_clinic_order(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    ten = datetime(2026, 11, 23, 10, 0, tzinfo=NY)  # Lee, Patel and Okafor (London 15:00) all work
    request = pb.ValidateSlotRequest(tenant_id="demo", service_id="checkup", start=_ts(ten))

    anyone = await stack.availability_stub.ValidateSlot(request)
    assert anyone.bookable and anyone.slot.provider_id == "dr-lee" and anyone.slot.local_start == "2026-11-23T10:00"
    named = await stack.availability_stub.ValidateSlot(
        pb.ValidateSlotRequest(tenant_id="demo", provider_id="dr-lee", service_id="checkup", start=_ts(ten))
    )
    assert named.slot.slot_id == anyone.slot.slot_id  # the same canonical slot as naming the provider

    await _book(pool, "dr-lee", ten - timedelta(minutes=15))  # 09:45-10:15 overlaps
    second = await stack.availability_stub.ValidateSlot(request)
    assert second.bookable and second.slot.provider_id == "dr-patel"
    assert second.occupied.start.ToDatetime(UTC) == ten

    await _book(pool, "dr-patel", ten)
    third = await stack.availability_stub.ValidateSlot(request)
    assert third.bookable and third.slot.provider_id == "dr-okafor"

    await _book(pool, "dr-okafor", ten + timedelta(minutes=10))
    nobody = await stack.availability_stub.ValidateSlot(request)
    assert not nobody.bookable and not nobody.HasField("slot")
    assert nobody.failure.cause == common_pb2.FAILURE_CAUSE_SLOT_UNAVAILABLE and nobody.failure.reason == ""
    assert nobody.failure.message == ""


async def test_validate_slot_without_a_provider_when_nobody_works_then_is_not_offered(
    stack: Stack, clock: Clock
) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    # Tuesday noon: Dr. Lee is at lunch and Dr. Patel does not work Tuesdays (cleanings are theirs only).
    noon = datetime(2026, 11, 24, 12, 0, tzinfo=NY)
    reply = await stack.availability_stub.ValidateSlot(
        pb.ValidateSlotRequest(tenant_id="demo", service_id="cleaning", start=_ts(noon))
    )
    assert not reply.bookable
    assert (reply.failure.cause, reply.failure.reason) == (common_pb2.FAILURE_CAUSE_SLOT_UNAVAILABLE, "not_offered")
    missing = pb.ValidateSlotRequest(tenant_id="demo", service_id="cleaning")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.availability_stub.ValidateSlot(missing)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("start")


async def test_refusals_carry_the_contracts_cause_and_reason_and_no_sentence(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    lee = "dr-lee"
    cases = [
        (lee, "cleaning", datetime(2026, 11, 22, 9, 0, tzinfo=NY), common_pb2.FAILURE_CAUSE_DATE_IN_PAST,
         "time_in_past"),
        (lee, "cleaning", datetime(2027, 6, 1, 9, 0, tzinfo=NY), common_pb2.FAILURE_CAUSE_OUTSIDE_BOOKING_WINDOW,
         "time_not_bookable"),
        (lee, "cleaning", datetime(2026, 11, 24, 12, 0, tzinfo=NY), common_pb2.FAILURE_CAUSE_OUTSIDE_WORKING_HOURS, ""),
        (lee, "whitening", datetime(2026, 11, 24, 9, 0, tzinfo=NY), common_pb2.FAILURE_CAUSE_NOT_FOUND,
         "provider_does_not_offer_service"),
    ]  # fmt: skip
    for provider_id, service_id, start, cause, reason in cases:
        reply = await stack.availability_stub.ValidateSlot(
            pb.ValidateSlotRequest(tenant_id="demo", provider_id=provider_id, service_id=service_id, start=_ts(start))
        )
        assert not reply.bookable, start
        assert (reply.failure.cause, reply.failure.reason, reply.failure.message) == (cause, reason, ""), start

    for date, cause in (("2026-11-01", common_pb2.FAILURE_CAUSE_DATE_IN_PAST),
                        ("2027-06-01", common_pb2.FAILURE_CAUSE_OUTSIDE_BOOKING_WINDOW)):  # fmt: skip
        found = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date=date))
        assert (found.failure.cause, found.failure.reason, found.failure.message) == (cause, "", "")


async def test_dates_past_the_calendar_are_refused_or_not_understood_never_an_error(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    for phrase in ("in 99999999 days", "in " + "9" * 5000 + " days", "9999-12-31T23:30:00-05:00"):
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date=phrase))
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT, phrase
        assert (caught.value.details() or "").startswith("date"), phrase
    # A time on the calendar's last day used to overflow while finding slots near it.
    for phrase in ("Dec 31 9999", "9999-12-31T23:00", "december 31st 9999 at 11 pm"):
        far = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date=phrase))
        assert far.failure.cause == common_pb2.FAILURE_CAUSE_OUTSIDE_BOOKING_WINDOW and not far.slots, phrase
    to_far = await stack.availability_stub.FindSlots(
        pb.FindSlotsRequest(tenant_id="demo", from_date="tomorrow", to_date="9999-12-31", limit=1)
    )
    assert to_far.slots and not to_far.HasField("failure")
    last = await stack.availability_stub.ValidateSlot(
        pb.ValidateSlotRequest(
            tenant_id="demo", provider_id="dr-lee", service_id="cleaning",
            start=_ts(datetime(9999, 12, 31, 23, 0, tzinfo=UTC)),
        )
    )  # fmt: skip
    assert last.failure.cause == common_pb2.FAILURE_CAUSE_OUTSIDE_BOOKING_WINDOW
    beyond = pb.ValidateSlotRequest(tenant_id="demo", provider_id="dr-lee", service_id="cleaning")
    beyond.start.seconds = 10**15  # no datetime holds it
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stack.availability_stub.ValidateSlot(beyond)
    assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (caught.value.details() or "").startswith("start")


def _ts(value: datetime):  # type: ignore[no-untyped-def]
    from google.protobuf.timestamp_pb2 import Timestamp

    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


async def test_beyond_the_booking_window_offers_the_last_bookable_days_latest_first(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)  # books 60 days ahead: the horizon is Friday, January 22nd 2027
    far = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date="Feb 12", limit=50))
    assert far.failure.cause == common_pb2.FAILURE_CAUSE_OUTSIDE_BOOKING_WINDOW and not far.slots
    days = [s.local_start[:10] for s in far.alternatives]
    assert days[0] == "2027-01-22"  # the bookable day nearest to the date asked, not the window's first
    assert sorted(set(days), reverse=True) == list(dict.fromkeys(days))  # latest day first
    first_day = [s.local_start for s in far.alternatives if s.local_start.startswith(days[0])]
    assert first_day == sorted(first_day)  # within a day, earliest time first


async def test_a_weekday_and_a_date_that_disagree_are_a_typed_cause_not_a_guess(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    await load_demo(stack)
    wrong = await stack.availability_stub.FindSlots(pb.FindSlotsRequest(tenant_id="demo", date="Tuesday the 3rd"))
    assert wrong.failure.cause == common_pb2.FAILURE_CAUSE_DATE_MISMATCH  # December 3rd is a Thursday
    assert (wrong.failure.reason, wrong.from_date, wrong.failure.message) == ("tuesday", "2026-12-03", "")
    assert not wrong.slots and not wrong.alternatives
    right = await stack.availability_stub.FindSlots(
        pb.FindSlotsRequest(tenant_id="demo", date="Thu, Dec 3rd at 2:30", limit=50)
    )
    assert not right.HasField("failure") and right.slots[0].local_start.startswith("2026-12-03")
    assert right.asked_time.ToDatetime(UTC) == datetime(2026, 12, 3, 14, 30, tzinfo=NY)  # "at 2:30": 2:30 PM
