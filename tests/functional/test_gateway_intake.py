"""Total input handling through the real gateway over HTTP: nothing a client sends gives a 5xx,
legacy function-calls are never answered with another call's result, per-message limits, and the
last-line net on the Vapi routes."""

from __future__ import annotations

import asyncio
import json
import logging
import socket
import time
from typing import Any

import pytest

from gateway import tools
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.vapi_client import SECRET, call_tool, gateway_client, load_demo

AUTH = {"Authorization": f"Bearer {SECRET}", "Content-Type": "application/json"}
CHECK = {"type": "function", "function": {"name": "check_availability", "arguments": {"date": "tomorrow"}}}
SEED = "/api/vapi/tools/calendar/check"


@pytest.fixture
async def client(stack: Stack, clock: Clock) -> Any:
    await load_demo(stack, clock)
    async with gateway_client(stack, clock) as client:
        yield client


def function_call(call_id: str | None, name: str, parameters: dict[str, Any]) -> dict[str, Any]:
    message: dict[str, Any] = {"type": "function-call", "functionCall": {"name": name, "parameters": parameters}}
    if call_id is not None:
        message["call"] = {"id": call_id, "customer": {"number": "+12125550142"}}
    return {"message": message}


async def legacy(client: GatewayClient, body: dict[str, Any]) -> dict[str, Any]:
    reply = await client.post("/vapi/demo", json=body, headers=AUTH)
    assert reply.status == 200
    result: dict[str, Any] = json.loads((await reply.json())["result"])
    return result


# --- issue 14: legacy function-call ids ----------------------------------------------------------
@pytest.mark.parametrize("with_call_ids", [True, False], ids=["two calls", "no call ids"])
async def test_two_function_calls_asking_different_things_get_their_own_answers(
    client: GatewayClient, with_call_ids: bool
) -> None:
    first = function_call("call-a" if with_call_ids else None, "check_availability", {"date": "tomorrow"})
    second = function_call("call-b" if with_call_ids else None, "check_availability", {"service": "haircut"})
    answer_a = await legacy(client, first)
    answer_b = await legacy(client, second)
    assert answer_a["ok"] and answer_a["slots"]
    assert not answer_b["ok"] and answer_b["cause"] == "UNKNOWN_SERVICE"


async def test_a_retried_function_call_is_answered_once(client: GatewayClient) -> None:
    found = await call_tool(client, "check_availability", {"date": "tomorrow"})
    body = function_call("call-r", "reserve_slot", {"slot_id": found["slots"][0]["slot_id"]})
    first = await client.post("/vapi/demo", json=body, headers=AUTH)
    second = await client.post("/vapi/demo", json=body, headers=AUTH)
    assert await first.read() == await second.read()
    assert json.loads((await first.json())["result"])["ok"]


# --- bodies --------------------------------------------------------------------------------------
DEEP = b"[" * 100_000 + b"]" * 100_000
BAD_BODIES = [
    ("deeply nested list", DEEP),
    ("deeply nested object", b'{"a":' * 5_000 + b"1" + b"}" * 5_000),
    ("unbalanced nesting", b"[" * 70),
    ("a 5000-digit number", b'{"message": {"type": "x", "n": ' + b"9" * 5_000 + b"}}"),
    ("infinity", b'{"message": {"type": "x", "n": 1e999}}'),
    ("NaN", b'{"message": {"type": "x", "n": NaN}}'),
]


@pytest.mark.parametrize(("case", "raw"), BAD_BODIES, ids=[c for c, _ in BAD_BODIES])
async def test_bad_json_is_400_on_every_vapi_route(client: GatewayClient, case: str, raw: bytes) -> None:
    assert (await client.post("/vapi/demo", data=raw, headers=AUTH)).status == 400
    assert (await client.post(f"{SEED}?tenant=demo", data=raw, headers=AUTH)).status == 400
    # The seed URLs read the tenant from the body before authenticating: still no 5xx.
    assert (await client.post(SEED, data=raw, headers=AUTH)).status == 401
    assert (await client.post(SEED, data=raw)).status == 401


async def test_lone_surrogates_and_control_characters_in_arguments_are_cleaned(client: GatewayClient) -> None:
    arguments = '{"date": "tomor\\ud800row\\u0000", "patient_name": "\\udfff"}'
    calls = [{"id": "a", "function": {"name": "check_availability", "arguments": arguments}}]
    body = {"message": {"type": "tool-calls", "toolCallList": calls, "call": {"id": "c\ud800"}}}
    reply = await client.post("/vapi/demo", data=json.dumps(body), headers=AUTH)
    assert reply.status == 200
    assert json.loads((await reply.json())["results"][0]["result"])["ok"]
    flat = await client.post(f"{SEED}?tenant=demo", data=json.dumps({"date": "tomorrow\udc80"}), headers=AUTH)
    assert flat.status == 200 and json.loads((await flat.json())["toolResult"]["content"])["ok"]


