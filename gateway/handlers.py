"""HTTP endpoints of the Vapi surface: `POST /vapi/{tenant}` and the seed system's tool URLs.
All shared state comes from the application's `web.AppKey`s (gateway/state.py)."""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import grpc
from aiohttp import web

from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE, TOOL
from common.logs import mask_phone
from common.phones import to_e164
from gateway import tools, vapi
from gateway.intake import BadJson, clean_text, decode
from gateway.replies import READ_ONLY, reply_key
from gateway.speech import language_of
from gateway.state import AUTH, BACKENDS, CLINICS, CLOCK, CONFIG, METRICS, REPLIES, SHARED_REPLIES

log = logging.getLogger("gateway.vapi")
TENANT = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")


class AuthUnavailable(Exception):
    """The credential could not be checked (the clinic directory is unreachable)."""

    def __init__(self, raw: bytes) -> None:
        super().__init__("authentication backend unavailable")
        self.raw = raw


def fallback_reply(raw: bytes) -> dict[str, Any] | None:
    """Nothing ran, but each tool call of the body still gets the "trouble reaching" result
    (None when the body holds no tool call to answer)."""
    try:
        message = vapi.parse(decode(raw))
    except (BadJson, vapi.ProtocolError):
        return None
    if not message.tool_calls:
        return None
    results = [tools.unavailable(language_of(c.arguments.get("language"))).to_json() for c in message.tool_calls]
    if message.legacy_function_call:
        return {"result": vapi.single_line(results[0])}
    return vapi.envelope([vapi.result_entry(c, result=r) for c, r in zip(message.tool_calls, results, strict=True)])


def unavailable_reply(raw: bytes) -> web.Response:
    """The credential is unchecked: Vapi still gets a 200 with something to say, others a 503."""
    reply = fallback_reply(raw)
    return web.json_response({}, status=503) if reply is None else web.json_response(reply)


def seed_unavailable() -> dict[str, Any]:
    down = tools.unavailable()
    return {"toolResult": {"content": down.to_json()}, "speech": down.speech}


# --- shared steps --------------------------------------------------------------------------------
async def authenticated_body(request: web.Request, tenant: str) -> Any:
    """Raw body (413 if too large) -> credential (401) -> JSON (400). Nothing runs before auth."""
    raw = await request.read()
    if not TENANT.fullmatch(tenant):
        raise web.HTTPUnauthorized()
    try:
        ok = await request.app[AUTH].authenticate(tenant, request.headers, raw)
    except grpc.aio.AioRpcError:
        raise AuthUnavailable(raw) from None
    if not ok:
        raise web.HTTPUnauthorized()
    try:
        return decode(raw)
    except BadJson as error:
        raise web.HTTPBadRequest(text=str(error)) from None


def parse_message(body: Any) -> vapi.ServerMessage:
    try:
        return vapi.parse(body)
    except vapi.ProtocolError as error:
        raise web.HTTPBadRequest(text=str(error)) from None


async def run_call(
    request: web.Request, tenant: str, message: vapi.ServerMessage, call: vapi.ToolCall
) -> dict[str, str]:
    """One tool call -> its `results` entry. A call with an id is answered once per id."""
    started = time.perf_counter()
    if call.problem is not None:
        log_tool_call(tenant, message, call, "malformed", started)
        return vapi.result_entry(call, error=call.problem)
    if call.name not in tools.TOOLS:
        log_tool_call(tenant, message, call, "unknown_tool", started)
        return vapi.result_entry(call, error=f"unknown tool {call.name[:64]!r}")
    metrics = request.app[METRICS]
    outcome = "replayed"  # stays so when the answer comes from an earlier delivery of this id

    # Calls without an id (seed flat bodies, a function-call outside a call) are never deduplicated.
    # Keyed by the call too: a tool-call id is unique only within its call.
    key = (tenant, reply_key(message.call_id, call.id))
    shared = request.app[SHARED_REPLIES] if call.id and call.name not in READ_ONLY else None

    async def run() -> tuple[str, bool]:
        nonlocal outcome
        result = await execute(request.app, tenant, message, call)
        outcome = "ok" if result.ok else str(result.data.get("cause", "refused"))
        metrics.tool_calls.labels(call.name, outcome).inc()
        keep = outcome != "BACKEND_UNAVAILABLE"
        reply = result.to_json()
        if shared is not None and keep:
            reply = await shared.keep(*key, reply)  # another replica may have answered first
        elif shared is not None and (kept := await shared.recall(*key)):
            outcome = "replayed"  # a retry that cannot run now, answered by a replica before
            return kept, True
        return reply, keep

    result = await request.app[REPLIES].get_or_run(key, run) if call.id else (await run())[0]
    metrics.tool_latency.labels(call.name).observe(time.perf_counter() - started)
    log_tool_call(tenant, message, call, outcome, started)
    return vapi.result_entry(call, result=result)


