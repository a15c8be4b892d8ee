"""Every process serves Prometheus metrics on its own port, and a booking moves the named series."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator

import aiohttp
import asyncpg
import pytest
from prometheus_client import REGISTRY
from prometheus_client.parser import text_string_to_metric_families

from devkit.processes import ROOT
from devkit.real_stack import MODULES, RealStack, running
from gateway.state import Metrics
from services.availability.clinic_file import load_clinic_file
from services.notification import metrics as notification_metrics
from services.reservation import metrics as reservation_metrics
from tests.functional.walkthrough import CALL_ID, CALLER, Walk

SECRET = "demo-secret-for-metrics-0123456789"
Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]


@pytest.fixture
async def local_stack(pool: asyncpg.Pool, database_url: str) -> AsyncIterator[RealStack]:
    """The four processes without Twilio credentials (the local SMS sender), the demo clinic loaded."""
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": SECRET})
    async with running(database_url, {}, clinic=config) as stack:
        yield stack


def metrics_port(stack: RealStack, name: str) -> int:
    announced = [json.loads(line) for line in stack.procs[name].lines if '"metrics port"' in line]
    assert len(announced) == 1, stack.procs[name].lines[-5:]
    port = int(announced[0]["port"])
    assert port != stack.procs[name].port
    return port


async def scrape(session: aiohttp.ClientSession, port: int) -> Samples:
    async with session.get(f"http://127.0.0.1:{port}/metrics") as reply:
        assert reply.status == 200
        text = await reply.text()
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sum of `name`'s samples whose labels include `labels` (0 when there are none)."""
    wanted = set(labels.items())
    return sum(v for (n, have), v in samples.items() if n == name and wanted <= have)


def has(samples: Samples, name: str) -> bool:
    return any(n == name for n, _ in samples)


RESERVATION = "booking.reservation.v1.ReservationService"
AVAILABILITY = "booking.availability.v1.AvailabilityService"


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_a_booking_moves_the_named_series_on_all_four_metrics_ports(local_stack: RealStack) -> None:
    ports = {name: metrics_port(local_stack, name) for name in MODULES}
    assert len(set(ports.values())) == 4
    async with aiohttp.ClientSession() as session:
        before = {name: await scrape(session, port) for name, port in ports.items()}
        booked = await Walk(local_stack.gateway_url, SECRET).book()
        after = {name: await scrape(session, port) for name, port in ports.items()}

    assert booked["appointment_id"]
    for name in MODULES:  # the standard process series, everywhere
        assert has(after[name], "process_cpu_seconds_total") and has(after[name], "python_info"), name
    gateway = after["gateway"]
    assert value(gateway, "gateway_tool_calls_total", tool="confirm_booking", outcome="ok") == 1
    assert value(gateway, "gateway_tool_call_seconds_count", tool="verify_otp") == 1

    def moved(name: str, series: str, **labels: str) -> float:
        return value(after[name], series, **labels) - value(before[name], series, **labels)

    assert moved("availability", "grpc_server_handled_total", grpc_service=AVAILABILITY, grpc_code="OK") > 0
    assert moved("availability", "grpc_server_handling_seconds_count", grpc_service=AVAILABILITY) > 0
    assert moved("reservation", "grpc_server_handled_total", grpc_method="ConfirmHold", grpc_code="OK") == 1
    assert moved("reservation", "grpc_server_handling_seconds_count", grpc_method="CreateHold") == 1
    assert moved("reservation", "reservation_bookings_made_total") == 1
    assert has(after["reservation"], "reservation_bookings_cancelled_total")
    assert value(after["reservation"], "reservation_holds_active") == 0  # the hold became the appointment
    assert moved("notification", "notification_sms_sent_total", sender="local") >= 1  # the code, at least
    assert moved("notification", "grpc_server_handled_total", grpc_method="EnqueueSms", grpc_code="OK") >= 1
    for name in ("reservation", "notification"):
        assert has(after[name], "outbox_backlog") and has(after[name], "outbox_oldest_age_seconds"), name
    replies = {("outbox_backlog", frozenset({("outbox", "notification-replies")})): 0.0}.items()
    assert replies <= after["notification"].items()  # patients' replies waiting for reservation: none


