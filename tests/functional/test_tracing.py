"""OpenTelemetry across the four real processes: one tool call is one trace through the gateway,
every gRPC hop and the database; with nothing configured, nothing is traced or exported."""

from __future__ import annotations

import asyncio
import json
from contextlib import AbstractAsyncContextManager

import aiohttp
import asyncpg
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.grpc_client import open_channel
from devkit.otlp_collector import Collector, Span, collecting
from devkit.processes import ROOT
from devkit.real_stack import RealStack, running
from services.availability.clinic_file import load_clinic_file
from tests.functional.walkthrough import Walk

SECRET = "demo-secret-for-tracing-0123456789"
RESERVATION = "booking.reservation.v1.ReservationService"
AVAILABILITY = "booking.availability.v1.AvailabilityService"
GRPC = "opentelemetry.instrumentation.grpc"
ASYNCPG = "opentelemetry.instrumentation.asyncpg"
AIOHTTP = "opentelemetry.instrumentation.aiohttp_server"


def demo_stack(database_url: str, env: dict[str, str]) -> AbstractAsyncContextManager[RealStack]:
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": SECRET})
    return running(database_url, env, clinic=config)


def logged(stack: RealStack, name: str, message: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in stack.procs[name].lines if f'"msg": "{message}"' in line]


def rpc(spans: list[Span], service: str, kind: str, method: str) -> list[Span]:
    return [
        s for s in spans if s.service == service and s.kind == kind and s.scope.startswith(GRPC) and method in s.name
    ]


async def reserve_one_slot(stack: RealStack, collector: Collector | None) -> tuple[dict[str, object], str]:
    """check_availability (to find a slot), then the one reserve_slot call under test: its result
    and the request id of its log line."""
    walk = Walk(stack.gateway_url, SECRET)
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
        slot_id = await walk.first_open_slot(session)
        await asyncio.sleep(0.3)  # the checks' spans are exported; only the reservation's are looked at
        if collector is not None:
            collector.spans.clear()
        held = await walk.call(session, "reserve_slot", {"slot_id": slot_id, "patient_name": "Ada Lovelace"})
    await asyncio.sleep(0.2)  # the log reader runs beside us
    lines = [line for line in logged(stack, "gateway", "tool call") if line["tool"] == "reserve_slot"]
    assert len(lines) == 1, lines
    return held, str(lines[0]["request_id"])


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_one_tool_call_is_one_trace_through_gateway_grpc_and_postgres(
    pool: asyncpg.Pool, database_url: str
) -> None:
    async with collecting() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}
        async with demo_stack(database_url, env) as stack:
            held, request_id = await reserve_one_slot(stack, collector)
            assert held["ok"], held
            spans = await collector.wait_for(request_id, {"gateway", "reservation", "availability"})
            rpc_lines = logged(stack, "reservation", "rpc")

    # The request id the gateway made is the trace id; the reservation's log lines carry it too.
    assert len(request_id) == 32
    create_hold = [line for line in rpc_lines if str(line["method"]).endswith("/CreateHold")]
    assert [(line["request_id"], line["trace_id"]) for line in create_hold] == [(request_id, request_id)]

    # Everything exported since the call is this one trace: gateway → reservation → availability.
    assert {s.trace_id for s in collector.spans} == {request_id}, {(s.service, s.name) for s in collector.spans}
    roots = [s for s in spans if not s.parent_id]
    assert [(r.service, r.scope, r.kind) for r in roots] == [("gateway", AIOHTTP, "server")]
    assert roots[0].attributes.get("http.route", roots[0].name).endswith("/vapi/{tenant}") or "/vapi/" in roots[0].name
    gateway_out = rpc(spans, "gateway", "client", f"{RESERVATION}/CreateHold")
    hold_in = rpc(spans, "reservation", "server", f"{RESERVATION}/CreateHold")
    validate_out = rpc(spans, "reservation", "client", f"{AVAILABILITY}/ValidateSlot")
    validate_in = rpc(spans, "availability", "server", f"{AVAILABILITY}/ValidateSlot")
    assert len(gateway_out) == len(hold_in) == len(validate_out) == len(validate_in) == 1, spans
    # Each hop is the child of the one before it: one tree, not four traces glued by an id.
    assert hold_in[0].parent_id == gateway_out[0].span_id
    assert validate_out[0].parent_id != "" and validate_in[0].parent_id == validate_out[0].span_id
    by_id = {s.span_id: s for s in spans}

    def under(span: Span, ancestor: Span) -> bool:
        while span.parent_id in by_id:
            span = by_id[span.parent_id]
            if span.span_id == ancestor.span_id:
                return True
        return False

    queries = [s for s in spans if s.scope.startswith(ASYNCPG)]
    # (availability answers ValidateSlot from the clinic it holds in memory: no query of its own)
    assert {s.service for s in queries} == {"reservation"}
    assert all(
        s.kind == "client" and s.attributes.get("db.system", s.attributes.get("db.system.name")) for s in queries
    )
    # Each query is under the reservation RPC that ran it: the hold, and the reply kept for a retry.
    servers = [s for s in spans if s.service == "reservation" and s.kind == "server"]
    assert all(any(under(q, server) for server in servers) for q in queries)
    assert {"BEGIN;", "INSERT", "COMMIT;"} <= {q.name for q in queries if under(q, hold_in[0])}  # the hold is written
    assert all(under(s, roots[0]) for s in spans if s is not roots[0])
    # Query parameters never reach a span (patient data): only the statement text.
    assert not any("Ada" in value for s in spans for value in s.attributes.values())


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_with_nothing_configured_nothing_is_traced_and_calls_work(pool: asyncpg.Pool, database_url: str) -> None:
    async with collecting() as collector:
        # Disabled wins over an endpoint: the same stack would export if it were not there.
        env = {
            "OTEL_SDK_DISABLED": "true",
            "OTEL_EXPORTER_OTLP_ENDPOINT": collector.url,
            "OTEL_BSP_SCHEDULE_DELAY": "50",
        }
        async with demo_stack(database_url, env) as stack:
            held, _ = await reserve_one_slot(stack, None)
            await asyncio.sleep(0.5)
            lines = [line for name in stack.procs for line in stack.procs[name].lines]
        assert held["ok"], held
        assert collector.requests == 0 and collector.spans == []
    async with demo_stack(database_url, {}) as stack:  # no OTEL_* at all
        held, request_id = await reserve_one_slot(stack, None)
        lines += [line for name in stack.procs for line in stack.procs[name].lines]
    assert held["ok"], held
    assert len(request_id) == 32  # request ids as before, random
    assert not any('"trace_id"' in line or '"msg": "tracing"' in line for line in lines)


