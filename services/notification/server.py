"""Wiring of the notification service: servicer, SMS relay, retention purge, gRPC server, lifecycle."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg
import grpc

from booking.availability.v1 import availability_pb2_grpc
from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2_grpc
from common.config import ServiceConfig
from common.contact_data import masking
from common.grpc_auth import NoTenantKeys, TenantKeys, remote_keys
from common.grpc_client import open_channel
from common.grpc_server import Access, methods
from common.grpc_server import create_server as create_grpc_server
from common.retention import Purger
from common.security import GrpcSecurity
from common.service import BackgroundRuntime, Starter
from services.notification import metrics as notification_metrics
from services.notification.config import TwilioConfig
from services.notification.relay import MessageRelay
from services.notification.replies import ReplyRelay, ReservationStub
from services.notification.retention import sweeps
from services.notification.senders import LocalSender, Sender, TwilioSender
from services.notification.servicer import NotificationServicer

SERVICE_NAME = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name
log = logging.getLogger("services.notification")


def make_sender(twilio: TwilioConfig) -> Sender:
    if not twilio.enabled:
        log.warning("no Twilio credentials: using the LOCAL SMS SENDER (texts are kept for GET /dev/sms, not sent)")
        return LocalSender()
    return TwilioSender(
        twilio.account_sid,
        twilio.auth_token,
        from_number=twilio.from_number,
        messaging_service_sid=twilio.messaging_service_sid,
        base_url=twilio.api_base_url or None,
        status_callback=twilio.status_callback_url,
    )


@dataclass(kw_only=True)
class NotificationRuntime(BackgroundRuntime):
    relay: MessageRelay
    sender: Sender
    replies: ReplyRelay


# Internal hand-offs (reservation's texts, the gateway's Twilio callbacks): never for a tenant's key,
# which could otherwise text anything from the clinic's number.
# ListDevTexts shows full bodies (codes included): the gateway's /dev/sms only.
SERVICE_ONLY = methods(SERVICE_NAME, "EnqueueSms", "RecordDeliveryStatus", "RecordInboundSms", "ListDevTexts")
# A tenant key issued without patient_phones sees the numbers texted masked.
PATIENT_PHONES = masking({notification_pb2.Message.DESCRIPTOR.full_name: "to"})


async def create_server(
    host: str, port: int, pool: asyncpg.Pool, *, sender: Sender | None = None, background: bool = True,
    keys: TenantKeys | None = None, security: GrpcSecurity | None = None, purger: Purger | None = None,
    reservation: ReservationStub = lambda: None,
) -> NotificationRuntime:  # fmt: skip
    """Start the server on host:port (port 0 picks a free one) and, unless told not to, its SMS relay, its
    relay of patients' text replies to `reservation()` (None: nowhere) and (when given) retention purge."""
    sender = sender or LocalSender()
    replies = ReplyRelay(pool, reservation)
    servicer = NotificationServicer(pool, sender if isinstance(sender, LocalSender) else None, replies)
    relay = MessageRelay(pool, sender)

    def register(server: grpc.aio.Server) -> None:
        notification_pb2_grpc.add_NotificationServiceServicer_to_server(servicer, server)

    access = Access(keys or NoTenantKeys(), SERVICE_ONLY, security, PATIENT_PHONES)
    service = await create_grpc_server(host, port, register, [SERVICE_NAME], access)
    tasks = []
    if background:
        tasks.append(asyncio.create_task(relay.run(), name="sms-relay"))
        tasks.append(asyncio.create_task(replies.run(), name="reply-relay"))
    if background and purger is not None:
        tasks.append(asyncio.create_task(purger.run(), name="notification-retention"))
    return NotificationRuntime(service, tasks, sender.close, relay=relay, sender=sender, replies=replies)


def starter(twilio: TwilioConfig) -> Starter:
    async def start(cfg: ServiceConfig, pool: asyncpg.Pool) -> BackgroundRuntime:
        # Tenant API keys are availability's: asked there (cached) when a clinic system calls.
        availability_channel = open_channel(cfg.availability_addr)
        stub = availability_pb2_grpc.AvailabilityServiceStub(availability_channel)
        # Patients' text replies (C, YES...) are reservation's to answer.
        reservation_channel = open_channel(cfg.reservation_addr)
        reservation = reservation_pb2_grpc.ReservationServiceStub(reservation_channel)
        runtime = await create_server(
            cfg.host, cfg.port, pool, sender=make_sender(twilio), keys=remote_keys(lambda: stub),
            purger=Purger(pool, "notification", sweeps(cfg.retention)), reservation=lambda: reservation,
        )  # fmt: skip
        close_sender = runtime.close

        async def close() -> None:
            if close_sender is not None:
                await close_sender()
            await availability_channel.close()
            await reservation_channel.close()

        runtime.close = close
        runtime.refresh_metrics = notification_metrics.refresher(pool)
        return runtime

    return start
