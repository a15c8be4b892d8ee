"""A local HTTP imitation of Twilio's Messages API, for the real `twilio` library to talk to."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

from devkit.local_http import serving


@dataclass
class FakeTwilio:
    """Answers POST /2010-04-01/Accounts/{sid}/Messages.json; scripted answers first, then 201."""

    requests: list[dict[str, str]] = field(default_factory=list)
    script: list[tuple[int, int | None]] = field(default_factory=list)  # (HTTP status, Twilio error code)
    delay: float = 0.0
    url: str = ""
    accepted: list[dict[str, str]] = field(default_factory=list)  # requests answered 201
    by_phone: dict[str, list[str]] = field(default_factory=dict)  # bodies per recipient, in order

    async def messages(self, request: web.Request) -> web.Response:
        form = await request.post()
        self.requests.append({k: str(v) for k, v in form.items()} | {"_auth": request.headers.get("Authorization", "")})
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.script:
            status, code = self.script.pop(0)
            if status >= 300:
                body = {"code": code, "message": f"scripted error {code}", "more_info": "", "status": status}
                return web.json_response(body, status=status)
        sid = "SM" + uuid.uuid4().hex
        self.accepted.append(self.requests[-1])
        self.by_phone.setdefault(str(form.get("To")), []).append(str(form.get("Body")))
        return web.json_response(
            {
                "sid": sid,
                "status": "queued",
                "to": form.get("To"),
                "from": form.get("From"),
                "body": form.get("Body"),
                "account_sid": request.match_info["sid"],
            },
            status=201,
        )

    def bodies_to(self, phone: str) -> list[str]:
        """Bodies Twilio accepted for this number."""
        return list(self.by_phone.get(phone, []))


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", fake.messages)
    async with serving(app) as url:
        fake.url = url
        yield fake
