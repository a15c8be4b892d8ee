"""Test fixtures: a real PostgreSQL (DATABASE_URL, or the embedded one), a fresh
database per session built by the production migration runner, clean tables per
test, and real gRPC servers on port 0.
"""

from __future__ import annotations

import os
import signal
import uuid
from collections.abc import AsyncIterator, Iterator
from types import FrameType

import asyncpg
import pytest
from hypothesis import settings

from common.db import create_pool
from common.migrations import apply_migrations
from devkit.embedded_pg import EmbeddedPostgres
from devkit.local_secrets import use_throwaway_secrets

SCHEMAS = ("availability", "reservation", "notification")

# Every process (this one and those the tests start) needs the service token and the key that
# seals tenants' secrets.
use_throwaway_secrets(os.environ)

# CI explores the same examples every run (a red CI must be reproducible); locally they vary.
settings.register_profile("ci", derandomize=True, deadline=None)
if os.environ.get("CI"):
    settings.load_profile("ci")


def _sigterm_as_interrupt(signum: int, frame: FrameType | None) -> None:
    # A CI timeout sends SIGTERM: unwind fixtures so the embedded server is stopped.
    raise KeyboardInterrupt


signal.signal(signal.SIGTERM, _sigterm_as_interrupt)


@pytest.fixture(scope="session")
def embedded() -> Iterator[EmbeddedPostgres | None]:
    """The embedded PostgreSQL when DATABASE_URL is unset (None otherwise)."""
    if os.environ.get("DATABASE_URL"):
        yield None
        return
    server = EmbeddedPostgres()
    server.start()
    yield server
    server.stop_if_started_here()


@pytest.fixture(scope="session")
def admin_url(embedded: EmbeddedPostgres | None) -> str:
    """A superuser URL to a real server: DATABASE_URL, else the embedded PostgreSQL."""
    return embedded.url() if embedded is not None else os.environ["DATABASE_URL"]


async def create_database(admin_url: str, prefix: str = "test") -> str:
    name = f"{prefix}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def drop_database(admin_url: str, url: str) -> None:
    name = url.rsplit("/", 1)[1]
    conn = await asyncpg.connect(admin_url)
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
async def database_url(admin_url: str) -> AsyncIterator[str]:
    """A fresh database for this test session, schema from the real migrations."""
    url = await create_database(admin_url)
    await apply_migrations(url)
    yield url
    await drop_database(admin_url, url)


@pytest.fixture(scope="session")
async def session_pool(database_url: str) -> AsyncIterator[asyncpg.Pool]:
    pool = await create_pool(database_url, min_size=2, max_size=60)
    yield pool
    await pool.close()


@pytest.fixture
async def pool(session_pool: asyncpg.Pool) -> AsyncIterator[asyncpg.Pool]:
    """The session pool, with every service table emptied before the test."""
    tables = await session_pool.fetch(
        "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = ANY($1::text[])",
        list(SCHEMAS),
    )
    if tables:
        await session_pool.execute(f"TRUNCATE {', '.join(r['t'] for r in tables)} CASCADE")
    yield session_pool


# --- real gRPC servers on port 0, in this process -----------------------------------------
from dataclasses import dataclass  # noqa: E402
from datetime import UTC, datetime, timedelta  # noqa: E402

import grpc  # noqa: E402
from aiohttp import web  # noqa: E402
from aiohttp.test_utils import TestClient, TestServer  # noqa: E402

from booking.availability.v1 import availability_pb2_grpc  # noqa: E402
from booking.notification.v1 import notification_pb2_grpc  # noqa: E402
from booking.reservation.v1 import reservation_pb2_grpc  # noqa: E402
from common.grpc_auth import remote_keys  # noqa: E402
from common.grpc_client import open_channel  # noqa: E402
from common.grpc_server import GrpcService  # noqa: E402
from devkit.twilio_fake import FakeTwilio, fake_twilio  # noqa: E402
from gateway.app import create_app  # noqa: E402
from gateway.config import GatewayConfig  # noqa: E402
from services.availability.server import create_server as create_availability  # noqa: E402
from services.availability.servicer import AvailabilityDeps  # noqa: E402
from services.notification.server import NotificationRuntime  # noqa: E402
from services.notification.server import create_server as create_notification  # noqa: E402
from services.reservation.server import ReservationRuntime  # noqa: E402
from services.reservation.server import create_server as create_reservation  # noqa: E402
from services.reservation.servicer import ReservationDeps  # noqa: E402

