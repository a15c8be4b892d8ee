"""The Vapi surface through the real gateway: every message shape, auth, limits, concurrency,
idempotency, call end, the seed URLs and a backend going away."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import io
import json
import time
from typing import Any

import asyncpg
import pytest

from booking.availability.v1 import availability_pb2 as apb
from services.availability.clinic_file import parse_clinic
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.test_gateway_health import scrape
from tests.functional.vapi_client import SECRET, call_tool, gateway_client, load_demo, tool_calls
from tests.unit.clinics import clinic_dict

AUTH = {"Authorization": f"Bearer {SECRET}"}
CHECK = {"type": "function", "function": {"name": "check_availability", "arguments": {"date": "tomorrow"}}}


@pytest.fixture
async def client(stack: Stack, clock: Clock) -> Any:
    await load_demo(stack, clock)
    async with gateway_client(stack, clock) as client:
        yield client


async def post(
    client: GatewayClient, body: Any, headers: dict[str, str] | None = None, raw: bytes | None = None
) -> tuple[int, Any]:
    reply = await client.post(
        "/vapi/demo",
        data=raw if raw is not None else json.dumps(body),
        headers={**AUTH, **(headers or {}), "Content-Type": "application/json"},
    )
    text = await reply.text()
    try:
        return reply.status, json.loads(text)
    except json.JSONDecodeError:
        return reply.status, text


def msg(**fields: Any) -> dict[str, Any]:
    return {"message": {"type": "tool-calls", "call": {"id": "c1", "customer": {"number": "+12125550142"}}, **fields}}


SHAPES = [
    ("toolCallList", msg(toolCallList=[{"id": "a", **CHECK}])),
    ("toolCalls", msg(toolCalls=[{"id": "a", **CHECK}])),
    ("toolWithToolCallList", msg(toolWithToolCallList=[{"type": "function", "toolCall": {"id": "a", **CHECK}}])),
    (
        "flat name and arguments",
        msg(toolCallList=[{"id": "a", "name": "check_availability", "arguments": {"date": "tomorrow"}}]),
    ),
    (
        "arguments as a JSON string",
        msg(
            toolCallList=[{"id": "a", "function": {"name": "check_availability", "arguments": '{"date": "tomorrow"}'}}]
        ),
    ),
    (
        "parameters instead of arguments",
        msg(toolCallList=[{"id": "a", "name": "check_availability", "parameters": {"date": "tomorrow"}}]),
    ),
    (
        "customer at message level",
        {
            "message": {
                "type": "tool-calls",
                "customer": {"number": "2125550142"},
                "toolCallList": [{"id": "a", **CHECK}],
            }
        },
    ),
]


@pytest.mark.parametrize(("shape", "body"), SHAPES, ids=[s for s, _ in SHAPES])
async def test_every_tool_call_shape_is_answered(client: GatewayClient, shape: str, body: dict[str, Any]) -> None:
    status, reply = await post(client, body)
    assert status == 200
    assert [r["toolCallId"] for r in reply["results"]] == ["a"]
    result = json.loads(reply["results"][0]["result"])
    assert result["ok"] and result["slots"], shape


async def test_several_calls_run_concurrently_and_are_answered_in_order(client: GatewayClient) -> None:
    calls: list[dict[str, Any]] = [{"id": f"call_{n}", **CHECK} for n in range(5)]
    calls.append({"id": "x", "function": {"name": "nope"}})
    calls.insert(2, {"id": 42, "function": {"name": "find_appointments", "arguments": {}}})
    status, reply = await post(client, msg(toolCallList=calls))
    assert status == 200
    assert [r["toolCallId"] for r in reply["results"]] == ["call_0", "call_1", "42", "call_2", "call_3", "call_4", "x"]
    assert "error" in reply["results"][-1] and "result" not in reply["results"][-1]
    assert all("\n" not in (r.get("result") or r.get("error")) for r in reply["results"])


async def test_legacy_function_call(client: GatewayClient) -> None:
    status, reply = await post(
        client,
        {
            "message": {
                "type": "function-call",
                "functionCall": {"name": "check_availability", "parameters": {"date": "tomorrow"}},
            }
        },
    )
    assert status == 200 and json.loads(reply["result"])["ok"]


GARBAGE: list[tuple[str, Any, bytes | None, int]] = [
    ("no message", {"hello": 1}, None, 400),
    ("message not an object", {"message": "x"}, None, 400),
    ("toolCallList not a list", msg(toolCallList={"id": "a"}), None, 400),
    ("not JSON", None, b"{nope", 400),
    ("not UTF-8", None, b'{"message": "\xff\xfe"}', 400),
    ("a JSON list", [1, 2], None, 400),
    ("unknown message type", {"message": {"type": "speech-update"}}, None, 200),
    ("empty tool call list", msg(toolCallList=[]), None, 200),
]


@pytest.mark.parametrize(("case", "body", "raw", "expected"), GARBAGE, ids=[g[0] for g in GARBAGE])
async def test_garbage_is_400_or_a_well_formed_200(
    client: GatewayClient, case: str, body: Any, raw: bytes | None, expected: int
) -> None:
    status, reply = await post(client, body, raw=raw)
    assert status == expected, reply
    if status == 200:
        assert isinstance(reply, dict)


@pytest.mark.parametrize(
    "item",
    [
        {"id": "a", "function": {"name": "check_availability", "arguments": "{not json"}},
        {"id": "a", "function": {"name": "check_availability", "arguments": "x" * 10_000}},
        {"id": "a", "function": {"name": "check_availability", "arguments": "[1, 2]"}},
        {"id": "a", "function": {"name": "teleport"}},
        {"id": "a", "function": {}},
        {"function": {"name": "check_availability"}},
    ],
)
async def test_a_malformed_call_gets_an_error_entry(client: GatewayClient, item: dict[str, Any]) -> None:
    status, reply = await post(client, msg(toolCallList=[item, {"id": "ok", **CHECK}]))
    assert status == 200
    bad, good = reply["results"]
    assert "error" in bad and "\n" not in bad["error"]
    assert json.loads(good["result"])["ok"]


async def test_missing_argument_asks_the_caller(client: GatewayClient) -> None:
    result = await call_tool(client, "verify_otp", {})
    assert not result["ok"] and result["cause"] == "MISSING_ARGUMENT" and result["speech"].endswith("?")
    result = await call_tool(client, "reserve_slot", {}, tool_call_id="t2")
    assert not result["ok"] and "Which time" in result["speech"]
    result = await call_tool(client, "check_availability", {"date": "blursday"}, tool_call_id="t3")
    assert not result["ok"] and result["field"] == "date" and "didn't catch the date" in result["speech"]
    result = await call_tool(client, "check_availability", {"service": "haircut"}, tool_call_id="t4")
    assert result["cause"] == "UNKNOWN_SERVICE" and "a dental cleaning" in result["speech"]


# --- auth ----------------------------------------------------------------------------------------
def sign(body: bytes, timestamp: int, key: str = SECRET) -> dict[str, str]:
    signature = hmac.new(key.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256).hexdigest()
    return {"x-signature": signature, "x-timestamp": str(timestamp)}


async def test_auth_table(stack: Stack, client: GatewayClient, pool: asyncpg.Pool) -> None:
    other = clinic_dict(tenant_id="other", secret="other-secret-0123456789")
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(other, {})))
    found = await call_tool(client, "check_availability", {"date": "tomorrow"})
    body = json.dumps(tool_calls(("r1", "reserve_slot", {"slot_id": found["slots"][0]["slot_id"]}))).encode()
    now = int(time.time())
    cases = [
        ({}, 401),
        ({"Authorization": "Bearer wrong"}, 401),
        ({"Authorization": "Bearer other-secret-0123456789"}, 401),  # another tenant's secret
        ({"X-Vapi-Secret": "wrong"}, 401),
        ({"Authorization": "Basic " + SECRET}, 401),
        (sign(body, now, key="0" * 64), 401),
        (sign(body, now, key=hashlib.sha256(SECRET.encode()).hexdigest()), 401),  # a digest of it is not the key
        (sign(body, now - 600), 401),  # stale
        (sign(body + b" ", now), 401),  # body changed after signing
    ]
    for headers, expected in cases:
        reply = await client.post("/vapi/demo", data=body, headers=headers)
        assert reply.status == expected, headers
        assert await reply.text() in ("401: Unauthorized", "")  # no detail
    assert await pool.fetchval("SELECT count(*) FROM reservation.reservations") == 0  # nothing ran
    for headers in ({"X-Vapi-Secret": SECRET}, sign(body, now), sign(body, now * 1000)):
        await pool.execute("UPDATE reservation.reservations SET status = 'RELEASED' WHERE status = 'HELD'")
        reply = await client.post("/vapi/demo", data=body, headers={**headers})
        assert reply.status == 200
    assert (await client.post("/vapi/nobody", data=body, headers=AUTH)).status == 401
    assert (await client.post("/vapi/Not_A_Slug", data=body, headers=AUTH)).status == 401


async def test_two_megabyte_body_is_413(client: GatewayClient) -> None:
    reply = await client.post("/vapi/demo", data=io.BytesIO(b"{" + b" " * 2_000_000 + b"}"), headers=AUTH)
    assert reply.status == 413


# --- concurrency, idempotency, call end ---------------------------------------------------------
async def test_thirty_callers_reserving_one_slot_exactly_one_ok(client: GatewayClient, pool: asyncpg.Pool) -> None:
    found = await call_tool(client, "check_availability", {"date": "tomorrow"})
    slot_id = found["slots"][0]["slot_id"]
    results = await asyncio.gather(
        *(
            call_tool(
                client,
                "reserve_slot",
                {"slot_id": slot_id},
                tool_call_id=f"r{n}",
                call_id=f"call-{n}",
                caller=f"+1212555{n:04d}",
            )
            for n in range(30)
        )
    )
    assert sum(r["ok"] for r in results) == 1
    losers = [r for r in results if not r["ok"]]
    assert {r["cause"] for r in losers} == {"SLOT_UNAVAILABLE"}
    assert all("just taken" in r["speech"] for r in losers)
    assert await pool.fetchval("SELECT count(*) FROM reservation.reservations WHERE status = 'HELD'") == 1


async def test_same_tool_call_id_twice_is_byte_identical_with_one_hold(
    client: GatewayClient, pool: asyncpg.Pool
) -> None:
    found = await call_tool(client, "check_availability", {"date": "tomorrow"})
    body = json.dumps(tool_calls(("retry-me", "reserve_slot", {"slot_id": found["slots"][0]["slot_id"]})))
    first = await client.post("/vapi/demo", data=body, headers=AUTH)
    second = await client.post("/vapi/demo", data=body, headers=AUTH)
    assert await first.read() == await second.read()
    concurrent = await asyncio.gather(*(client.post("/vapi/demo", data=body, headers=AUTH) for _ in range(5)))
    assert len({await r.read() for r in concurrent} | {await first.read()}) == 1
    assert await pool.fetchval("SELECT count(*) FROM reservation.reservations") == 1


async def test_end_of_call_report_frees_the_hold_at_once(client: GatewayClient, pool: asyncpg.Pool) -> None:
    found = await call_tool(client, "check_availability", {"date": "tomorrow"})
    held = await call_tool(
        client, "reserve_slot", {"slot_id": found["slots"][0]["slot_id"]}, tool_call_id="h", call_id="ending"
    )
    assert held["ok"]
    status, reply = await post(
        client,
        {"message": {"type": "end-of-call-report", "call": {"id": "ending"}, "endedReason": "customer-ended-call"}},
    )
    assert (status, reply) == (200, {})
    assert await pool.fetchval("SELECT status FROM reservation.reservations") == "RELEASED"
    again = await call_tool(client, "check_availability", {"date": "tomorrow"}, tool_call_id="t2")
    assert again["slots"][0]["slot_id"] == found["slots"][0]["slot_id"]
    status, reply = await post(client, {"message": {"type": "status-update", "status": "ended", "call": {"id": "x"}}})
    assert (status, reply) == (200, {})


async def test_seed_url_with_the_seed_curl_body(client: GatewayClient) -> None:
    reply = await client.post(
        "/api/vapi/tools/calendar/check", json={"tenantId": "demo", "date": "2026-01-15"}, headers=AUTH
    )
    assert reply.status == 200
    body = await reply.json()
    content = json.loads(body["toolResult"]["content"])
    assert content["cause"] == "DATE_IN_PAST" and content["alternatives"]
    assert body["speech"] == content["speech"] and body["speech"].startswith("That date has already passed.")
    by_query = await client.post("/api/vapi/tools/calendar/check?tenant=demo", json={"date": "tomorrow"}, headers=AUTH)
    assert json.loads((await by_query.json())["toolResult"]["content"])["ok"]
    envelope = await client.post(
        "/api/vapi/tools/calendar/check?tenant=demo", json=msg(toolCallList=[{"id": "a", **CHECK}]), headers=AUTH
    )
    body = await envelope.json()
    assert body["results"][0]["toolCallId"] == "a" and body["speech"]
    assert (await client.post("/api/vapi/tools/calendar/check", json={"tenantId": "demo"})).status == 401


async def test_reservation_down_still_answers_200_with_speech(stack: Stack, client: GatewayClient) -> None:
    found = await call_tool(client, "check_availability", {"date": "tomorrow"})
    await stack.reservation.stop(0)
    started = time.perf_counter()
    result = await call_tool(client, "reserve_slot", {"slot_id": found["slots"][0]["slot_id"]}, tool_call_id="down")
    assert time.perf_counter() - started < 5
    assert not result["ok"] and result["cause"] == "BACKEND_UNAVAILABLE" and "trouble reaching" in result["speech"]
    ready = await client.get("/ready")
    assert ready.status == 503 and "reservation" in (await ready.json())["down"]
    metrics = await scrape(client)
    assert 'gateway_tool_calls_total{outcome="BACKEND_UNAVAILABLE",tool="reserve_slot"} 1.0' in metrics


async def test_assistant_request_gets_a_transient_assistant(client: GatewayClient) -> None:
    started = time.perf_counter()
    status, reply = await post(client, {"message": {"type": "assistant-request", "call": {"id": "new"}}})
    assert status == 200 and time.perf_counter() - started < 7.5
    assistant = reply["assistant"]
    prompt = assistant["model"]["messages"][0]["content"]
    assert "Acme Dental" in prompt and "Today is Monday, November 23rd, 2026" in prompt and "Dental cleaning" in prompt
    names = [t["function"]["name"] for t in assistant["model"]["tools"]]
    assert len(names) == 10 and all(t["server"]["url"].endswith("/vapi/demo") for t in assistant["model"]["tools"])
    assert "end-of-call-report" in assistant["serverMessages"]
