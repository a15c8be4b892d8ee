"""One server interceptor that authenticates every RPC (health and reflection stay open).

A call carries `authorization: Bearer <credential>`:
- the service token (`INTERNAL_API_TOKEN`): any method, any tenant;
- a tenant API key (`bk_<tenant>_…`): only that tenant's data — a request whose `tenant_id` is
  another tenant, or that names no tenant, gets PERMISSION_DENIED — and never a service-only
  method (secret changes, key management, internal hand-offs).
Missing or wrong → UNAUTHENTICATED, with no detail. The credential is never logged.

Who called is kept for the servicer (`current_caller()`). A key issued without `patient_phones`
gets every reply through the server's `redact` (e.g. patient phones masked): one place, so no
method can forget it, and replies stored for idempotency stay whole for those who may see them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any, Protocol

import grpc

from booking.availability.v1 import availability_pb2, availability_pb2_grpc
from common import api_keys
from common.deadlines import SERVICE_TO_SERVICE
from common.lru import TtlLru
from common.security import GrpcSecurity, bearer

log = logging.getLogger("common.grpc_auth")

OPEN_PREFIXES = ("/grpc.health.v1.Health/", "/grpc.reflection.")
KEY_CACHE_SECONDS = 5.0  # a revoked key stops working within this long on every replica
KEY_CACHE_SIZE = 4096
Continuation = Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]]
Redact = Callable[[Any], Any]  # a reply as a key without patient contact data may see it


@dataclass(frozen=True)
class Grant:
    """What a valid tenant API key allows: its tenant, and whether it sees patient phones."""

    tenant: str
    patient_phones: bool = False


NOT_A_KEY = Grant("")  # remembered for unknown or revoked keys


class TenantKeys(Protocol):
    """Resolves a tenant API key to what it allows (None when unknown or revoked)."""

    async def grant_of(self, key: str) -> Grant | None: ...


class NoTenantKeys:
    """A server that accepts only the service token."""

    async def grant_of(self, key: str) -> Grant | None:
        return None


class CachedTenantKeys:
    """Remembers answers (valid or not) for a few seconds, bounded in memory."""

    def __init__(self, resolve: Callable[[str], Awaitable[Grant | None]], ttl: float = KEY_CACHE_SECONDS) -> None:
        self.resolve = resolve
        self.cache: TtlLru[str, Grant] = TtlLru(KEY_CACHE_SIZE, ttl)

    async def grant_of(self, key: str) -> Grant | None:
        if api_keys.tenant_of(key) is None:
            return None  # malformed: nothing to look up
        digest = api_keys.digest(key)
        known = self.cache.get(digest)
        if known is None:
            known = await self.resolve(key) or NOT_A_KEY
            self.cache.put(digest, known)
        return known if known.tenant else None

    def forget(self) -> None:
        """Drop every remembered answer (this process just revoked a key)."""
        self.cache = TtlLru(KEY_CACHE_SIZE, self.cache.ttl)


def remote_keys(availability: Callable[[], availability_pb2_grpc.AvailabilityServiceStub]) -> CachedTenantKeys:
    """Keys checked by asking availability (which owns them), for the other services."""

    async def resolve(key: str) -> Grant | None:
        reply = await availability().AuthenticateApiKey(
            availability_pb2.AuthenticateApiKeyRequest(key=key), timeout=SERVICE_TO_SERVICE
        )
        return Grant(reply.tenant_id, reply.patient_phones) if reply.tenant_id else None

    return CachedTenantKeys(resolve)


@dataclass(frozen=True)
class Caller:
    """Who is calling: the service token (tenant None) or one tenant's key."""

    tenant: str | None
    patient_phones: bool = False

    @property
    def sees_patient_phones(self) -> bool:
        """The service token always; a tenant key only when issued with `patient_phones`."""
        return self.tenant is None or self.patient_phones


# The credential of the RPC being served (each RPC runs in its own task), for servicers.
CALLER: ContextVar[Caller | None] = ContextVar("grpc_caller", default=None)


def current_caller() -> Caller | None:
    """Who called the RPC being served (None outside an authenticated RPC)."""
    return CALLER.get()


