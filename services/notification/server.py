"""Wiring of the notification service: servicer, SMS relay, gRPC server, lifecycle."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass

import asyncpg
import grpc

from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from common.config import ServiceConfig
from common.grpc_server import create_server as create_grpc_server
from common.service import BackgroundRuntime, Starter
from services.notification.config import TwilioConfig
from services.notification.relay import MessageRelay
from services.notification.senders import LocalSender, Sender, TwilioSender
from services.notification.servicer import NotificationServicer

SERVICE_NAME = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name
log = logging.getLogger("services.notification")


def make_sender(twilio: TwilioConfig) -> Sender:
    if not twilio.enabled:
        log.warning("no Twilio credentials: using the LOCAL SMS SENDER (messages are logged, not sent)")
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


async def create_server(
    host: str, port: int, pool: asyncpg.Pool, *, sender: Sender | None = None, background: bool = True
) -> NotificationRuntime:
    """Start the server on host:port (port 0 picks a free one) and, unless told not to, its SMS relay."""
    servicer = NotificationServicer(pool)
    sender = sender or LocalSender()
    relay = MessageRelay(pool, sender)

    def register(server: grpc.aio.Server) -> None:
        notification_pb2_grpc.add_NotificationServiceServicer_to_server(servicer, server)

    service = await create_grpc_server(host, port, register, [SERVICE_NAME])
    tasks = [asyncio.create_task(relay.run(), name="sms-relay")] if background else []
    return NotificationRuntime(service, tasks, sender.close, relay=relay, sender=sender)


def starter(twilio: TwilioConfig) -> Starter:
    async def start(cfg: ServiceConfig, pool: asyncpg.Pool) -> BackgroundRuntime:
        return await create_server(cfg.host, cfg.port, pool, sender=make_sender(twilio))

    return start
