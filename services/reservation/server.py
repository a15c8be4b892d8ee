"""Wiring of the reservation service: servicer, gRPC server, lifecycle."""

from __future__ import annotations

import asyncpg
import grpc

from booking.availability.v1 import availability_pb2_grpc
from booking.notification.v1 import notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from common.config import ServiceConfig
from common.grpc_client import open_channel
from common.grpc_server import GrpcService
from common.grpc_server import create_server as create_grpc_server
from common.service import Running
from services.reservation.servicer import ReservationDeps, ReservationServicer

SERVICE_NAME = reservation_pb2.DESCRIPTOR.services_by_name["ReservationService"].full_name


async def create_server(host: str, port: int, deps: ReservationDeps) -> GrpcService:
    """Start the server on host:port (port 0 picks a free one; read it from `.port`)."""
    servicer = ReservationServicer(deps)  # type: ignore[abstract]  # unimplemented RPCs answer UNIMPLEMENTED

    def register(server: grpc.aio.Server) -> None:
        reservation_pb2_grpc.add_ReservationServiceServicer_to_server(servicer, server)

    return await create_grpc_server(host, port, register, [SERVICE_NAME])


async def start(cfg: ServiceConfig, pool: asyncpg.Pool) -> Running:
    availability_channel = open_channel(cfg.availability_addr)
    notification_channel = open_channel(cfg.notification_addr)
    deps = ReservationDeps(
        pool=pool,
        availability=availability_pb2_grpc.AvailabilityServiceStub(availability_channel),
        notification=notification_pb2_grpc.NotificationServiceStub(notification_channel),
    )
    service = await create_server(cfg.host, cfg.port, deps)

    async def close() -> None:
        await availability_channel.close()
        await notification_channel.close()

    return Running(grpc=service, close=close)
