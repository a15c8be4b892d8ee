"""Each service as a real process: port 0, health, reflection, graceful SIGTERM, bad config."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from devkit.processes import spawn, start_module

SERVICES = [
    ("availability", "AVAILABILITY_PORT", "booking.availability.v1.AvailabilityService"),
    ("reservation", "RESERVATION_PORT", "booking.reservation.v1.ReservationService"),
    ("notification", "NOTIFICATION_PORT", "booking.notification.v1.NotificationService"),
]


async def list_services(channel: grpc.aio.Channel) -> set[str]:
    stub = reflection_pb2_grpc.ServerReflectionStub(channel)

    async def requests() -> AsyncIterator[reflection_pb2.ServerReflectionRequest]:
        yield reflection_pb2.ServerReflectionRequest(list_services="")

    async for reply in stub.ServerReflectionInfo(requests(), timeout=5):
        return {s.name for s in reply.list_services_response.service}
    return set()


@pytest.mark.slow
@pytest.mark.parametrize(("name", "port_var", "full_name"), SERVICES)
async def test_service_serves_health_and_reflection_then_stops_gracefully_on_sigterm(
    name: str, port_var: str, full_name: str, database_url: str
) -> None:
    proc = await start_module(f"services.{name}", {port_var: "0", "DATABASE_URL": database_url})
    async with grpc.aio.insecure_channel(f"127.0.0.1:{proc.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)
        for service in ("", full_name):
            reply = await health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
            assert reply.status == health_pb2.HealthCheckResponse.SERVING

        assert {full_name, "grpc.health.v1.Health"} <= await list_services(channel)

        watch = health.Watch(health_pb2.HealthCheckRequest(service=full_name))
        first = await watch.read()
        assert first.status == health_pb2.HealthCheckResponse.SERVING
        proc.process.terminate()
        second = await asyncio.wait_for(watch.read(), 10)
        assert second.status == health_pb2.HealthCheckResponse.NOT_SERVING
    assert await proc.stop() == 0
    assert any('"stopped"' in line for line in proc.lines)


BAD_ENV = [
    ("services.availability", {"AVAILABILITY_PORT": "abc"}, "AVAILABILITY_PORT"),
    ("services.reservation", {"RESERVATION_PORT": "70000"}, "RESERVATION_PORT"),
    ("services.notification", {"NOTIFICATION_ADDR": "nohost"}, "NOTIFICATION_ADDR"),
    ("services.availability", {"DATABASE_URL": ""}, "DATABASE_URL"),
    ("services.reservation", {"DATABASE_URL": "mysql://x/y"}, "DATABASE_URL"),
    ("services.notification", {"LOG_LEVEL": "LOUD"}, "LOG_LEVEL"),
    ("gateway", {"GATEWAY_PORT": "abc"}, "GATEWAY_PORT"),
    ("gateway", {"GATEWAY_MAX_BODY_BYTES": "ten"}, "GATEWAY_MAX_BODY_BYTES"),
    ("services.reservation", {"INTERNAL_API_TOKEN": ""}, "INTERNAL_API_TOKEN"),
    ("services.notification", {"INTERNAL_API_TOKEN": "too-short"}, "INTERNAL_API_TOKEN"),
    ("gateway", {"INTERNAL_API_TOKEN": ""}, "INTERNAL_API_TOKEN"),
    ("services.availability", {"SECRET_ENCRYPTION_KEY": ""}, "SECRET_ENCRYPTION_KEY"),
    ("gateway", {"SECRET_ENCRYPTION_KEY": "short"}, "SECRET_ENCRYPTION_KEY"),
    ("services.availability", {"GRPC_TLS_CERT": "/no/cert.pem", "GRPC_TLS_KEY": "/no/key.pem"}, "GRPC_TLS_CERT"),
]
# What every process needs besides the variable a case is about.
SECRETS = {"INTERNAL_API_TOKEN": "t" * 32, "SECRET_ENCRYPTION_KEY": "k" * 32}


@pytest.mark.parametrize(("module", "env", "variable"), BAD_ENV)
async def test_bad_env_value_exits_2_with_one_line_naming_the_variable(
    module: str, env: dict[str, str], variable: str, database_url: str
) -> None:
    full_env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin", **SECRETS, **env}
    process = await spawn(module, env=full_env, stderr=asyncio.subprocess.PIPE)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    assert process.returncode == 2
    lines = stderr.decode().strip().splitlines()
    assert len(lines) == 1, lines
    assert variable in lines[0]
    assert "Traceback" not in stderr.decode() + stdout.decode()