GatewayClient = TestClient[web.Request, web.Application]


class Clock:
    """A settable clock for the services: tests move time instead of sleeping."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Stack:
    availability: GrpcService
    reservation: ReservationRuntime
    notification: NotificationRuntime
    availability_deps: AvailabilityDeps
    reservation_deps: ReservationDeps
    channels: list[grpc.aio.Channel]
    availability_stub: availability_pb2_grpc.AvailabilityServiceStub
    reservation_stub: reservation_pb2_grpc.ReservationServiceStub
    notification_stub: notification_pb2_grpc.NotificationServiceStub

    def gateway_config(self, **overrides: object) -> GatewayConfig:
        values: dict[str, object] = {
            "host": "127.0.0.1",
            "port": 0,
            "log_level": "INFO",
            "availability_addr": f"127.0.0.1:{self.availability.port}",
            "reservation_addr": f"127.0.0.1:{self.reservation.port}",
            "notification_addr": f"127.0.0.1:{self.notification.port}",
            "max_body_bytes": 1_048_576,
            "shutdown_grace_seconds": 1.0,
            "secret_encryption_key": os.environ["SECRET_ENCRYPTION_KEY"],
        }
        values.update(overrides)
        return GatewayConfig(**values)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> Clock:
    """Real time by default; tests that need a fixed instant set `clock.now`."""
    return Clock(datetime.now(UTC))


@pytest.fixture
async def stack(pool: asyncpg.Pool, clock: Clock) -> AsyncIterator[Stack]:
    """The three services on port 0 against the test database, wired to each other over gRPC."""
    availability_deps = AvailabilityDeps(pool=pool, clock=clock)
    reservation_deps = ReservationDeps(pool=pool, clock=clock)
    availability = await create_availability("127.0.0.1", 0, availability_deps)
    reservation = await create_reservation("127.0.0.1", 0, reservation_deps)
    notification = await create_notification(
        "127.0.0.1", 0, pool, background=False, keys=remote_keys(lambda: availability_stub),
        reservation=lambda: reservation_stub,
    )  # fmt: skip
    channels = [open_channel(f"127.0.0.1:{server.port}") for server in (availability, reservation, notification)]
    availability_stub = availability_pb2_grpc.AvailabilityServiceStub(channels[0])
    reservation_stub = reservation_pb2_grpc.ReservationServiceStub(channels[1])
    notification_stub = notification_pb2_grpc.NotificationServiceStub(channels[2])
    # Wired after start: each needs the other's port.
    availability_deps.reservation = reservation_stub
    reservation_deps.availability = availability_stub
    reservation_deps.notification = notification_stub
    services = Stack(
        availability, reservation, notification, availability_deps, reservation_deps, channels,
        availability_stub, reservation_stub, notification_stub,
    )  # fmt: skip
    yield services
    for channel in channels:
        await channel.close()
    for service in (availability, reservation, notification):
        await service.stop(0)


@pytest.fixture
async def twilio() -> AsyncIterator[FakeTwilio]:
    """A local imitation of Twilio's API (the real twilio library talks to it)."""
    async with fake_twilio() as fake:
        yield fake


@pytest.fixture
async def gateway(stack: Stack) -> AsyncIterator[GatewayClient]:
    """The real gateway app on a real socket, wired to `stack`."""
    client: GatewayClient = TestClient(TestServer(create_app(stack.gateway_config())))
    await client.start_server()
    yield client
    await client.close()
