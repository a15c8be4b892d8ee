"""Fuzzing the edge: random and mutated Vapi bodies, random arguments to every tool, posted to
the real gateway. Never a 5xx, never a non-JSON reply, never a line break in a result."""

from __future__ import annotations

import asyncio
import json
import logging
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import aiohttp
import asyncpg
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from devkit.real_stack import RealStack, running, twilio_settings
from devkit.twilio_fake import FakeTwilio
from gateway.tools import TOOLS
from services.availability.clinic_file import parse_clinic
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.booking import CLINIC
from tests.functional.fuzz_inputs import Generator, Probe, check_reply
from tests.functional.vapi_client import SECRET, gateway_client, load_demo

AUTH = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
scalars = st.one_of(
    st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), st.text(max_size=40),
    st.sampled_from(
        ["tomorrow", "next tuesday", "2026-02-30", "+12125550142", "12", "s1.x.y", "\n\r", "🙂", "' OR 1=1 --"]
    ),
)  # fmt: skip
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner, max_size=4),
    max_leaves=12,
)
argument_names = st.sampled_from(
    ["date", "from", "to", "service", "provider", "part_of_day", "limit", "slot_id", "start", "patient_name",
     "patient_phone", "phone", "code", "hold_id", "appointment_id", "reason"]
)  # fmt: skip
arguments = st.dictionaries(argument_names, json_values, max_size=5)
tool_call = st.fixed_dictionaries(
    {
        "id": st.one_of(st.text(min_size=1, max_size=20), st.integers(), st.none()),
        "type": st.just("function"),
        "function": st.fixed_dictionaries(
            {"name": st.one_of(st.sampled_from(sorted(TOOLS)), st.text(max_size=10)),
             "arguments": st.one_of(arguments, arguments.map(json.dumps), st.text(max_size=30))}
        ),
    }
)  # fmt: skip
messages = st.one_of(
    st.fixed_dictionaries(
        {"message": st.fixed_dictionaries(
            {"type": st.just("tool-calls"), "toolCallList": st.lists(tool_call, max_size=4),
             "call": st.fixed_dictionaries(
                 {"id": st.text(max_size=8), "customer": st.fixed_dictionaries({"number": scalars})}
             )}
        )}
    ),
    st.fixed_dictionaries(
        {"message": st.dictionaries(
            st.sampled_from(["type", "toolCalls", "toolCallList", "toolWithToolCallList", "call", "status"]),
            json_values,
        )}
    ),
    json_values,
)  # fmt: skip


@settings(
    max_examples=120, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow]
)
@given(body=messages)
async def test_random_bodies_never_break_the_edge(stack: Stack, clock: Clock, body: Any) -> None:
    await load_demo(stack, clock)  # unchanged after the first example: an upsert of the same file
    async with gateway_client(stack, clock) as client:
        await check(client, json.dumps(body).encode())
        await check(client, json.dumps(body).encode()[:-3])  # truncated


async def check(client: GatewayClient, raw: bytes) -> None:
    reply = await client.post("/vapi/demo", data=raw, headers=AUTH)
    text = await reply.text()
    assert reply.status < 500, text
    if reply.status == 200:
        parsed = json.loads(text)
        assert isinstance(parsed, dict)
        for entry in parsed.get("results", []):
            value = entry.get("result", entry.get("error"))
            assert isinstance(value, str) and "\n" not in value and "\r" not in value
            if "result" in entry:
                result = json.loads(entry["result"])
                assert isinstance(result["ok"], bool) and isinstance(result["speech"], str) and result["speech"]


# --- issue 14: a seeded flood of hostile requests and headers ----------------------------------------
FUZZ_SEED = 14
IN_PROCESS_REQUESTS = 10_000
REAL_STACK_REQUESTS = 1_000


async def flood(send: Callable[[Probe], Awaitable[tuple[int, str]]], probes: list[Probe], concurrency: int) -> None:
    gate = asyncio.Semaphore(concurrency)
    statuses: Counter[int] = Counter()

    async def one(probe: Probe) -> None:
        async with gate:
            status, text = await send(probe)
        check_reply(probe, status, text)
        statuses[status] += 1

    await asyncio.gather(*(one(p) for p in probes))
    # The flood reached every layer: refused by the HTTP parser or auth, refused as bad JSON, answered.
    assert statuses[200] > len(probes) // 10 and statuses[400] > 0 and statuses[401] > 0, statuses


@pytest.mark.timeout(150)
async def test_ten_thousand_generated_requests_never_get_a_5xx(
    stack: Stack, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    await load_demo(stack, clock)
    caplog.set_level(logging.ERROR, logger="gateway")
    async with gateway_client(stack, clock, twilio_auth_token="twilio-token") as client:

        async def send(probe: Probe) -> tuple[int, str]:
            reply = await client.request(probe.method, probe.path, data=probe.body, headers=probe.headers)
            return reply.status, await reply.text()

        await flood(send, list(Generator(FUZZ_SEED, SECRET).probes(IN_PROCESS_REQUESTS)), concurrency=16)
    # The safety net is for bugs not yet found: none of these inputs may need it.
    assert [r.getMessage() for r in caplog.records if r.exc_info and r.name.startswith("gateway")] == []


@pytest.fixture
async def real(pool: asyncpg.Pool, database_url: str, twilio: FakeTwilio) -> AsyncIterator[RealStack]:
    """The four processes, as `python -m ...` runs them, with one clinic loaded."""
    async with running(database_url, twilio_settings(twilio.url), clinic=parse_clinic(CLINIC, {})) as stack:
        yield stack


@pytest.mark.slow
@pytest.mark.timeout(150)
async def test_a_thousand_generated_requests_against_the_real_processes(real: RealStack) -> None:
    probes = list(
        Generator(FUZZ_SEED + 1, str(CLINIC["secret"]), tenant=str(CLINIC["tenant_id"])).probes(REAL_STACK_REQUESTS)
    )
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:

        async def send(probe: Probe) -> tuple[int, str]:
            url = real.gateway_url + probe.path
            async with session.request(probe.method, url, data=probe.body, headers=probe.headers) as reply:
                return reply.status, await reply.text()

        await flood(send, probes, concurrency=8)
    gateway = real.procs["gateway"]
    assert gateway.process.returncode is None
    assert [line for line in gateway.lines if "unexpected error" in line] == []


@pytest.mark.slow
async def test_the_gateway_process_announces_and_serves_its_metrics_port(real: RealStack) -> None:
    announced = [json.loads(line) for line in real.procs["gateway"].lines if '"metrics port"' in line]
    assert len(announced) == 1 and announced[0]["port"] != real.procs["gateway"].port
    async with aiohttp.ClientSession() as session:
        async with session.get(f"http://127.0.0.1:{announced[0]['port']}/metrics") as private:
            assert private.status == 200 and "gateway_http_requests_total" in await private.text()
        async with session.get(f"{real.gateway_url}/metrics") as public:
            assert public.status == 404
