"""Long-lived tasks started while serving a request do not keep that request's id (or trace)."""

from __future__ import annotations

import asyncio

from common.logs import detached_task, request_id_var


async def test_a_detached_task_carries_no_request_id_while_an_ordinary_one_does() -> None:
    seen: dict[str, str] = {}

    async def remember(key: str) -> None:
        seen[key] = request_id_var.get()

    request_id_var.set("req-123")
    await asyncio.create_task(remember("ordinary"))
    await detached_task(remember("detached"), name="feed")
    assert seen == {"ordinary": "req-123", "detached": ""}