async def _gateway_span(collector: Collector, route_part: str, timeout: float = 10.0) -> list[Span]:
    """Every span exported once the gateway's server span of a request to `route_part` is in."""
    async with asyncio.timeout(timeout):
        while True:
            collector.arrived.clear()
            if any(s.service == "gateway" and s.kind == "server" and route_part in s.name for s in collector.spans):
                break
            await collector.arrived.wait()
    await asyncio.sleep(0.3)  # the services' batches may trail the gateway's
    return list(collector.spans)


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_calendar_feed_token_in_the_query_string_reaches_no_span(pool: asyncpg.Pool, database_url: str) -> None:
    """The feed's token is its only credential and travels in the URL: no span records the query."""
    async with collecting() as collector:
        env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url, "OTEL_BSP_SCHEDULE_DELAY": "50"}
        async with demo_stack(database_url, env) as stack:
            async with open_channel(stack.env["AVAILABILITY_ADDR"]) as channel:
                issued = await availability_pb2_grpc.AvailabilityServiceStub(channel).IssueFeedToken(
                    apb.IssueFeedTokenRequest(tenant_id="demo", provider_id="dr-lee")
                )
            url = f"{stack.gateway_url}/ics/demo/dr-lee.ics?token={issued.token}&date=2026-11-24"
            async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
                async with session.get(url) as reply:
                    assert reply.status == 200, await reply.text()
            spans = await _gateway_span(collector, "/ics/")
    server = [s for s in spans if s.service == "gateway" and s.kind == "server" and "/ics/" in s.name]
    assert len(server) == 1 and server[0].attributes.get("http.route") == "/ics/{tenant}/{provider}.ics"
    recorded = [(s.name, key, value) for s in spans for key, value in [("name", s.name), *s.attributes.items()]]
    assert not [r for r in recorded if issued.token in r[2]], recorded
    assert not [r for r in recorded if "token=" in r[2] or "date=" in r[2]], recorded  # no query string at all
