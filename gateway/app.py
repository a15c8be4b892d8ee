"""The aiohttp application: routes, middlewares, backend channels, and the metrics port."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import grpc
from aiohttp import web

from common.logs import REQUEST_ID_HEADER, new_request_id, request_id_var
from common.metrics import serve_metrics
from common.sealing import KEK_VAR, SecretBox
from common.timestamps import Clock, utc_now
from gateway import console, dev_sms, feeds, handlers, twilio_webhooks
from gateway.auth import TenantAuth
from gateway.clinics import ClinicDirectory
from gateway.config import GatewayConfig
from gateway.credentials import SealedSecrets
from gateway.intake import request_id
from gateway.replies import ReplyCache, SharedReplies
from gateway.state import (
    AUTH,
    BACKENDS,
    CLINICS,
    CLOCK,
    CONFIG,
    METRICS,
    METRICS_PORT,
    REPLIES,
    SHARED_REPLIES,
    Backends,
    Metrics,
)  # fmt: skip


@web.middleware
async def observe(request: web.Request, handler: handlers.Handler) -> web.StreamResponse:
    """Request id for every hop, plus request metrics by route (not by raw path: tenants vary)."""
    # A caller's id is kept only if it is safe to log and to forward as gRPC metadata.
    token = request_id_var.set(request_id(request.headers.get(REQUEST_ID_HEADER, "")) or new_request_id())
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
    missing = [t for t in request.app[CONFIG].ready_tenants if not await has_clinic(request.app, t)]
    if missing:
        return web.json_response({"ready": False, "clinics_not_loaded": missing}, status=503)
    return web.json_response({"ready": True})


async def has_clinic(app: web.Application, tenant: str) -> bool:
    try:
        await app[CLINICS].get(tenant)
    except grpc.aio.AioRpcError:
        return False
    return True


async def backends_ctx(app: web.Application) -> AsyncIterator[None]:
    app[BACKENDS] = Backends.open(app[CONFIG])
    yield
    await app[BACKENDS].close()


async def metrics_ctx(app: web.Application) -> AsyncIterator[None]:
    """`/metrics` on its own port (GATEWAY_METRICS_PORT on BIND_HOST), never on the public one."""
    cfg = app[CONFIG]
    server = await serve_metrics(cfg.host, cfg.metrics_port, registry=app[METRICS].registry)
    app[METRICS_PORT] = server.port
    try:
        yield
    finally:
        await server.stop()


def create_app(cfg: GatewayConfig, clock: Clock = utc_now) -> web.Application:
    app = web.Application(middlewares=[observe, handlers.vapi_safety_net], client_max_size=cfg.max_body_bytes)
    app[CONFIG] = cfg
    app[METRICS] = Metrics()
    app[CLOCK] = clock
    app[REPLIES] = ReplyCache()
    app[SHARED_REPLIES] = SharedReplies(lambda: app[BACKENDS].reservation)

    box = SecretBox.from_env({KEK_VAR: cfg.secret_encryption_key})
    sealed = SealedSecrets(lambda: app[BACKENDS].availability, box)
    app[AUTH] = TenantAuth(sealed, sealed.tenant_names)
    app[CLINICS] = ClinicDirectory(lambda: app[BACKENDS].availability)
    app.cleanup_ctx.append(backends_ctx)
    app.cleanup_ctx.append(metrics_ctx)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    handlers.add_routes(app)
    twilio_webhooks.add_routes(app)
    dev_sms.add_routes(app)
    feeds.add_routes(app)
    console.add_routes(app, cfg.console_session_key)
    return app
