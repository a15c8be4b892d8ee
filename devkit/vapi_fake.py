"""A local HTTP imitation of the parts of Vapi's API that `gateway.vapi_admin sync` uses."""

from __future__ import annotations

import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

from devkit.local_http import serving

STAMP = {"orgId": "org-1", "createdAt": "2026-01-01T00:00:00.000Z", "updatedAt": "2026-01-01T00:00:00.000Z"}


@dataclass
class FakeVapi:
    api_key: str = "vapi-test-key"
    tools: dict[str, dict[str, Any]] = field(default_factory=dict)
    assistants: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, Any]] = field(default_factory=list)
    url: str = ""

    @property
    def writes(self) -> list[tuple[str, str, Any]]:
        return [r for r in self.requests if r[0] != "GET"]

    @web.middleware
    async def record(self, request: web.Request, handler: Any) -> web.StreamResponse:
        body = await request.json() if request.can_read_body else None
        self.requests.append((request.method, request.path, body))
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            return web.json_response({"message": "Invalid Key", "statusCode": 401}, status=401)
        response: web.StreamResponse = await handler(request)
        return response

    async def list_tools(self, request: web.Request) -> web.Response:
        return web.json_response(list(self.tools.values()))

    async def create_tool(self, request: web.Request) -> web.Response:
        body = await request.json()
        if "function" not in body:
            return web.json_response({"message": ["function must be an object"], "statusCode": 400}, status=400)
        tool = {**body, "id": str(uuid.uuid4()), **STAMP}
        self.tools[tool["id"]] = tool
        return web.json_response(tool, status=201)

    async def update_tool(self, request: web.Request) -> web.Response:
        tool = self.tools.get(request.match_info["id"])
        if tool is None:
            return web.json_response({"message": "Not Found", "statusCode": 404}, status=404)
        tool.update(await request.json())
        return web.json_response(tool)

    async def get_assistant(self, request: web.Request) -> web.Response:
        assistant = self.assistants.get(request.match_info["id"])
        if assistant is None:
            return web.json_response(
                {"message": "Couldn't Get Assistant. `assistant` Not Found.", "statusCode": 404}, status=404
            )
        return web.json_response(assistant)

    async def update_assistant(self, request: web.Request) -> web.Response:
        assistant = self.assistants.get(request.match_info["id"])
        if assistant is None:
            return web.json_response({"message": "Not Found", "statusCode": 404}, status=404)
        assistant.update(await request.json())  # Vapi replaces each top-level field it is given, `model` included
        return web.json_response(assistant)


@asynccontextmanager
async def fake_vapi() -> AsyncIterator[FakeVapi]:
    fake = FakeVapi()
    app = web.Application(middlewares=[fake.record])
    app.router.add_get("/tool", fake.list_tools)
    app.router.add_post("/tool", fake.create_tool)
    app.router.add_patch("/tool/{id}", fake.update_tool)
    app.router.add_get("/assistant/{id}", fake.get_assistant)
    app.router.add_patch("/assistant/{id}", fake.update_assistant)
    async with serving(app) as url:
        fake.url = url
        yield fake


def an_assistant(assistant_id: str = "asst-1") -> dict[str, Any]:
    return {
        "id": assistant_id,
        **STAMP,
        "name": "Front desk",
        "model": {
            "provider": "openai",
            "model": "gpt-4o",
            "temperature": 0.3,
            "messages": [{"role": "system", "content": "You are the front desk of Acme Dental."}],
            "toolIds": ["someone-elses-tool"],
        },
        "voice": {"provider": "11labs", "voiceId": "rachel"},
        "serverMessages": ["status-update"],
    }


def dump(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
