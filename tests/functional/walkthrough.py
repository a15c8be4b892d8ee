"""The README's booking walkthrough over HTTP, as a developer runs it against `make run` (or any
stack with the local SMS sender): check → reserve → send_otp → code from /dev/sms → verify →
confirm."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import aiohttp

from devkit.real_stack import tool

CALLER = "+12125550142"
CALL_ID = "readme-call-1"
CODE = re.compile(r"code is (\d{6})")


@dataclass
class Walk:
    url: str
    secret: str
    tenant: str = "demo"
    steps: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)

    async def call(self, session: aiohttp.ClientSession, name: str, args: dict[str, Any]) -> dict[str, Any]:
        _, result = await tool(
            session, self.url, self.secret, self.tenant, name, args,
            call_id=CALL_ID, tool_call_id=f"t{len(self.steps) + 1}", caller=CALLER,
        )  # fmt: skip
        self.steps.append((name, args, result))
        return result

    async def first_open_slot(self, session: aiohttp.ClientSession) -> str:
        """The first slot on the first day with any (weekends and holidays have none)."""
        for ahead in range(1, 15):
            day = (date.today() + timedelta(days=ahead)).isoformat()
            found = await self.call(session, "check_availability", {"date": day})
            if found.get("slots"):
                return str(found["slots"][0]["slot_id"])
        raise AssertionError(f"no open slot in two weeks: {self.steps[-1]}")

    async def code_from_inbox(self, session: aiohttp.ClientSession, timeout: float = 20.0) -> str:
        """The newest code texted to the caller, read from GET /dev/sms."""
        async with asyncio.timeout(timeout):
            while True:
                async with session.get(f"{self.url}/dev/sms") as reply:
                    assert reply.status == 200, reply.status
                    texts = (await reply.json())["texts"]
                mine = [CODE.search(t["body"]) for t in texts if t["to"] == CALLER]
                codes = [m.group(1) for m in mine if m]
                if codes:
                    return codes[0]  # newest first
                await asyncio.sleep(0.2)

    async def book(self) -> dict[str, Any]:
        """Walk the whole booking; returns confirm_booking's result."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=20)) as session:
            slot_id = await self.first_open_slot(session)
            held = await self.call(session, "reserve_slot", {"slot_id": slot_id, "patient_name": "Ada Lovelace"})
            assert held["ok"], held
            sent = await self.call(session, "send_otp", {})
            assert sent["ok"], sent
            code = await self.code_from_inbox(session)
            verified = await self.call(session, "verify_otp", {"code": code})
            assert verified["ok"], verified
            booked = await self.call(session, "confirm_booking", {})
            assert booked["ok"], booked
            return booked
