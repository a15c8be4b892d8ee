"""Helpers to talk to the real gateway the way Vapi does."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp.test_utils import TestClient, TestServer

from booking.availability.v1 import availability_pb2 as apb
from devkit.processes import ROOT
from gateway.app import create_app
from services.availability.clinic_file import load_clinic_file
from tests.conftest import Clock, GatewayClient, Stack

SECRET = "demo-secret-for-tests-0123456789"
NY = ZoneInfo("America/New_York")
MONDAY_7AM = datetime(2026, 11, 23, 7, 0, tzinfo=NY)
CALLER = "+12125550142"


async def load_demo(stack: Stack, clock: Clock) -> None:
    clock.now = MONDAY_7AM.astimezone(UTC)
    config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": SECRET})
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))


@asynccontextmanager
async def gateway_client(stack: Stack, clock: Clock, **config: Any) -> AsyncIterator[GatewayClient]:
    client: GatewayClient = TestClient(TestServer(create_app(stack.gateway_config(**config), clock)))
    await client.start_server()
    try:
        yield client
    finally:
        await client.close()


def tool_calls(
    *calls: tuple[str, str, dict[str, Any]], call_id: str = "call-1", caller: str = CALLER
) -> dict[str, Any]:
    return {
        "message": {
            "type": "tool-calls",
            "timestamp": 1728393715369,
            "toolCallList": [
                {"id": tid, "type": "function", "function": {"name": name, "arguments": args}}
                for tid, name, args in calls
            ],
            "call": {"id": call_id, "customer": {"number": caller}},
        }
    }


async def call_tool(
    client: GatewayClient, name: str, args: dict[str, Any], *, tool_call_id: str = "tc-1", call_id: str = "call-1",
    caller: str = CALLER, tenant: str = "demo",
) -> dict[str, Any]:  # fmt: skip
    reply = await client.post(
        f"/vapi/{tenant}", json=tool_calls((tool_call_id, name, args), call_id=call_id, caller=caller),
        headers={"Authorization": f"Bearer {SECRET}"},
    )  # fmt: skip
    assert reply.status == 200, await reply.text()
    body = await reply.json()
    entry = body["results"][0]
    assert entry["toolCallId"] == tool_call_id and entry["name"] == name
    assert "\n" not in entry["result"]
    result: dict[str, Any] = json.loads(entry["result"])
    return result
