"""The two health names Kubernetes probes ask for (deploy/k8s/): readiness ("") follows the
database, liveness ("liveness") only the process, until it shuts down."""

from __future__ import annotations

import asyncio

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.grpc_server import LIVENESS, create_server

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING


async def test_liveness_stays_serving_while_the_database_is_away_and_ends_with_the_process() -> None:
    service = await create_server("127.0.0.1", 0, lambda server: None, ["booking.test.v1.TestService"])
    async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
        health = health_pb2_grpc.HealthStub(channel)

        async def status(name: str) -> int:
            reply = await health.Check(health_pb2.HealthCheckRequest(service=name), timeout=5)
            return int(reply.status)

        assert (await status(""), await status(LIVENESS)) == (SERVING, SERVING)
        await service.set_serving(False)  # what the watchdog does when PostgreSQL stops answering
        assert (await status(""), await status("booking.test.v1.TestService")) == (NOT_SERVING, NOT_SERVING)
        assert await status(LIVENESS) == SERVING  # a restart would not bring the database back
        await service.set_serving(True)
        assert await status("") == SERVING

        watch = health.Watch(health_pb2.HealthCheckRequest(service=LIVENESS))
        assert (await watch.read()).status == SERVING
        stopping = asyncio.create_task(service.stop(1.0))
        assert (await asyncio.wait_for(watch.read(), 10)).status == NOT_SERVING
        await stopping
