"""The aiohttp application: routes, backend channels, metrics."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.logs import REQUEST_ID_HEADER, new_request_id, request_id_var
from common.timestamps import Clock, utc_now
from gateway import handlers, twilio_webhooks
from gateway.auth import TenantAuth
from gateway.clinics import ClinicDirectory
from gateway.config import GatewayConfig
from gateway.handlers import VapiHandlers
from gateway.state import BACKENDS, CONFIG, METRICS, Backends, Metrics


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


def create_app(cfg: GatewayConfig, clock: Clock = utc_now) -> web.Application:
    app = web.Application(middlewares=[observe], client_max_size=cfg.max_body_bytes)
    app[CONFIG] = cfg
    app[METRICS] = Metrics()

    def availability() -> availability_pb2_grpc.AvailabilityServiceStub:
        return app[BACKENDS].availability

    async def tenant_secret_sha256(tenant: str) -> str | None:
        reply = await availability().GetTenantAuth(apb.GetTenantAuthRequest(tenant_id=tenant), timeout=1.5)
        return reply.secret_sha256 if reply.found else None

    vapi_handlers = VapiHandlers(TenantAuth(tenant_secret_sha256), ClinicDirectory(availability), clock)

    async def backends_ctx(app: web.Application) -> AsyncIterator[None]:
        app[BACKENDS] = Backends.open(cfg)
        yield
        await app[BACKENDS].close()

    app.cleanup_ctx.append(backends_ctx)
    app.router.add_get("/health", health)
    app.router.add_get("/ready", ready)
    app.router.add_get("/metrics", metrics)
    handlers.add_routes(app, vapi_handlers)
    twilio_webhooks.add_routes(app)
    return app
