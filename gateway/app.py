"""The aiohttp application: routes, backend channels, metrics."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram, generate_latest

from booking.availability.v1 import availability_pb2_grpc
from booking.notification.v1 import notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2_grpc
from common.grpc_client import open_channel
from common.logs import REQUEST_ID_HEADER, new_request_id, request_id_var
from gateway.config import GatewayConfig

READY_TIMEOUT_SECONDS = 1.0


@dataclass
class Backends:
    """gRPC channels and stubs to the three services."""

    channels: dict[str, grpc.aio.Channel]
    availability: availability_pb2_grpc.AvailabilityServiceStub
    reservation: reservation_pb2_grpc.ReservationServiceStub
    notification: notification_pb2_grpc.NotificationServiceStub

    @classmethod
    def open(cls, cfg: GatewayConfig) -> Backends:
        channels = {
            "availability": open_channel(cfg.availability_addr),
            "reservation": open_channel(cfg.reservation_addr),
            "notification": open_channel(cfg.notification_addr),
        }
        return cls(
            channels=channels,
            availability=availability_pb2_grpc.AvailabilityServiceStub(channels["availability"]),
            reservation=reservation_pb2_grpc.ReservationServiceStub(channels["reservation"]),
            notification=notification_pb2_grpc.NotificationServiceStub(channels["notification"]),
        )

    async def close(self) -> None:
        await asyncio.gather(*(channel.close() for channel in self.channels.values()))

    async def not_serving(self) -> list[str]:
        """Names of backends whose health is not SERVING (or that do not answer)."""

        async def check(name: str, channel: grpc.aio.Channel) -> str | None:
            stub = health_pb2_grpc.HealthStub(channel)
            try:
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=READY_TIMEOUT_SECONDS)
            except grpc.aio.AioRpcError:
                return name
            return None if reply.status == health_pb2.HealthCheckResponse.SERVING else name

        results = await asyncio.gather(*(check(n, c) for n, c in self.channels.items()))
        return [name for name in results if name is not None]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.http_requests = Counter(
            "gateway_http_requests", "HTTP requests by route and status", ["route", "status"], registry=self.registry
        )
        self.http_latency = Histogram(
            "gateway_http_request_seconds",
            "HTTP request latency by route",
            ["route"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.tool_calls = Counter(
            "gateway_tool_calls", "Tool calls by tool and outcome", ["tool", "outcome"], registry=self.registry
        )
        self.tool_latency = Histogram(
            "gateway_tool_call_seconds",
            "Tool call latency by tool",
            ["tool"],
            registry=self.registry,
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )


CONFIG = web.AppKey("config", GatewayConfig)
BACKENDS = web.AppKey("backends", Backends)
METRICS = web.AppKey("metrics", Metrics)


@web.middleware
async def observe(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Request id for every hop, plus request metrics by route (not by raw path: tenants vary)."""
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    token = request_id_var.set(incoming[:64] if incoming else new_request_id())
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "unmatched"
    started = time.perf_counter()
    status = 500
    try:
        response = await handler(request)
        status = response.status
        response.headers[REQUEST_ID_HEADER] = request_id_var.get()
        return response
    except web.HTTPException as error:
        status = error.status
        raise
    finally:
        metrics = request.app[METRICS]
        metrics.http_requests.labels(route, str(status)).inc()
        metrics.http_latency.labels(route).observe(time.perf_counter() - started)
        request_id_var.reset(token)


async def health(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def ready(request: web.Request) -> web.Response:
    down = await request.app[BACKENDS].not_serving()
    if down:
        return web.json_response({"ready": False, "down": down}, status=503)
    return web.json_response({"ready": True})


async def metrics(request: web.Request) -> web.Response:
    body = generate_latest(request.app[METRICS].registry)
    return web.Response(body=body, headers={"Content-Type": CONTENT_TYPE_LATEST})


def create_app(cfg: GatewayConfig) -> web.Application:
    app = web.Application(middlewares=[observe], client_max_size=cfg.max_body_bytes)
    app[CONFIG] = cfg
    app[METRICS] = Metrics()

    async def backends_ctx(app: web.Application) -> AsyncIterator[None]:
        app[BACKENDS] = Backends.open(cfg)
        yield
        await app[BACKENDS].close()

    app.cleanup_ctx.append(backends_ctx)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    return app
