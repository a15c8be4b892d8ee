"""Wiring of the availability service: servicer, gRPC server, lifecycle."""

from __future__ import annotations

import asyncpg
import grpc

from booking.availability.v1 import availability_pb2, availability_pb2_grpc
from booking.reservation.v1 import reservation_pb2_grpc
from common.config import ServiceConfig
from common.grpc_client import open_channel
from common.grpc_server import Access, GrpcService, methods
from common.grpc_server import create_server as create_grpc_server
from common.security import GrpcSecurity
from common.service import Running
from services.availability.busy_feed import BusyFeeds
from services.availability.servicer import AvailabilityDeps, AvailabilityServicer

SERVICE_NAME = availability_pb2.DESCRIPTOR.services_by_name["AvailabilityService"].full_name


# Secret changes, key and feed token management and look-ups: never for a tenant's own API key.
SERVICE_ONLY = methods(
    SERVICE_NAME, "UpsertClinic", "GetTenantCredentials", "ListTenants", "RotateTenantSecret", "IssueApiKey",
    "ListApiKeys", "RevokeApiKey", "AuthenticateApiKey", "IssueFeedToken", "ListFeedTokens", "RevokeFeedToken",
    "CheckFeedToken", "CreateStaffAccount", "ListStaffAccounts", "RemoveStaffAccount", "VerifyStaffPassword",
)  # fmt: skip


async def create_server(
    host: str, port: int, deps: AvailabilityDeps, security: GrpcSecurity | None = None
) -> GrpcService:
    """Start the server on host:port (port 0 picks a free one; read it from `.port`)."""
    servicer = AvailabilityServicer(deps)
    access = Access(servicer.key_cache, SERVICE_ONLY, security)

    def register(server: grpc.aio.Server) -> None:
        availability_pb2_grpc.add_AvailabilityServiceServicer_to_server(servicer, server)

    return await create_grpc_server(host, port, register, [SERVICE_NAME], access)


async def start(cfg: ServiceConfig, pool: asyncpg.Pool) -> Running:
    reservation_channel = open_channel(cfg.reservation_addr)
    deps = AvailabilityDeps(pool=pool, reservation=reservation_pb2_grpc.ReservationServiceStub(reservation_channel))
    feeds = deps.busy_feeds = BusyFeeds(lambda: deps.reservation, deps.clock)
    service = await create_server(cfg.host, cfg.port, deps)

    async def close() -> None:
        await feeds.close()
        await reservation_channel.close()

    return Running(grpc=service, close=close)
