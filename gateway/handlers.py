"""HTTP endpoints of the Vapi surface: `POST /vapi/{tenant}` and the seed system's tool URLs."""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from booking.reservation.v1 import reservation_pb2 as rpb
from common.phones import to_e164
from common.timestamps import Clock, utc_now
from gateway import tools, vapi
from gateway.auth import TenantAuth
from gateway.clinics import ClinicDirectory
from gateway.state import BACKENDS, CONFIG, METRICS, Backends

log = logging.getLogger("gateway.vapi")
TENANT = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TOOL_DEADLINE_SECONDS = 4.5  # the whole reply stays far inside Vapi's 20 s tool timeout
REPLY_CACHE_SECONDS = 3600.0
REPLY_CACHE_SIZE = 20_000


class ReplyCache:
    """tenant + toolCallId -> the first reply, so a Vapi retry gets the same bytes and no second
    side effect. Concurrent duplicates share one run. (Reservation also dedupes by the same key,
    so this holds across gateway instances and restarts too.)"""

    def __init__(self) -> None:
        self._entries: dict[tuple[str, str], tuple[float, asyncio.Future[str]]] = {}

    async def get_or_run(self, key: tuple[str, str], run: Callable[[], Awaitable[tuple[str, bool]]]) -> str:
        now = time.monotonic()
        entry = self._entries.get(key)
        if entry is not None and now - entry[0] < REPLY_CACHE_SECONDS:
            return await asyncio.shield(entry[1])
        future: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        self._entries[key] = (now, future)
        try:
            result, keep = await run()
        except BaseException as error:
            self._entries.pop(key, None)
            future.set_exception(error)
            future.exception()  # retrieved: waiters re-raise it, nobody logs "never retrieved"
            raise
        future.set_result(result)
        if not keep:
            self._entries.pop(key, None)  # a fault: let a retry try again
        if len(self._entries) > REPLY_CACHE_SIZE:
            for old in sorted(self._entries, key=lambda k: self._entries[k][0])[: REPLY_CACHE_SIZE // 10]:
                self._entries.pop(old, None)
        return result


class AuthUnavailable(Exception):
    """The credential could not be checked (the clinic directory is unreachable)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__("authentication backend unavailable")
        self.raw = raw


def unavailable_reply(raw: bytes) -> web.Response:
    """Nothing ran (the credential is unchecked), but Vapi still gets a 200 with something to say."""
    try:
        message = vapi.parse(json.loads(raw.decode("utf-8")))
    except (UnicodeDecodeError, json.JSONDecodeError, vapi.ProtocolError):
        return web.json_response({}, status=503)
    if not message.tool_calls:
        return web.json_response({}, status=503)
    result = tools.refuse(tools.UNAVAILABLE_SPEECH, "BACKEND_UNAVAILABLE").to_json()
    return web.json_response(vapi.envelope([vapi.result_entry(c, result=result) for c in message.tool_calls]))


class VapiHandlers:
    def __init__(self, auth: TenantAuth, clinics: ClinicDirectory, clock: Clock = utc_now) -> None:
        self.auth = auth
        self.clinics = clinics
        self.clock = clock
        self.replies = ReplyCache()

    # --- shared steps --------------------------------------------------------------------------
    async def _authenticated_body(self, request: web.Request, tenant: str) -> Any:
        """Raw body (413 if too large) -> credential (401) -> JSON (400). Nothing runs before auth."""
        raw = await request.read()
        if not TENANT.match(tenant):
            raise web.HTTPUnauthorized()
        try:
            ok = await self.auth.authenticate(tenant, request.headers, raw)
        except grpc.aio.AioRpcError:
            raise AuthUnavailable(raw) from None
        if not ok:
            raise web.HTTPUnauthorized()
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise web.HTTPBadRequest(text="body must be JSON") from None

    async def _run_call(
        self, request: web.Request, tenant: str, message: vapi.ServerMessage, call: vapi.ToolCall
    ) -> dict[str, str]:
        """One tool call -> its `results` entry. A call with an id is answered once per id."""
        if call.problem is not None:
            return vapi.result_entry(call, error=call.problem)
        if call.name not in tools.TOOLS:
            return vapi.result_entry(call, error=f"unknown tool {call.name[:64]!r}")
        metrics = request.app[METRICS]
        started = time.perf_counter()

        async def run() -> tuple[str, bool]:
            result = await self._execute(request.app[BACKENDS], tenant, message, call)
            outcome = "ok" if result.ok else result.data.get("cause", "refused")
            metrics.tool_calls.labels(call.name, str(outcome)).inc()
            return result.to_json(), outcome != "BACKEND_UNAVAILABLE"

        # Only the seed URLs' flat bodies can come without an id; those are not deduplicated.
        result = await self.replies.get_or_run((tenant, call.id), run) if call.id else (await run())[0]
        metrics.tool_latency.labels(call.name).observe(time.perf_counter() - started)
        return vapi.result_entry(call, result=result)

    async def _execute(
        self, backends: Backends, tenant: str, message: vapi.ServerMessage, call: vapi.ToolCall
    ) -> tools.ToolResult:
        try:
            async with asyncio.timeout(TOOL_DEADLINE_SECONDS):
                clinic = await self.clinics.get(tenant)
                caller = to_e164(message.customer_number, clinic.default_region) or ""
                context = tools.ToolContext(
                    tenant=tenant, clinic=clinic, backends=backends, call_id=message.call_id,
                    caller_number=caller, tool_call_id=call.id, now=self.clock(),
                )  # fmt: skip
                return await tools.run_tool(context, call.name, call.arguments)
        except (TimeoutError, grpc.aio.AioRpcError):
            return tools.refuse(tools.UNAVAILABLE_SPEECH, "BACKEND_UNAVAILABLE")

    async def _release_call_holds(self, backends: Backends, tenant: str, message: vapi.ServerMessage) -> None:
        if not message.call_id:
            return
        try:
            await backends.reservation.ReleaseCallHolds(
                rpb.ReleaseCallHoldsRequest(tenant_id=tenant, call_id=message.call_id), timeout=3.0
            )
        except grpc.aio.AioRpcError as error:  # holds then simply expire
            log.warning("could not release the call's holds", extra={"code": error.code().name})

    # --- POST /vapi/{tenant} ---------------------------------------------------------------------
    async def vapi_message(self, request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        try:
            body = await self._authenticated_body(request, tenant)
        except AuthUnavailable as error:
            return unavailable_reply(error.raw)
        try:
            message = vapi.parse(body)
        except vapi.ProtocolError as error:
            raise web.HTTPBadRequest(text=str(error)) from None
        if message.tool_calls or message.type == "tool-calls":
            entries = await asyncio.gather(*(self._run_call(request, tenant, message, c) for c in message.tool_calls))
            if message.legacy_function_call:
                entry = entries[0]
                return web.json_response({"result": entry.get("result", entry.get("error", ""))})
            return web.json_response(vapi.envelope(entries))
        if message.type == "assistant-request":
            from gateway.assistant import assistant_reply  # keeps the tool catalogue off other paths

            try:
                clinic = await self.clinics.get(tenant)
            except grpc.aio.AioRpcError:
                raise web.HTTPServiceUnavailable() from None
            public = request.app[CONFIG].public_base_url
            url = f"{public.rstrip('/')}{request.path}" if public else str(request.url.with_query(None))
            return web.json_response(assistant_reply(clinic, url, self.clock()))
        if message.type == "end-of-call-report" or (message.type == "status-update" and message.status == "ended"):
            await self._release_call_holds(request.app[BACKENDS], tenant, message)
        return web.json_response({})

    # --- the seed system's per-tool URLs --------------------------------------------------------
    def seed_tool(self, tool: str) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def handle(request: web.Request) -> web.Response:
            raw = await request.read()
            try:
                peek = json.loads(raw.decode("utf-8")) if raw else {}
            except (UnicodeDecodeError, json.JSONDecodeError):
                peek = None
            tenant = request.query.get("tenant", "")
            if isinstance(peek, dict) and not tenant:
                tenant = str(peek.get("tenantId") or peek.get("tenant_id") or "")
            try:
                body = await self._authenticated_body(request, tenant)
            except AuthUnavailable:
                down = tools.refuse(tools.UNAVAILABLE_SPEECH, "BACKEND_UNAVAILABLE")
                return web.json_response({"toolResult": {"content": down.to_json()}, "speech": down.speech})
            if not isinstance(body, dict):
                raise web.HTTPBadRequest(text="body must be a JSON object")
            if isinstance(body.get("message"), dict):
                try:
                    message = vapi.parse(body)
                except vapi.ProtocolError as error:
                    raise web.HTTPBadRequest(text=str(error)) from None
                calls = [
                    vapi.ToolCall(
                        c.id,
                        tool if c.name in ("", tool) or c.name not in tools.TOOLS else c.name,
                        c.arguments,
                        c.problem,
                    )
                    for c in message.tool_calls
                ] or [vapi.ToolCall("", tool, {})]
                entries = await asyncio.gather(*(self._run_call(request, tenant, message, c) for c in calls))
                return web.json_response({"results": entries, **seed_reply(entries[0])})
            arguments = {k: v for k, v in body.items() if k not in SEED_FIELDS}
            message = vapi.ServerMessage(
                type="tool-calls",
                call_id=str(body.get("callId") or ""),
                customer_number=str(body.get("customerNumber") or ""),
            )
            call = vapi.ToolCall(str(body.get("toolCallId") or ""), tool, arguments)
            return web.json_response(seed_reply(await self._run_call(request, tenant, message, call)))

        return handle


SEED_FIELDS = ("tenantId", "tenant_id", "callId", "customerNumber", "toolCallId")  # not tool arguments


def seed_reply(entry: dict[str, str]) -> dict[str, Any]:
    """The seed system's reply shape: the result as `toolResult.content`, plus its sentence."""
    content = entry.get("result", entry.get("error", ""))
    try:
        sentence = str(json.loads(content).get("speech", "")) if "result" in entry else ""
    except (json.JSONDecodeError, AttributeError):
        sentence = ""
    return {"toolResult": {"content": content}, "speech": sentence}


SEED_ROUTES = {
    "/api/vapi/tools/calendar/check": "check_availability",
    "/api/vapi/tools/booking/reserve-atomic": "reserve_slot",
    "/api/vapi/tools/booking/send-otp": "send_otp",
    "/api/vapi/tools/booking/verify-otp": "verify_otp",
    "/api/vapi/tools/booking/send-confirmation": "send_confirmation",
}


def add_routes(app: web.Application, handlers: VapiHandlers) -> None:
    app.router.add_post("/vapi/{tenant}", handlers.vapi_message)
    for path, tool in SEED_ROUTES.items():
        app.router.add_post(path, handlers.seed_tool(tool))
