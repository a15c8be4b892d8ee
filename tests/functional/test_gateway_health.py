"""Gateway /health, /ready and /metrics (on its own port) against real services."""

from __future__ import annotations

import aiohttp

from gateway.state import METRICS_PORT
from tests.conftest import GatewayClient, Stack


async def test_ready_is_200_when_every_backend_serves(gateway: GatewayClient) -> None:
    health = await gateway.get("/health")
    assert health.status == 200
    ready = await gateway.get("/ready")
    assert ready.status == 200
    assert await ready.json() == {"ready": True}


async def test_ready_is_503_naming_the_backend_that_is_down(gateway: GatewayClient, stack: Stack) -> None:
    await stack.reservation.stop(0)
    ready = await gateway.get("/ready")
    assert ready.status == 503
    assert await ready.json() == {"ready": False, "down": ["reservation"]}
    assert (await gateway.get("/health")).status == 200  # alive, just not ready


async def test_ready_is_503_when_a_service_reports_not_serving(gateway: GatewayClient, stack: Stack) -> None:
    await stack.notification.grpc.set_serving(False)  # what the DB watchdog does when PostgreSQL is gone
    ready = await gateway.get("/ready")
    assert ready.status == 503
    assert (await ready.json())["down"] == ["notification"]


async def scrape(gateway: GatewayClient) -> str:
    """The metrics port, not the public one."""
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{gateway.app[METRICS_PORT]}/metrics") as reply:
            assert reply.status == 200
            return await reply.text()


async def test_metrics_count_requests_by_route(gateway: GatewayClient) -> None:
    await gateway.get("/health")
    await gateway.get("/health")
    text = await scrape(gateway)
    assert 'gateway_http_requests_total{route="/health",status="200"} 2.0' in text
    assert "gateway_http_request_seconds_bucket" in text


async def test_the_public_port_serves_no_metrics(gateway: GatewayClient) -> None:
    assert (await gateway.get("/metrics")).status == 404
    assert gateway.app[METRICS_PORT] not in (0, gateway.port)
