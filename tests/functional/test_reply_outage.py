"""A patient's text reply survives reservation being down (Twilio never retries an inbound webhook):
notification records it with the inbound text, answers the webhook 200, and relays it to
reservation once it is back; delivered by several relays at once and by Twilio twice, it is still
one reply. Through the real gateway (Twilio-signed), real servers stopped and restarted."""

from __future__ import annotations

import asyncio

import asyncpg

from booking.reservation.v1 import reservation_pb2 as pb
from services.notification.replies import ReplyRelay
from services.reservation.server import create_server as create_reservation
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.test_reminder_replies import client, reminded, reply, status_of, texts
from tests.functional.test_reminders import ny

__all__ = ["client", "reminded"]  # fixtures, shared with the reminder reply tests


async def forwarded(stack: Stack, pool: asyncpg.Pool, relays: list[ReplyRelay]) -> None:
    """Until every recorded reply is acknowledged, with `relays` working at once (as replicas do)."""
    async with asyncio.timeout(30):  # the relay backs off after each failure, the channel reconnects
        while await pool.fetchval("SELECT count(*) FROM notification.outbox WHERE delivered_at IS NULL"):
            await asyncio.gather(*(relay.run_once() for relay in relays))
            await asyncio.sleep(0.05)


async def test_a_c_sent_while_reservation_is_down_cancels_once_when_it_is_back(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 10, 5)
    port = stack.reservation.port
    await stack.reservation.stop(0)
    await reply(client, "C", "SM-while-down")  # 200 and empty TwiML at once (asserted by reply)
    await reply(client, "C", "SM-while-down")  # Twilio delivering the same text twice

    row = await pool.fetchrow("SELECT tenant_id, delivered_at, last_error FROM notification.outbox")
    assert row is not None and row["tenant_id"] == "acme" and row["delivered_at"] is None
    assert "UNAVAILABLE" in row["last_error"]
    assert await pool.fetchval("SELECT count(*) FROM notification.outbox") == 1
    still = "SELECT status FROM reservation.reservations WHERE reservation_id = $1::uuid"
    assert await pool.fetchval(still, reminded.appointment_id) == "CONFIRMED"
    relays = [stack.notification.replies] + [ReplyRelay(pool, lambda: stack.reservation_stub) for _ in range(2)]
    await asyncio.gather(*(relay.run_once() for relay in relays))  # still down: nothing lost, nothing done
    assert await pool.fetchval(still, reminded.appointment_id) == "CONFIRMED"

    stack.reservation = await create_reservation("127.0.0.1", port, stack.reservation_deps)
    try:
        await forwarded(stack, pool, relays)
        await reply(client, "C", "SM-while-down")  # a third delivery, after the first was handled
        await forwarded(stack, pool, relays)

        cancelled = await status_of(stack, reminded.appointment_id)
        assert cancelled.status == pb.RESERVATION_STATUS_CANCELED and cancelled.cancel_reason == "text reply"
        cancellations = await pool.fetchval(
            "SELECT count(*) FROM reservation.reservation_events WHERE to_status = 'CANCELED' "
            "AND reservation_id = $1::uuid",
            reminded.appointment_id,
        )
        assert cancellations == 1
        assert len(await texts(stack, pool, "CANCELLATION")) == 1
        assert await pool.fetchval("SELECT count(*) FROM reservation.patient_replies") == 1
    finally:
        await stack.reservation.stop(0)


async def test_a_reply_is_forwarded_at_once_when_reservation_is_up(
    client: GatewayClient, stack: Stack, clock: Clock, pool: asyncpg.Pool, reminded: pb.Appointment
) -> None:
    clock.now = ny(2030, 1, 7, 10, 5)
    await reply(client, "c", "SM-up")
    assert (await status_of(stack, reminded.appointment_id)).status == pb.RESERVATION_STATUS_CANCELED
    row = await pool.fetchrow("SELECT delivered_at, attempts, last_error FROM notification.outbox")
    assert row is not None and row["delivered_at"] is not None and (row["attempts"], row["last_error"]) == (1, "")