def log_tool_call(tenant: str, message: vapi.ServerMessage, call: vapi.ToolCall, outcome: str, started: float) -> None:
    """The one line per tool call (the request id is added by the formatter); the caller's
    number masked, arguments never logged (names, codes)."""
    log.info(
        "tool call",
        extra={
            "tenant": tenant, "call_id": message.call_id, "tool": call.name, "tool_call_id": call.id,
            "outcome": outcome, "ms": round((time.perf_counter() - started) * 1000, 2),
            "caller": mask_phone(message.customer_number),
        },
    )  # fmt: skip


async def run_calls(
    request: web.Request, tenant: str, message: vapi.ServerMessage, calls: list[vapi.ToolCall]
) -> list[dict[str, str]]:
    return list(await asyncio.gather(*(run_call(request, tenant, message, c) for c in calls)))


async def execute(
    app: web.Application, tenant: str, message: vapi.ServerMessage, call: vapi.ToolCall
) -> tools.ToolResult:
    asked = call.arguments.get("language")  # the caller's language; default the clinic's locale
    language = language_of(asked)
    try:
        async with asyncio.timeout(TOOL):
            clinic = await app[CLINICS].get(tenant)
            language = language_of(asked, clinic.language)
            caller = to_e164(message.customer_number, clinic.default_region) or ""
            context = tools.ToolContext(
                tenant=tenant, clinic=clinic, backends=app[BACKENDS], call_id=message.call_id,
                caller_number=caller, tool_call_id=call.id, now=app[CLOCK](), language=language,
            )  # fmt: skip
            return await tools.run_tool(context, call.name, call.arguments)
    except (TimeoutError, grpc.aio.AioRpcError):
        return tools.unavailable(language)


async def release_call_holds(app: web.Application, tenant: str, message: vapi.ServerMessage) -> None:
    if not message.call_id:
        return
    try:
        await app[BACKENDS].reservation.ReleaseCallHolds(
            rpb.ReleaseCallHoldsRequest(tenant_id=tenant, call_id=message.call_id), timeout=GATEWAY_TO_SERVICE
        )
    except grpc.aio.AioRpcError as error:  # holds then simply expire
        log.warning("could not release the call's holds", extra={"code": error.code().name})


# --- POST /vapi/{tenant} -------------------------------------------------------------------------
async def vapi_message(request: web.Request) -> web.Response:
    tenant = request.match_info["tenant"]
    try:
        body = await authenticated_body(request, tenant)
    except AuthUnavailable as error:
        return unavailable_reply(error.raw)
    message = parse_message(body)
    if message.tool_calls or message.type == "tool-calls":
        entries = await run_calls(request, tenant, message, message.tool_calls)
        if message.legacy_function_call:
            entry = entries[0]
            return web.json_response({"result": entry.get("result", entry.get("error", ""))})
        return web.json_response(vapi.envelope(entries))
    if message.type == "assistant-request":
        return await assistant_request(request, tenant)
    if message.type == "end-of-call-report" or (message.type == "status-update" and message.status == "ended"):
        await release_call_holds(request.app, tenant, message)
    return web.json_response({})


async def assistant_request(request: web.Request, tenant: str) -> web.Response:
    from gateway.assistant import assistant_reply  # keeps the tool catalogue off other paths

    try:
        clinic = await request.app[CLINICS].get(tenant)
    except grpc.aio.AioRpcError:
        raise web.HTTPServiceUnavailable() from None
    public = request.app[CONFIG].public_base_url
    url = f"{public.rstrip('/')}{request.path}" if public else str(request.url.with_query(None))
    return web.json_response(assistant_reply(clinic, url, request.app[CLOCK]()))


# --- the seed system's per-tool URLs -------------------------------------------------------------
SEED_FIELDS = ("tenantId", "tenant_id", "callId", "customerNumber", "toolCallId")  # not tool arguments