async def test_more_than_sixteen_calls_the_rest_get_an_error_each_in_order(client: GatewayClient) -> None:
    calls = [{"id": f"c{n}", **CHECK} for n in range(20)]
    reply = await client.post(
        "/vapi/demo", json={"message": {"type": "tool-calls", "toolCallList": calls}}, headers=AUTH
    )
    results = (await reply.json())["results"]
    assert [r["toolCallId"] for r in results] == [f"c{n}" for n in range(20)]
    assert all("result" in r for r in results[:16]) and all("error" in r for r in results[16:])


async def test_long_ids_and_names_get_an_error_entry(client: GatewayClient) -> None:
    calls = [
        {"id": "i" * 129, **CHECK},
        {"id": "n", "function": {"name": "n" * 65}},
        {"id": "i" * 128, **CHECK},
    ]
    reply = await client.post(
        "/vapi/demo", json={"message": {"type": "tool-calls", "toolCallList": calls}}, headers=AUTH
    )
    first, second, third = (await reply.json())["results"]
    assert "error" in first and first["toolCallId"] == "i" * 129
    assert "error" in second and len(second["name"]) == 64
    assert json.loads(third["result"])["ok"]


# --- headers -------------------------------------------------------------------------------------
BAD_AUTH_HEADERS = [
    {"X-Timestamp": "²", "X-Signature": "a" * 64},
    {"X-Timestamp": "9" * 400, "X-Signature": "a" * 64},
    {"X-Timestamp": str(int(time.time())), "X-Signature": "é" * 64},  # fresh: the signature is compared
    {"X-Signature": "sha256=zz", "X-Timestamp": ""},
    {"Authorization": "Bearer é\u2028"},
    {"X-Vapi-Secret": "ü"},
]


@pytest.mark.parametrize("headers", BAD_AUTH_HEADERS)
async def test_odd_auth_headers_are_401(client: GatewayClient, headers: dict[str, str]) -> None:
    body = json.dumps({"message": {"type": "tool-calls", "toolCallList": [{"id": "a", **CHECK}]}})
    for path in ("/vapi/demo", f"{SEED}?tenant=demo"):
        reply = await client.post(path, data=body, headers={"Content-Type": "application/json", **headers})
        assert reply.status == 401


@pytest.mark.parametrize("request_id", ["é" * 10, "x" * 65, "a b", "id\u2028", ""])
async def test_an_odd_request_id_is_replaced(client: GatewayClient, request_id: str) -> None:
    body = {"message": {"type": "tool-calls", "toolCallList": [{"id": "a", **CHECK}]}}
    reply = await client.post("/vapi/demo", json=body, headers={**AUTH, "X-Request-Id": request_id})
    assert reply.status == 200 and json.loads((await reply.json())["results"][0]["result"])["ok"]
    assert reply.headers["X-Request-Id"] != request_id and reply.headers["X-Request-Id"].isalnum()
    kept = await client.post("/vapi/demo", json=body, headers={**AUTH, "X-Request-Id": "req-1.2:3"})
    assert kept.headers["X-Request-Id"] == "req-1.2:3"


async def test_raw_non_utf8_header_bytes_are_401_not_500(client: GatewayClient) -> None:
    body = b'{"message": {"type": "tool-calls", "toolCallList": []}}'
    for header in (
        b"Authorization: Bearer \xff\xfe",
        b"X-Vapi-Secret: \xc3",
        b"X-Signature: \xff",
        b"X-Request-Id: \xff",
    ):
        head = b"POST /vapi/demo HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
        request = head + header + b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close\r\n\r\n"
        status = await asyncio.to_thread(raw_status, client.port or 0, request + body)
        assert status in (400, 401), header


def raw_status(port: int, data: bytes) -> int:
    with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
        sock.sendall(data)
        reply = sock.recv(4096)
    return int(reply.split(b" ", 2)[1])


# --- the net -------------------------------------------------------------------------------------
async def test_an_unexpected_error_still_gets_a_sentence_and_is_logged(
    client: GatewayClient, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    async def broken(*args: Any) -> tools.ToolResult:
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr(tools, "run_tool", broken)
    with caplog.at_level(logging.ERROR, logger="gateway.vapi"):
        reply = await client.post(
            "/vapi/demo", json={"message": {"type": "tool-calls", "toolCallList": [{"id": "a", **CHECK}]}}, headers=AUTH
        )
        assert reply.status == 200
        entry = (await reply.json())["results"][0]
        assert entry["toolCallId"] == "a" and json.loads(entry["result"])["speech"]
        legacy_reply = await client.post("/vapi/demo", json=function_call("x", "check_availability", {}), headers=AUTH)
        assert legacy_reply.status == 200 and json.loads((await legacy_reply.json())["result"])["speech"]
        seed = await client.post(f"{SEED}?tenant=demo", json={"date": "tomorrow"}, headers=AUTH)
        assert seed.status == 200 and (await seed.json())["speech"]
    assert any(r.exc_info and r.exc_info[0] is ZeroDivisionError for r in caplog.records)