@pytest.mark.slow
async def test_dev_sms_is_404_when_a_real_sender_is_configured(pool: asyncpg.Pool, database_url: str) -> None:
    stack = RealStack.configure(
        database_url,
        {"TWILIO_ACCOUNT_SID": "AC" + "4" * 32, "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+12125550100"},
    )
    try:
        for name in ("notification", "gateway"):
            await stack.start(name)
        async with aiohttp.ClientSession() as session, session.get(f"{stack.gateway_url}/dev/sms") as reply:
            assert reply.status == 404
    finally:
        await stack.stop_all()


@pytest.mark.slow
@pytest.mark.timeout(120)
async def test_each_tool_call_logs_one_line_with_masked_caller_and_the_request_id_of_its_hops(
    local_stack: RealStack,
) -> None:
    async with aiohttp.ClientSession() as session:
        walk = Walk(local_stack.gateway_url, SECRET)
        await walk.call(session, "check_availability", {"date": "tomorrow"})
        calls = [{"id": "t2", "function": {"name": "no_such_tool"}}]
        unknown = {"message": {"type": "tool-calls", "toolCallList": calls}}
        headers = {"Authorization": f"Bearer {SECRET}"}
        async with session.post(f"{walk.url}/vapi/demo", json=unknown, headers=headers) as reply:
            assert "error" in (await reply.json())["results"][0]
    await asyncio.sleep(0.2)  # the log reader runs beside us
    lines = [json.loads(line) for line in local_stack.procs["gateway"].lines if '"tool call"' in line]
    assert [(line["tool"], line["outcome"]) for line in lines] == [
        ("check_availability", "ok"), ("no_such_tool", "unknown_tool"),
    ]  # fmt: skip
    checked = lines[0]
    assert checked["tenant"] == "demo" and checked["call_id"] == CALL_ID and checked["tool_call_id"] == "t1"
    assert checked["ms"] > 0 and checked["request_id"]
    assert checked["caller"] == "*********42"  # 11 digits, the last two kept
    everything = "\n".join(local_stack.procs["gateway"].lines)
    assert CALLER not in everything and CALLER[1:] not in everything  # the number is never logged whole
    hops = [json.loads(line) for line in local_stack.procs["availability"].lines if '"rpc"' in line]
    assert any(hop.get("request_id") == checked["request_id"] for hop in hops)  # one id across the hops


DASHBOARD = ROOT / "deploy" / "grafana" / "booking-dashboard.json"
PROMQL_WORDS = {"sum", "max", "min", "avg", "count", "rate", "irate", "increase", "histogram_quantile", "by", "without"}
SUFFIXES = {"counter": ("_total",), "histogram": ("_bucket", "_count", "_sum"), "gauge": ("",), "info": ("_info",)}


def exported_names() -> set[str]:
    """Every sample name our processes can export: the default registry (services, with their
    domain modules imported) and the gateway's own."""
    assert notification_metrics.SMS_SENT and reservation_metrics.HOLDS_ACTIVE  # imported: registered
    names: set[str] = set()
    for registry in (REGISTRY, Metrics().registry):
        for family in registry.collect():
            names |= {family.name + suffix for suffix in SUFFIXES.get(family.type, ("",))}
            names |= {sample.name for sample in family.samples}
    return names


def metric_names(expr: str) -> set[str]:
    """The metric names a PromQL expression reads (labels, ranges, strings and functions removed)."""
    bare = re.sub(r"\{[^}]*\}|\[[^\]]*\]|\b(by|without)\s*\([^)]*\)", " ", expr)
    return {word for word in re.findall(r"[a-zA-Z_:][a-zA-Z0-9_:]*", bare) if word not in PROMQL_WORDS}


def test_the_grafana_dashboard_is_valid_json_reading_only_exported_metrics() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    exprs = [target["expr"] for panel in dashboard["panels"] for target in panel["targets"]]
    used = set().union(*(metric_names(e) for e in exprs))
    assert {"grpc_server_handled_total", "outbox_backlog", "notification_sms_failed_total"} <= used
    assert used - exported_names() == set()