def seed_reply(entry: dict[str, str]) -> dict[str, Any]:
    """The seed system's reply shape: the result as `toolResult.content`, plus its sentence."""
    content = entry.get("result", entry.get("error", ""))
    try:
        sentence = str(decode(content).get("speech", "")) if "result" in entry else ""
    except (BadJson, AttributeError):
        sentence = ""
    return {"toolResult": {"content": content}, "speech": sentence}


def seed_tenant(request: web.Request, raw: bytes) -> str:
    """`?tenant=`, else the body's `tenantId` (read before auth, so only ever as a tenant name)."""
    tenant = request.query.get("tenant", "")
    if tenant or not raw:
        return tenant
    try:
        peek = decode(raw)
    except BadJson:
        return ""
    return str(peek.get("tenantId") or peek.get("tenant_id") or "") if isinstance(peek, dict) else ""


async def seed_envelope(request: web.Request, tenant: str, tool: str, body: dict[str, Any]) -> web.Response:
    """A Vapi envelope posted to a seed URL: its calls default to the URL's tool."""
    message = parse_message(body)
    calls = [
        vapi.ToolCall(
            c.id, tool if c.name in ("", tool) or c.name not in tools.TOOLS else c.name, c.arguments, c.problem
        )
        for c in message.tool_calls
    ] or [vapi.ToolCall("", tool, {})]
    entries = await run_calls(request, tenant, message, calls)
    return web.json_response({"results": entries, **seed_reply(entries[0])})


async def seed_flat(request: web.Request, tenant: str, tool: str, body: dict[str, Any]) -> web.Response:
    """The seed system's flat body: the tool's arguments next to a few envelope fields."""
    arguments, problem = vapi.parse_arguments({k: v for k, v in body.items() if k not in SEED_FIELDS})
    message = vapi.ServerMessage(
        type="tool-calls", call_id=seed_field(body, "callId"), customer_number=seed_field(body, "customerNumber")
    )
    call_id = seed_field(body, "toolCallId")
    if len(call_id) > vapi.MAX_ID_CHARS:
        problem = f"tool call id is longer than {vapi.MAX_ID_CHARS}"
    call = vapi.ToolCall(call_id, tool, arguments, problem)
    return web.json_response(seed_reply(await run_call(request, tenant, message, call)))


def seed_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name)
    return clean_text(str(value)) if value and isinstance(value, str | int) else ""


def seed_tool(tool: str) -> Callable[[web.Request], Awaitable[web.Response]]:
    async def handle(request: web.Request) -> web.Response:
        tenant = seed_tenant(request, await request.read())
        try:
            body = await authenticated_body(request, tenant)
        except AuthUnavailable:
            return web.json_response(seed_unavailable())
        if not isinstance(body, dict):
            raise web.HTTPBadRequest(text="body must be a JSON object")
        if isinstance(body.get("message"), dict):
            return await seed_envelope(request, tenant, tool, body)
        return await seed_flat(request, tenant, tool, body)

    return handle


SEED_ROUTES = {
    "/api/vapi/tools/calendar/check": "check_availability",
    "/api/vapi/tools/booking/reserve-atomic": "reserve_slot",
    "/api/vapi/tools/booking/send-otp": "send_otp",
    "/api/vapi/tools/booking/verify-otp": "verify_otp",
    "/api/vapi/tools/booking/send-confirmation": "send_confirmation",
}
VAPI_ROUTE = "/vapi/{tenant}"


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@web.middleware
async def vapi_safety_net(request: web.Request, handler: Handler) -> web.StreamResponse:
    """The last line on the Vapi routes: a bug still leaves the caller something to hear.
    A net, not the fix: the error is logged with its traceback."""
    try:
        return await handler(request)
    except web.HTTPException:
        raise
    except Exception:
        resource = request.match_info.route.resource
        route = resource.canonical if resource is not None else ""
        if route != VAPI_ROUTE and route not in SEED_ROUTES:
            raise
        log.exception("unexpected error on a Vapi route", extra={"route": route})
        if route in SEED_ROUTES:
            return web.json_response(seed_unavailable())
        reply = fallback_reply(await request.read())
        return web.json_response(reply or {"result": tools.unavailable().to_json()})


def add_routes(app: web.Application) -> None:
    app.router.add_post(VAPI_ROUTE, vapi_message)
    for path, tool in SEED_ROUTES.items():
        app.router.add_post(path, seed_tool(tool))