def request_tenant(request: Any) -> str | None:
    """The tenant a request names in its `tenant_id` field, or None when it has no such field."""
    descriptor = getattr(request, "DESCRIPTOR", None)
    if descriptor is None or "tenant_id" not in descriptor.fields_by_name:
        return None
    return str(request.tenant_id)


class AuthInterceptor(grpc.aio.ServerInterceptor):  # type: ignore[misc]
    def __init__(
        self, security: GrpcSecurity, keys: TenantKeys, service_only: frozenset[str] = frozenset(),
        redact: Redact | None = None,
    ) -> None:  # fmt: skip
        self.security = security
        self.keys = keys
        self.service_only = service_only
        self.redact = redact

    def shown(self, caller: Caller, reply: Any) -> Any:
        """The reply as this caller may see it."""
        if self.redact is None or caller.sees_patient_phones or reply is None:
            return reply
        return self.redact(reply)

    async def identify(self, credential: str) -> Caller | None:
        if not credential:
            return None
        if self.security.is_service_token(credential):
            return Caller(tenant=None)
        try:
            grant = await self.keys.grant_of(credential)
        except grpc.aio.AioRpcError as error:  # the key directory is down: refuse, don't guess
            log.warning("tenant key could not be checked", extra={"code": error.code().name})
            return None
        return Caller(tenant=grant.tenant, patient_phones=grant.patient_phones) if grant else None

    async def check(self, method: str, credential: str, request: Any, context: grpc.aio.ServicerContext) -> Caller:
        """Who calls, once allowed (aborts otherwise); kept for the servicer in CALLER."""
        caller = await self.identify(credential)
        if caller is None:
            await context.abort(grpc.StatusCode.UNAUTHENTICATED, "missing or invalid credential")
            raise AssertionError("unreachable")  # abort raises
        if caller.tenant is not None:
            if method in self.service_only:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, "this method needs the service token")
            if request_tenant(request) != caller.tenant:
                await context.abort(grpc.StatusCode.PERMISSION_DENIED, "tenant_id: not this key's tenant")
        CALLER.set(caller)
        return caller

    async def intercept_service(self, continuation: Continuation, details: grpc.HandlerCallDetails) -> Any:
        method: str = details.method
        credential = bearer(dict(details.invocation_metadata or ()))
        handler = await continuation(details)
        if handler is None or method.startswith(OPEN_PREFIXES):
            return handler
        if handler.unary_unary is not None:
            return self._unary(handler, method, credential)
        if handler.unary_stream is not None:
            return self._stream(handler, method, credential)
        return self._streaming_in(handler, method, credential)

    def _unary(self, handler: grpc.RpcMethodHandler, method: str, credential: str) -> grpc.RpcMethodHandler:
        inner = handler.unary_unary

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> Any:
            caller = await self.check(method, credential, request, context)
            result = inner(request, context)
            return self.shown(caller, await result if inspect.isawaitable(result) else result)

        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )

    def _stream(self, handler: grpc.RpcMethodHandler, method: str, credential: str) -> grpc.RpcMethodHandler:
        inner = handler.unary_stream

        async def behavior(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            caller = await self.check(method, credential, request, context)
            async for item in inner(request, context):
                yield self.shown(caller, item)

        return grpc.unary_stream_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer, response_serializer=handler.response_serializer
        )

    def _streaming_in(self, handler: grpc.RpcMethodHandler, method: str, credential: str) -> grpc.RpcMethodHandler:
        """Client-streaming and bidirectional methods: none exist yet, but one added later must not
        be open. There is no single request to read a tenant from, so only the service token passes."""
        inner = handler.stream_unary or handler.stream_stream

        async def check(context: grpc.aio.ServicerContext) -> None:
            await self.check(method, credential, None, context)

        if handler.stream_unary is not None:

            async def unary_out(requests: Any, context: grpc.aio.ServicerContext) -> Any:
                await check(context)
                result = inner(requests, context)
                return await result if inspect.isawaitable(result) else result

            return grpc.stream_unary_rpc_method_handler(
                unary_out, request_deserializer=handler.request_deserializer,
                response_serializer=handler.response_serializer,
            )  # fmt: skip

        async def stream_out(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            await check(context)
            async for item in inner(requests, context):
                yield item

        return grpc.stream_stream_rpc_method_handler(
            stream_out, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )  # fmt: skip
