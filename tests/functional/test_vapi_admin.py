"""`python -m gateway.vapi_admin` against a local imitation of Vapi's API, and the tool and
assistant JSON checked with the official SDK's own models."""

from __future__ import annotations

import asyncio
import io
import json
import os
import sys
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest

from devkit.processes import ROOT
from devkit.vapi_fake import FakeVapi, an_assistant, fake_vapi
from gateway.tool_definitions import vapi_tools
from gateway.vapi_admin import AdminError, sync

BASE = "https://booking.example.com"


@pytest.fixture
async def vapi(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeVapi]:
    async with fake_vapi() as fake:
        fake.assistants["asst-1"] = an_assistant()
        monkeypatch.setenv("VAPI_API_KEY", fake.api_key)
        monkeypatch.setenv("VAPI_BASE_URL", fake.url)
        yield fake


def test_tool_json_is_valid_for_the_sdk_and_carries_the_tenant() -> None:
    from vapi.tools.types.create_tools_request import CreateToolsRequest_Function

    tools = vapi_tools(f"{BASE}/vapi/demo")
    assert len(tools) == 10
    for tool in tools:
        model = CreateToolsRequest_Function.model_validate({k: v for k, v in tool.items() if k != "type"})
        assert model.function is not None and model.function.name == tool["function"]["name"]
        assert tool["server"]["url"] == f"{BASE}/vapi/demo"
        name = tool["function"]["name"]
        assert len(name) <= 64 and all(c.isalnum() or c in "_-" for c in name)
        assert {m["type"] for m in tool["messages"]} >= {"request-start", "request-response-delayed"}


async def test_sync_creates_attaches_keeps_other_settings_and_is_idempotent(vapi: FakeVapi) -> None:
    out = io.StringIO()
    changes = await sync("demo", "asst-1", BASE, dry_run=False, out=out)
    assert sum(c.startswith("create tool") for c in changes) == 10
    assert len(vapi.tools) == 10 and all(t["server"]["url"] == f"{BASE}/vapi/demo" for t in vapi.tools.values())
    assistant = vapi.assistants["asst-1"]
    assert assistant["model"]["temperature"] == 0.3  # other model settings survive the PATCH
    assert assistant["model"]["messages"][0]["content"] == "You are the front desk of Acme Dental."
    assert assistant["model"]["toolIds"][0] == "someone-elses-tool"
    assert set(assistant["model"]["toolIds"][1:]) == set(vapi.tools)
    assert {"tool-calls", "end-of-call-report", "status-update"} <= set(assistant["serverMessages"])
    assert assistant["voice"] == {"provider": "11labs", "voiceId": "rachel"}

    writes_before = len(vapi.writes)
    assert await sync("demo", "asst-1", BASE, dry_run=False, out=io.StringIO()) == []
    assert len(vapi.writes) == writes_before  # a second run changes nothing
    assert not [r for r in vapi.requests if r[0] == "POST" and r[1] == "/tool"][10:]


async def test_sync_updates_a_changed_tool_in_place(vapi: FakeVapi) -> None:
    await sync("demo", "asst-1", BASE, dry_run=False, out=io.StringIO())
    tool_id, tool = next(iter(vapi.tools.items()))
    tool["function"]["description"] = "edited by hand in the dashboard"
    changes = await sync("demo", "asst-1", BASE, dry_run=False, out=io.StringIO())
    assert changes == [f"update tool {tool['function']['name']}"]
    assert len(vapi.tools) == 10 and vapi.tools[tool_id]["function"]["description"] != "edited by hand in the dashboard"


async def test_dry_run_sends_nothing(vapi: FakeVapi) -> None:
    out = io.StringIO()
    changes = await sync("demo", "asst-1", BASE, dry_run=True, out=out)
    assert len(changes) == 12 and vapi.writes == []
    assert "would create tool check_availability" in out.getvalue()


async def test_api_errors_are_one_line_with_an_exit_code(vapi: FakeVapi, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AdminError) as caught:
        await sync("demo", "missing", BASE, dry_run=False, out=io.StringIO())
    assert caught.value.code == 4 and "404" in str(caught.value)
    monkeypatch.setenv("VAPI_API_KEY", "wrong")
    with pytest.raises(AdminError) as caught:
        await sync("demo", "asst-1", BASE, dry_run=False, out=io.StringIO())
    assert caught.value.code == 3 and vapi.writes == []


async def test_the_cli_exits_non_zero_on_401(vapi: FakeVapi) -> None:
    env = {**os.environ, "VAPI_API_KEY": "wrong"}
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.vapi_admin", "sync", "--tenant", "demo", "--assistant-id", "asst-1",
        "--base-url", BASE, cwd=ROOT, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    _, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 3
    lines = err.decode().strip().splitlines()
    assert len(lines) == 1 and "401" in lines[0] and "Traceback" not in err.decode()


async def test_tools_command_prints_json() -> None:
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "gateway.vapi_admin", "tools", "--tenant", "demo", "--base-url", BASE,
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, _ = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode == 0
    tools: list[dict[str, Any]] = json.loads(out)
    assert [t["function"]["name"] for t in tools][:2] == ["check_availability", "reserve_slot"]


def test_assistant_request_reply_validates_against_the_sdk_model() -> None:
    from vapi.types.server_message_response_assistant_request import ServerMessageResponseAssistantRequest

    from gateway.assistant import assistant_reply
    from tests.unit.test_prompts import demo_clinic

    reply = assistant_reply(demo_clinic(), f"{BASE}/vapi/demo", datetime(2026, 11, 23, 4, 30, tzinfo=UTC))
    model = ServerMessageResponseAssistantRequest.model_validate(reply)
    assert model.assistant is not None
