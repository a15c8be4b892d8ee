"""Reminders across crashes, with the real processes and the real twilio library against the fake:
notification and the reservation worker killed -9 while a batch of reminders is going out; after
restarts every reminder reaches Twilio exactly once."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from common.grpc_client import open_channel
from devkit.real_stack import RealStack, running, twilio_settings
from devkit.twilio_fake import FakeTwilio
from services.availability.clinic_file import parse_clinic
from tests.functional.booking import CLINIC, phone

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]
APPOINTMENTS = 60
# Whenever the test runs: no quiet hours, so reminders made due "now" go out at once.
ANY_TIME = {**CLINIC, "rules": {**CLINIC["rules"], "reminders": {"quiet_hours": "00:00-00:00"}}}  # type: ignore[dict-item]



@pytest.fixture
async def real(pool: asyncpg.Pool, database_url: str, twilio: FakeTwilio) -> AsyncIterator[RealStack]:
    async with running(database_url, twilio_settings(twilio.url)) as stack:
        yield stack


async def book_many(stack: RealStack) -> None:
    """APPOINTMENTS staff bookings at free times from 3 days on (no reminder due yet), each for its own phone."""
    async with open_channel(stack.env["AVAILABILITY_ADDR"]) as channel:
        availability = availability_pb2_grpc.AvailabilityServiceStub(channel)
        await availability.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(ANY_TIME, {})))
        found = await availability.FindSlots(
            apb.FindSlotsRequest(tenant_id="acme", from_date="in 3 days", to_date="in 25 days", limit=4 * APPOINTMENTS)
        )
    async with open_channel(stack.env["RESERVATION_ADDR"]) as channel:
        reservation = reservation_pb2_grpc.ReservationServiceStub(channel)
        booked_count = 0
        for slot in found.slots:  # slots overlap (15-minute steps, 30-minute visits): some are taken by now
            if booked_count == APPOINTMENTS:
                return
            booked = await reservation.StaffBook(
                pb.StaffBookRequest(
                    tenant_id="acme", slot_id=slot.slot_id, patient=pb.Patient(name="P", phone=phone(booked_count)),
                    action=pb.StaffAction(actor="test"),
                ),
                timeout=10,
            )  # fmt: skip
            booked_count += booked.HasField("appointment")
    raise AssertionError(f"only {booked_count} free times")


async def wait_for_accepted(twilio: FakeTwilio, count: int, limit: float = 60) -> None:
    async with asyncio.timeout(limit):
        while len(twilio.accepted) < count:  # noqa: ASYNC110 - polling another process's effect
            await asyncio.sleep(0.1)


async def test_reminders_survive_kill_9_of_notification_and_of_the_reservation_worker_mid_batch(
    real: RealStack, pool: asyncpg.Pool, twilio: FakeTwilio
) -> None:
    await book_many(real)
    await wait_for_accepted(twilio, APPOINTMENTS)  # the confirmations
    assert await pool.fetchval("SELECT count(*) FROM reservation.reminders WHERE status = 'PENDING'") == 120
    real.kill("notification")
    # Both reminders of every appointment come due at once (as if the clock had run on).
    await pool.execute("UPDATE reservation.reminders SET due_at = now()")  # later than their booking
    await asyncio.sleep(0.05)
    real.kill("reservation")  # most likely in the middle of its first claims
    await real.procs["reservation"].process.wait()
    await real.start("reservation")
    async with asyncio.timeout(30):
        while await pool.fetchval("SELECT count(*) FROM reservation.reminders WHERE status = 'PENDING'"):  # noqa: ASYNC110
            await asyncio.sleep(0.1)
    real.kill("reservation")  # again, with the texts still in its outbox (notification is down)
    await real.procs["reservation"].process.wait()
    await real.start("reservation")
    await real.start("notification")
    await wait_for_accepted(twilio, APPOINTMENTS + 120, limit=150)  # leases of the killed relay, backoff
    await asyncio.sleep(1.5)  # anything sent twice would arrive now
    reminders = [r for r in twilio.accepted if "reminder:" in r["Body"]]
    assert len(reminders) == 120 and len(twilio.accepted) == APPOINTMENTS + 120
    assert Counter(r["To"] for r in reminders) == {phone(n): 2 for n in range(APPOINTMENTS)}
    assert await pool.fetchval("SELECT count(*) FROM reservation.reminders WHERE status = 'SENT'") == 120
    sent = await pool.fetchval("SELECT count(*) FROM notification.messages WHERE kind = 'REMINDER' AND status = 'SENT'")
    assert sent == 120
