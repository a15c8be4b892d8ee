"""Wiring of the reservation service: servicer, outbox relay, reminder worker, hold sweeper, waitlist
offer worker, retention purge, gRPC server, lifecycle."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import asyncpg
import grpc

from booking.availability.v1 import availability_pb2_grpc
from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from common.config import ServiceConfig
from common.contact_data import masking
from common.deadlines import RELAY_DELIVERY
from common.grpc_auth import remote_keys
from common.grpc_client import open_channel
from common.grpc_server import Access, methods
from common.grpc_server import create_server as create_grpc_server
from common.outbox import OutboxItem, OutboxRelay
from common.retention import Purger
from common.security import GrpcSecurity
from common.service import BackgroundRuntime, Running
from services.reservation import metrics as reservation_metrics
from services.reservation.reminder_worker import ReminderWorker
from services.reservation.repository import ReservationRepository
from services.reservation.retention import sweeps
from services.reservation.servicer import ReservationDeps, ReservationServicer
from services.reservation.sweeper import HoldSweeper
from services.reservation.waitlist_offers import OfferWorker

SERVICE_NAME = reservation_pb2.DESCRIPTOR.services_by_name["ReservationService"].full_name

# Called by notification (a patient's text reply) and the gateway (its shared tool-call answers);
# never by a clinic's API key.
SERVICE_ONLY = methods(SERVICE_NAME, "HandlePatientReply", "KeepToolReplies")
# A tenant key issued without patient_phones sees every patient's phone masked, in every reply.
PATIENT_PHONES = masking({reservation_pb2.Patient.DESCRIPTOR.full_name: "phone"})


def sms_relay(deps: ReservationDeps) -> OutboxRelay:
    """Forwards outbox SMS requests to notification's EnqueueSms (deduplicated there by key)."""

    async def deliver(item: OutboxItem) -> None:
        assert deps.notification is not None, "notification stub not wired"
        request = notification_pb2.EnqueueSmsRequest.FromString(item.payload)
        # Any reply is an acknowledgement: even a refusal (opted-out number) is recorded there.
        await deps.notification.EnqueueSms(request, timeout=RELAY_DELIVERY)

    # Real time, not deps.clock: backoff and leases are about wall time even when tests move the clock.
    return OutboxRelay(deps.pool, "reservation", deliver)


@dataclass(kw_only=True)
class ReservationRuntime(BackgroundRuntime):
    relay: OutboxRelay
    offers: OfferWorker
    reminders: ReminderWorker


async def create_server(
    host: str, port: int, deps: ReservationDeps, *, background: bool = True, security: GrpcSecurity | None = None,
    purger: Purger | None = None,
) -> ReservationRuntime:  # fmt: skip
    """Start the server on host:port (port 0 picks a free one) and, unless told not to, its relay, reminder
    worker, sweeper, offer worker and (when given) retention purge."""
    relay = sms_relay(deps)
    offers = OfferWorker(deps)

    def written() -> None:
        # A commit that queued a text may also have freed a time (a cancellation, a move, a NO):
        # both workers look at once; released and expired holds are found by the offer worker's poll.
        relay.wake()
        offers.wake()

    deps.outbox_written = written
    # deps.clock: reminders come due on the service's clock (tests move it).
    reminders = ReminderWorker(deps.pool, clock=deps.clock, outbox_written=relay.wake)
    servicer = ReservationServicer(deps)

    def register(server: grpc.aio.Server) -> None:
        reservation_pb2_grpc.add_ReservationServiceServicer_to_server(servicer, server)

    def availability() -> availability_pb2_grpc.AvailabilityServiceStub:
        assert deps.availability is not None, "availability stub not wired"
        return deps.availability

    access = Access(remote_keys(availability), SERVICE_ONLY, security, PATIENT_PHONES)
    service = await create_grpc_server(host, port, register, [SERVICE_NAME], access)
    service.on_stop.append(servicer.wakeups.close)  # watch streams end at once, not after the grace
    tasks: list[asyncio.Task[None]] = []
    if background:
        tasks.append(asyncio.create_task(relay.run(), name="reservation-outbox-relay"))
        tasks.append(asyncio.create_task(reminders.run(), name="reminder-worker"))
        sweeper = HoldSweeper(ReservationRepository(deps.pool), deps.clock)
        tasks.append(asyncio.create_task(sweeper.run(), name="hold-sweeper"))
        tasks.append(asyncio.create_task(offers.run(), name="waitlist-offers"))
        if purger is not None:
            tasks.append(asyncio.create_task(purger.run(), name="reservation-retention"))
    return ReservationRuntime(service, tasks, relay=relay, offers=offers, reminders=reminders)


async def start(cfg: ServiceConfig, pool: asyncpg.Pool) -> Running:
    availability_channel = open_channel(cfg.availability_addr)
    notification_channel = open_channel(cfg.notification_addr)
    deps = ReservationDeps(
        pool=pool,
        availability=availability_pb2_grpc.AvailabilityServiceStub(availability_channel),
        notification=notification_pb2_grpc.NotificationServiceStub(notification_channel),
    )
    purger = Purger(pool, "reservation", sweeps(cfg.retention), clock=deps.clock)
    runtime = await create_server(cfg.host, cfg.port, deps, purger=purger)

    async def close() -> None:
        await availability_channel.close()
        await notification_channel.close()

    runtime.close = close  # after its relay and sweeper have stopped (BackgroundRuntime.stop)
    runtime.refresh_metrics = reservation_metrics.refresher(pool)
    return runtime
