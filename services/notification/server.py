"""Wiring of the notification service: servicer, gRPC server, lifecycle."""

from __future__ import annotations

import asyncpg
import grpc

from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from common.config import ServiceConfig
from common.grpc_server import GrpcService
from common.grpc_server import create_server as create_grpc_server
from common.service import Running
from services.notification.servicer import NotificationServicer

SERVICE_NAME = notification_pb2.DESCRIPTOR.services_by_name["NotificationService"].full_name


async def create_server(host: str, port: int, pool: asyncpg.Pool) -> GrpcService:
    """Start the server on host:port (port 0 picks a free one; read it from `.port`)."""
    servicer = NotificationServicer(pool)

    def register(server: grpc.aio.Server) -> None:
        notification_pb2_grpc.add_NotificationServiceServicer_to_server(servicer, server)

    return await create_grpc_server(host, port, register, [SERVICE_NAME])


async def start(cfg: ServiceConfig, pool: asyncpg.Pool) -> Running:
    service = await create_server(cfg.host, cfg.port, pool)

    async def close() -> None:
        return None

    return Running(grpc=service, close=close)
