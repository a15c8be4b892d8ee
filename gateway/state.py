"""Application state: backend channels, metrics, and the `web.AppKey`s everything is stored under
(the only way handlers reach shared state)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc
from aiohttp import web
from grpc_health.v1 import health_pb2, health_pb2_grpc
from prometheus_client import CollectorRegistry, Counter, GCCollector, Histogram, PlatformCollector, ProcessCollector

from booking.availability.v1 import availability_pb2_grpc
from booking.notification.v1 import notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2_grpc
from common.deadlines import READY_PROBE
from common.grpc_client import open_channel
from common.timestamps import Clock
from gateway.auth import TenantAuth
from gateway.clinics import ClinicDirectory
from gateway.config import GatewayConfig
from gateway.replies import ReplyCache, SharedReplies


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
                reply = await stub.Check(health_pb2.HealthCheckRequest(), timeout=READY_PROBE)
            except grpc.aio.AioRpcError:
                return name
            return None if reply.status == health_pb2.HealthCheckResponse.SERVING else name

        results = await asyncio.gather(*(check(n, c) for n, c in self.channels.items()))
        return [name for name in results if name is not None]


LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)


class Metrics:
    """The gateway's Prometheus series, in a registry of their own (served on the metrics port)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        # The standard process_* and python_* series, as every process has them.
        ProcessCollector(registry=self.registry)
        PlatformCollector(registry=self.registry)
        GCCollector(registry=self.registry)
        self.http_requests = self._counter(
            "gateway_http_requests", "HTTP requests by route and status", "route", "status"
        )
        self.http_latency = self._histogram("gateway_http_request_seconds", "HTTP request latency by route", "route")
        self.tool_calls = self._counter("gateway_tool_calls", "Tool calls by tool and outcome", "tool", "outcome")
        self.tool_latency = self._histogram("gateway_tool_call_seconds", "Tool call latency by tool", "tool")

    def _counter(self, name: str, description: str, *labels: str) -> Counter:
        return Counter(name, description, labels, registry=self.registry)

    def _histogram(self, name: str, description: str, label: str) -> Histogram:
        return Histogram(name, description, [label], registry=self.registry, buckets=LATENCY_BUCKETS)


CONFIG = web.AppKey("config", GatewayConfig)
BACKENDS = web.AppKey("backends", Backends)
METRICS = web.AppKey("metrics", Metrics)
AUTH = web.AppKey("auth", TenantAuth)
CLINICS = web.AppKey("clinics", ClinicDirectory)
CLOCK: web.AppKey[Clock] = web.AppKey("clock")
REPLIES = web.AppKey("replies", ReplyCache)
SHARED_REPLIES = web.AppKey("shared_replies", SharedReplies)
METRICS_PORT = web.AppKey("metrics_port", int)  # set once the metrics port is bound
