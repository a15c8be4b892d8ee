"""Patients' text replies to a reminder, through the real gateway with Twilio-signed requests:
C cancels (inside the cut-off a text asks them to call), YES confirms attendance (seen in the
schedule), anything else gets a help text, and one inbound message delivered twice is one reply."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import datetime, timedelta

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as C
from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as pb
from gateway.app import create_app
from services.availability.clinic_file import parse_clinic
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.booking import CLINIC, NOW, book, phone, ts, tuesday
from tests.functional.test_reminders import deliver, ny, relayed
from tests.functional.test_twilio_webhooks import TOKEN, post_signed

CLINIC_NUMBER = "+12125550100"
# A 12-hour cut-off: the 24 h reminder can be answered C, the 2 h one cannot.
TWELVE_HOURS = {**CLINIC, "rules": {**CLINIC["rules"], "cancellation_cutoff_minutes": 720}}  # type: ignore[dict-item]


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[GatewayClient]:
    app = create_app(stack.gateway_config(twilio_auth_token=TOKEN))
    client: GatewayClient = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


@pytest.fixture
async def reminded(stack: Stack, clock: Clock) -> pb.Appointment:
    """Tuesday 10:00 booked on Monday 06:00 for phone(1); its 24 h reminder went out Monday 10:00."""
    clock.now = NOW
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(TWELVE_HOURS, {})))
    booked = await book(stack, tuesday(10), 1)
    assert len((await deliver(stack, clock, ny(2030, 1, 7, 10, 0))).sent) == 1
    return booked


async def reply(client: GatewayClient, body: str, sid: str, sender: str = phone(1), query: str = "") -> None:
    form = {"From": sender, "To": CLINIC_NUMBER, "Body": body, "MessageSid": sid}
    answer = await post_signed(client, f"/twilio/inbound{query}", form)
    assert answer.status == 200 and "<Response></Response>" in await answer.text()


async def texts(stack: Stack, pool: asyncpg.Pool, kind: str) -> list[str]:
    await relayed(stack)
    rows = await pool.fetch("SELECT body FROM notification.messages WHERE kind = $1 ORDER BY created_at", kind)
    return [r["body"] for r in rows]


async def status_of(stack: Stack, appointment_id: str) -> pb.Appointment:
    got = await stack.reservation_stub.GetAppointment(
        pb.GetAppointmentRequest(tenant_id="acme", appointment_id=appointment_id)
    )
    appointment: pb.Appointment = got.appointment
    return appointment


async def test_c_cancels_the_reminded_appointment_and_drops_its_other_reminder(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 10, 5)
    await reply(client, "c", "SM-cancel-1")
    cancelled = await status_of(stack, reminded.appointment_id)
    assert cancelled.status == pb.RESERVATION_STATUS_CANCELED and cancelled.cancel_reason == "text reply"
    assert ["Acme Dental: your short visit on Tue Jan 8 at 10:00 AM is cancelled. Reply STOP to opt out."] == (
        await texts(stack, pool, "CANCELLATION")
    )
    assert await pool.fetchval("SELECT count(*) FROM reservation.reminders WHERE status = 'PENDING'") == 0
    actor = await pool.fetchval(
        "SELECT actor FROM reservation.reservation_events WHERE to_status = 'CANCELED' AND reservation_id = $1::uuid",
        reminded.appointment_id,
    )
    assert actor == "patient:sms-reply"


async def test_c_inside_the_cut_off_changes_nothing_and_asks_them_to_call(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    await deliver(stack, clock, ny(2030, 1, 8, 8, 0))  # the 2 h reminder; 2 h left, the cut-off is 12 h
    await reply(client, "Cancel please", "SM-late-1", query="?tenant=acme")
    assert (await status_of(stack, reminded.appointment_id)).status == pb.RESERVATION_STATUS_CONFIRMED
    assert await texts(stack, pool, "CANCEL_REFUSED") == [
        "Acme Dental: your short visit on Tue Jan 8 at 10:00 AM is too soon to cancel by text. "
        "Please call us to change it."
    ]
    assert await texts(stack, pool, "CANCELLATION") == []


async def test_yes_confirms_attendance_seen_in_the_list_and_the_schedule_stream(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 10, 30)
    await reply(client, "Yes!", "SM-yes-1")
    listed = await stack.reservation_stub.ListAppointments(
        pb.ListAppointmentsRequest(tenant_id="acme", range=C.TimeRange(start=ts(tuesday(0)), end=ts(tuesday(23))))
    )
    [appointment] = listed.appointments
    assert appointment.status == pb.RESERVATION_STATUS_CONFIRMED
    assert appointment.attendance_confirmed_at == ts(clock.now)
    changes: list[pb.ScheduleChange] = []
    call = stack.reservation_stub.WatchSchedule(pb.WatchScheduleRequest(tenant_id="acme"))
    async with asyncio.timeout(10):
        async for change in call:
            changes.append(change)
            if len(changes) == 3:
                break
    call.cancel()
    assert [c.kind for c in changes] == [
        pb.SCHEDULE_CHANGE_KIND_HELD, pb.SCHEDULE_CHANGE_KIND_CONFIRMED, pb.SCHEDULE_CHANGE_KIND_ATTENDANCE_CONFIRMED,
    ]  # fmt: skip
    assert changes[2].reservation_id == reminded.appointment_id and changes[2].action.actor == "patient:sms-reply"
    await reply(client, "Y", "SM-yes-2")  # said twice: one thank-you
    assert await texts(stack, pool, "ATTENDANCE_CONFIRMED") == [
        "Acme Dental: thank you for confirming your short visit on Tue Jan 8 at 10:00 AM. See you then!"
    ]
    # Moved: confirmed for the old time only.
    await stack.reservation_stub.StaffMove(
        pb.StaffMoveRequest(tenant_id="acme", appointment_id=reminded.appointment_id, start=ts(tuesday(15)),
                            action=pb.StaffAction(actor="desk:anna"))
    )  # fmt: skip
    assert not (await status_of(stack, reminded.appointment_id)).HasField("attendance_confirmed_at")


async def test_anything_else_gets_a_short_help_text_once_a_day(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 11, 0)
    await reply(client, "what is this?", "SM-what-1")
    await reply(client, "hello??", "SM-what-2")
    assert await texts(stack, pool, "REPLY_HELP") == [
        "Acme Dental: about your short visit on Tue Jan 8 at 10:00 AM: Reply Y to confirm or C to cancel. "
        "Reply STOP to opt out."
    ]
    assert (await status_of(stack, reminded.appointment_id)).status == pb.RESERVATION_STATUS_CONFIRMED
    outcomes = await pool.fetch("SELECT outcome FROM reservation.patient_replies ORDER BY received_at")
    assert [r["outcome"] for r in outcomes] == ["PATIENT_REPLY_OUTCOME_NOT_UNDERSTOOD"] * 2


async def test_the_same_message_sid_delivered_five_times_at_once_is_one_reply(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 10, 5)
    await asyncio.gather(*(reply(client, "C", "SM-twice") for _ in range(5)))
    assert (await status_of(stack, reminded.appointment_id)).status == pb.RESERVATION_STATUS_CANCELED
    assert len(await texts(stack, pool, "CANCELLATION")) == 1
    assert await pool.fetchval("SELECT count(*) FROM reservation.patient_replies") == 1
    cancelled_events = await pool.fetchval(
        "SELECT count(*) FROM reservation.reservation_events WHERE to_status = 'CANCELED'"
    )
    assert cancelled_events == 1
    direct = await stack.reservation_stub.HandlePatientReply(
        pb.HandlePatientReplyRequest(tenant_id="acme", phone=phone(1), body="C", message_sid="SM-twice")
    )
    assert direct.outcome == pb.PATIENT_REPLY_OUTCOME_CANCELED and direct.appointment_id == reminded.appointment_id


async def test_a_reply_from_a_number_without_a_reminder_is_not_answered(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 10, 5)
    await book(stack, tuesday(14), 2)  # booked, but not reminded yet
    await reply(client, "C", "SM-other-1", sender=phone(2), query="?tenant=acme")
    answer = await stack.reservation_stub.HandlePatientReply(
        pb.HandlePatientReplyRequest(tenant_id="acme", phone=phone(3), body="YES", message_sid="SM-3")
    )
    assert answer.outcome == pb.PATIENT_REPLY_OUTCOME_NOTHING_TO_ANSWER
    listed = await stack.reservation_stub.FindAppointments(pb.FindAppointmentsRequest(tenant_id="acme", phone=phone(2)))
    assert [a.status for a in listed.appointments] == [pb.RESERVATION_STATUS_CONFIRMED]
    await relayed(stack)
    kinds = await pool.fetch(
        "SELECT kind FROM notification.messages WHERE to_phone = ANY($1::text[])", [phone(2), phone(3)]
    )
    assert [r["kind"] for r in kinds] == ["CONFIRMATION"]


async def test_stop_keeps_its_carrier_meaning_and_cancel_is_both_opt_out_and_a_cancellation(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 10, 5)
    await reply(client, "STOP", "SM-stop")
    opt = await stack.notification_stub.GetOptOut(npb.GetOptOutRequest(tenant_id="acme", phone=phone(1)))
    assert opt.opted_out
    assert (await status_of(stack, reminded.appointment_id)).status == pb.RESERVATION_STATUS_CONFIRMED
    assert await pool.fetchval("SELECT count(*) FROM reservation.patient_replies") == 0  # not a reply
    await reply(client, "START", "SM-start")
    await reply(client, "CANCEL", "SM-cancel")  # Twilio's opt-out word, and the reminder's answer
    opt = await stack.notification_stub.GetOptOut(npb.GetOptOutRequest(tenant_id="acme", phone=phone(1)))
    assert opt.opted_out
    assert (await status_of(stack, reminded.appointment_id)).status == pb.RESERVATION_STATUS_CANCELED
    await relayed(stack)
    status = await pool.fetchval("SELECT status FROM notification.messages WHERE kind = 'CANCELLATION'")
    assert status == "SUPPRESSED"  # opted out first, as the carrier does


async def test_a_reply_to_a_past_appointment_is_not_answered(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 8, 10, 0) + timedelta(minutes=1)
    answer = await stack.reservation_stub.HandlePatientReply(
        pb.HandlePatientReplyRequest(tenant_id="acme", phone=phone(1), body="C", message_sid="SM-late")
    )
    assert answer.outcome == pb.PATIENT_REPLY_OUTCOME_NOTHING_TO_ANSWER
    assert (await status_of(stack, reminded.appointment_id)).status == pb.RESERVATION_STATUS_CONFIRMED


async def _book_at(stack: Stack, tenant: str, start: datetime, n: int) -> pb.Appointment:
    held = await stack.reservation_stub.CreateHold(
        pb.CreateHoldRequest(
            tenant_id=tenant, provider_id="p1", service_id="s30", start=ts(start), call_id=f"{tenant}-call-{n}",
            patient=pb.Patient(name="Pat", phone=phone(1)),
        )
    )  # fmt: skip
    assert held.HasField("hold"), held.failure
    confirmed = await stack.reservation_stub.ConfirmHold(
        pb.ConfirmHoldRequest(tenant_id=tenant, hold_id=held.hold.hold_id, call_id=f"{tenant}-call-{n}")
    )
    assert confirmed.HasField("appointment"), confirmed.failure
    appointment: pb.Appointment = confirmed.appointment
    return appointment


async def test_a_reply_without_a_tenant_answers_the_clinic_whose_reminder_came_last_not_any_later_text(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    """One number texts for every clinic: a patient of two who answers C to the latest reminder must
    not cancel the other clinic's appointment because that clinic texted something else since."""
    clock.now = NOW
    beta = {**TWELVE_HOURS, "tenant_id": "beta", "name": "Beta Dental", "secret": "beta-secret-0123456789"}
    for clinic in (TWELVE_HOURS, beta):
        await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(clinic, {})))
    at_beta = await _book_at(stack, "beta", tuesday(9), 1)
    at_acme = await _book_at(stack, "acme", tuesday(10), 1)
    assert len((await deliver(stack, clock, ny(2030, 1, 7, 9, 0))).sent) == 1  # beta's 24 h reminder
    assert len((await deliver(stack, clock, ny(2030, 1, 7, 10, 0))).sent) == 1  # then acme's
    clock.now = ny(2030, 1, 7, 10, 2)
    await _book_at(stack, "beta", tuesday(16), 2)  # beta texts a confirmation after acme's reminder
    await relayed(stack)
    clock.now = ny(2030, 1, 7, 10, 5)
    await reply(client, "C", "SM-which-clinic")
    beta_now = await stack.reservation_stub.GetAppointment(
        pb.GetAppointmentRequest(tenant_id="beta", appointment_id=at_beta.appointment_id)
    )
    assert beta_now.appointment.status == pb.RESERVATION_STATUS_CONFIRMED  # (it was cancelled)
    assert (await status_of(stack, at_acme.appointment_id)).status == pb.RESERVATION_STATUS_CANCELED
