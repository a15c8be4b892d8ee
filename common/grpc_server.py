"""gRPC server bootstrap shared by every service.

`grpc.aio` server with the standard health service, reflection, a request-id/access-log
interceptor that also turns unexpected exceptions into INTERNAL without leaking details,
a database watchdog that flips health to NOT_SERVING while PostgreSQL is unreachable,
and graceful shutdown on SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import signal
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Protocol

import asyncpg
import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from common.grpc_auth import AuthInterceptor, NoTenantKeys, Redact, TenantKeys
from common.logs import REQUEST_ID_HEADER, new_request_id, request_id_var
from common.metrics import observe_rpc
from common.security import GrpcSecurity, process_security

log = logging.getLogger("common.grpc_server")

OVERALL = ""  # the health service's name for "the whole server"
# The health name a liveness probe asks for: SERVING from start until shutdown, whatever the
# database does (readiness asks for OVERALL, which follows the database: restarting a process
# cannot bring PostgreSQL back, so liveness must not follow it).
LIVENESS = "liveness"
# How long one database ping may take before the watchdog calls PostgreSQL unreachable.
DB_PROBE_TIMEOUT_SECONDS = 2.0


def finished(method: str, code: Any, seconds: float, reply: Any) -> None:
    """The access-log line and the per-RPC metrics of one call."""
    status = code if isinstance(code, grpc.StatusCode) else grpc.StatusCode.UNKNOWN
    log.info("rpc", extra={"method": method, "code": status.name, "ms": round(seconds * 1000, 2)})
    observe_rpc(method, status, seconds, reply)


class ServerInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    """Request id from metadata, one access-log line and the RPC metrics per call, no internals leaked."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler
        method = handler_call_details.method
        metadata = dict(handler_call_details.invocation_metadata or ())
        inner = handler.unary_unary

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            incoming = metadata.get(REQUEST_ID_HEADER)
            request_id = incoming if isinstance(incoming, str) and incoming else new_request_id()
            token = request_id_var.set(request_id[:64])
            started = time.perf_counter()
            code = grpc.StatusCode.OK
            reply = None
            try:
                result = inner(request, context)
                reply = await result if inspect.isawaitable(result) else result
                return reply
            except NotImplementedError:
                # The generated base servicer raises this for RPCs not implemented yet.
                code = grpc.StatusCode.UNIMPLEMENTED
                await context.abort(grpc.StatusCode.UNIMPLEMENTED, f"{method} is not implemented yet")
            except asyncio.CancelledError:
                code = grpc.StatusCode.CANCELLED
                raise
            except Exception as error:
                # context.abort raises AbortError after setting the code: pass it on.
                if isinstance(error, grpc.aio.AbortError):
                    code = context.code() or grpc.StatusCode.UNKNOWN
                    raise
                code = grpc.StatusCode.INTERNAL
                log.exception("unhandled error in %s", method)
                await context.abort(grpc.StatusCode.INTERNAL, "internal error")
            finally:
                if code == grpc.StatusCode.OK and context.code() is not None:
                    code = context.code()
                finished(method, code, time.perf_counter() - started, reply)
                request_id_var.reset(token)

        return grpc.unary_unary_rpc_method_handler(
            behavior,
            request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


@dataclass(frozen=True)
class Access:
    """Who may call a server: the service token, plus tenant API keys when `keys` can resolve
    them; `service_only` lists full method names a tenant key may never call; `redact` is what a
    key without patient contact data sees of a reply (None: the replies carry none)."""

    keys: TenantKeys = field(default_factory=NoTenantKeys)
    service_only: frozenset[str] = frozenset()
    security: GrpcSecurity | None = None  # None: this process's settings from the environment
    redact: Redact | None = None


def methods(service_full_name: str, *names: str) -> frozenset[str]:
    """Full gRPC method names ("/pkg.Service/Method") for an Access's service_only."""
    return frozenset(f"/{service_full_name}/{name}" for name in names)


class GrpcService:
    """A started gRPC server with its health servicer and bound port."""

    def __init__(
        self,
        server: grpc.aio.Server,
        health_servicer: health.aio.HealthServicer,
        port: int,
        service_names: list[str],
    ) -> None:
        self.server = server
        self.health = health_servicer
        self.port = port
        self.service_names = service_names
        self._watchdog: asyncio.Task[None] | None = None
        # Called when stopping starts, before the grace period: ends what would otherwise use all
        # of it (server-streaming calls that never finish by themselves, e.g. WatchSchedule).
        self.on_stop: list[Callable[[], None]] = []

    async def set_serving(self, serving: bool) -> None:
        status = health_pb2.HealthCheckResponse.SERVING if serving else health_pb2.HealthCheckResponse.NOT_SERVING
        for name in [OVERALL, *self.service_names]:
            await self.health.set(name, status)

    def watch_database(self, pool: asyncpg.Pool, interval: float = 1.0) -> None:
        """Report NOT_SERVING while the database does not answer, SERVING when it does."""

        async def loop() -> None:
            serving: bool | None = None
            while True:
                try:
                    async with asyncio.timeout(DB_PROBE_TIMEOUT_SECONDS):
                        await pool.fetchval("SELECT 1")
                    ok = True
                except Exception:  # any failure means "not ready"; asyncpg reconnects itself
                    ok = False
                if ok != serving:
                    serving = ok
                    await self.set_serving(ok)
                    log.info("database %s", "reachable" if ok else "unreachable")
                await asyncio.sleep(interval)

        self._watchdog = asyncio.create_task(loop(), name="db-watchdog")

    async def stop(self, grace: float) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        for stopping in self.on_stop:
            stopping()
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)


async def create_server(
    host: str,
    port: int,
    register: Callable[[grpc.aio.Server], None],
    service_names: Iterable[str],
    access: Access | None = None,
) -> GrpcService:
    """Build, bind and start a server. Port 0 binds a free port (read it back from `.port`).

    Every method but health and reflection is authenticated (`access`, default: this process's
    INTERNAL_API_TOKEN and TLS settings, service token only)."""
    access = access or Access()
    security = access.security or process_security()
    server = grpc.aio.server(
        interceptors=[ServerInterceptor(), AuthInterceptor(security, access.keys, access.service_only, access.redact)],
        options=[("grpc.so_reuseport", 0)],
    )
    register(server)
    health_servicer = health.aio.HealthServicer()
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    names = list(service_names)
    reflection.enable_server_reflection(
        [*names, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name, reflection.SERVICE_NAME],
        server,
    )
    credentials = security.server_credentials()
    address = f"{host}:{port}"
    bound = server.add_secure_port(address, credentials) if credentials else server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"could not bind gRPC server to {host}:{port}")
    await server.start()
    service = GrpcService(server, health_servicer, bound, names)
    await service.set_serving(True)
    await health_servicer.set(LIVENESS, health_pb2.HealthCheckResponse.SERVING)
    return service


class Stoppable(Protocol):
    async def stop(self, grace: float) -> None: ...


async def serve_until_signalled(
    service: Stoppable, grace: float, on_stop: Callable[[], Awaitable[None]] | None = None
) -> None:
    """Run until SIGTERM/SIGINT, then go NOT_SERVING, finish in-flight calls and stop."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down", extra={"grace_s": grace})
    await service.stop(grace)
    if on_stop is not None:
        await on_stop()
    log.info("stopped")
