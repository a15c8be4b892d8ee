"""Prometheus metrics for every process: per-RPC series, a scrape-time refresh hook, and the
`/metrics` HTTP port (`<SERVICE>_METRICS_PORT` on BIND_HOST, never the public port).

Series live in prometheus_client's default registry, which also carries the standard
`process_*` and `python_*` series. Tests run several servers in one process: the series are
module-level (created once) and simply add up there.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import asyncpg
import grpc
from aiohttp import web
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)

log = logging.getLogger("common.metrics")

# SPEC §1: the metrics port of each process (0 = any free port, logged as "metrics port").
DEFAULT_PORTS = {"gateway": 9100, "availability": 9101, "reservation": 9102, "notification": 9103}
LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10)

RPC_HANDLED = Counter(
    "grpc_server_handled", "RPCs completed on the server, by method and status code",
    ["grpc_service", "grpc_method", "grpc_code"],
)  # fmt: skip
RPC_SECONDS = Histogram(
    "grpc_server_handling_seconds", "Time to handle an RPC on the server, by method",
    ["grpc_service", "grpc_method"], buckets=LATENCY_BUCKETS,
)  # fmt: skip

OUTBOX_BACKLOG = Gauge("outbox_backlog", "Requests waiting in a service's outbox", ["outbox"])
OUTBOX_OLDEST = Gauge(
    "outbox_oldest_age_seconds", "Age of the oldest request waiting in a service's outbox (0 when empty)", ["outbox"]
)

ReplyHook = Callable[[Any], None]
# Full method name -> what to count when it answers OK (domain counters, e.g. bookings made).
_REPLY_HOOKS: dict[str, list[ReplyHook]] = {}


def metrics_port_variable(service: str) -> str:
    return f"{service.upper()}_METRICS_PORT"


def on_reply(method: str, hook: ReplyHook) -> None:
    """Call `hook(reply)` after each OK answer of `method` ("/pkg.Service/Method")."""
    _REPLY_HOOKS.setdefault(method, []).append(hook)


def observe_rpc(method: str, code: grpc.StatusCode, seconds: float, reply: Any) -> None:
    """Record one finished RPC (called by the server interceptor)."""
    service, _, name = method.lstrip("/").rpartition("/")
    RPC_HANDLED.labels(service, name, code.name).inc()
    RPC_SECONDS.labels(service, name).observe(seconds)
    if code == grpc.StatusCode.OK and reply is not None:
        for hook in _REPLY_HOOKS.get(method, ()):
            try:
                hook(reply)
            except Exception:  # a broken counter must never fail the call it counts
                log.exception("metrics hook failed for %s", method)


Refresh = Callable[[], Awaitable[None]]


async def refresh_outbox(pool: asyncpg.Pool, outbox: str, table: str, waiting: str) -> None:
    """Set the backlog gauges of `outbox` from `table` rows matching the SQL condition `waiting`."""
    row = await pool.fetchrow(
        f"SELECT count(*) AS n, coalesce(extract(epoch FROM now() - min(created_at)), 0) AS age "  # noqa: S608
        f"FROM {table} WHERE {waiting}"
    )
    assert row is not None  # an aggregate always returns one row
    OUTBOX_BACKLOG.labels(outbox).set(row["n"])
    OUTBOX_OLDEST.labels(outbox).set(float(row["age"]))


@dataclass
class MetricsServer:
    """`/metrics` on its own port; `refresh` runs before each scrape (gauges read from the database)."""

    runner: web.AppRunner
    port: int

    async def stop(self) -> None:
        await self.runner.cleanup()


async def serve_metrics(
    host: str, port: int, *, registry: CollectorRegistry = REGISTRY, refresh: Refresh | None = None
) -> MetricsServer:
    async def metrics(request: web.Request) -> web.Response:
        try:
            if refresh is not None:
                await refresh()
        except Exception:  # a scrape still answers (stale gauges) when the database does not
            log.warning("metrics refresh failed", exc_info=True)
        return web.Response(body=generate_latest(registry), headers={"Content-Type": CONTENT_TYPE_LATEST})

    app = web.Application()
    app.router.add_get("/metrics", metrics)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except BaseException:
        await runner.cleanup()
        raise
    return MetricsServer(runner, runner.addresses[0][1])
