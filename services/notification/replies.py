"""Patients' text replies, handed to reservation (HandlePatientReply) without ever being lost.

Twilio does not retry an inbound webhook, so a reply is first recorded in notification.outbox, in
the transaction that handles the inbound text, and the webhook is answered. The reply is then
forwarded at once and, if reservation is away (or answers UNAVAILABLE), again by the shared
outbox relay (common/outbox.py) with backoff until acknowledged. The row is written already
claimed by this relay for one lease, so the relay's own loop never forwards it at the same time;
if this process dies before the attempt, the lease runs out and any replica's relay takes it.
Reservation makes a second delivery of one MessageSid one reply.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from typing import Any

import asyncpg
import grpc

from booking.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from common.db import Connection
from common.deadlines import REPLY_FORWARD
from common.outbox import OutboxItem, OutboxRelay
from common.timestamps import Clock, utc_now

log = logging.getLogger("services.notification")
TOPIC = "patient-reply"
ReservationStub = Callable[[], reservation_pb2_grpc.ReservationServiceStub | None]
Request = reservation_pb2.HandlePatientReplyRequest


class ReplyRelay(OutboxRelay):
    def __init__(
        self, pool: asyncpg.Pool, reservation: ReservationStub, *, clock: Clock = utc_now, **pace: Any
    ) -> None:
        super().__init__(pool, "notification", self._deliver, clock=clock, **pace)
        self.reservation = reservation  # found at call time: tests wire it late

    async def record(self, conn: Connection, request: Request) -> OutboxItem | None:
        """Keep the reply inside the caller's transaction, claimed by this relay for one lease; None
        when this MessageSid was recorded before (Twilio delivering one text twice: one reply)."""
        key = f"reply:{request.message_sid or uuid.uuid4()}"  # without a SID each text counts
        row = await conn.fetchrow(
            """
            INSERT INTO notification.outbox (tenant_id, dedupe_key, topic, payload, claimed_until, claimed_by, attempts)
            VALUES ($1, $2, $3, $4, $5, $6, 1)
            ON CONFLICT (tenant_id, dedupe_key) DO NOTHING
            RETURNING tenant_id, outbox_id, dedupe_key, topic, payload, attempts
            """,
            request.tenant_id, key, TOPIC, request.SerializeToString(), self.clock() + self.lease, self.token,
        )  # fmt: skip
        return None if row is None else OutboxItem(**dict(row))

    async def forward(self, item: OutboxItem) -> bool:
        """One attempt now; a failure leaves the reply to the relay's retries. False only when
        reservation refused it as invalid."""
        try:
            taken = await self._send(item)
        except Exception as error:  # away or failing: retried with backoff until acknowledged
            log.warning("patient reply not handed to reservation yet", extra={"error": type(error).__name__})
            await self._failed(item, f"{type(error).__name__}: {error}")
            return True
        await self._delivered(item)
        return taken

    async def _deliver(self, item: OutboxItem) -> None:
        await self._send(item)

    async def _send(self, item: OutboxItem) -> bool:
        """Hand the reply over; False when reservation refused it (INVALID_ARGUMENT: asking again
        cannot help, so it counts as delivered); any other failure is raised, to be retried."""
        stub = self.reservation()
        if stub is None:
            raise RuntimeError("reservation is not wired")
        try:
            await stub.HandlePatientReply(Request.FromString(item.payload), timeout=REPLY_FORWARD)
        except grpc.aio.AioRpcError as error:
            if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
                raise
            log.warning("patient reply refused by reservation", extra={"outbox_id": item.outbox_id})
            return False
        return True
