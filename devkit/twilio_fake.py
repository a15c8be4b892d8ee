"""A local HTTP imitation of Twilio's Messages API, for the real `twilio` library to talk to."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.utils import format_datetime

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
    sent: list[dict[str, str]] = field(default_factory=list)  # what GET Messages.json lists, oldest first
    list_requests: int = 0  # GET Messages.json pages served

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
        message = {
            "sid": sid, "status": "queued", "to": str(form.get("To")), "from": str(form.get("From")),
            "body": str(form.get("Body")), "account_sid": request.match_info["sid"], "direction": "outbound-api",
            "date_created": format_datetime(datetime.now(UTC), usegmt=True),
        }  # fmt: skip
        self.sent.append(message)
        return web.json_response(message, status=201)

    async def list_messages(self, request: web.Request) -> web.Response:
        """GET Messages.json?To=…&PageSize=…&Page=…: newest first, a page at a time, with Twilio's
        paging fields (next_page_uri while more remain)."""
        to = request.query.get("To", "")
        found = [m for m in reversed(self.sent) if not to or m["to"] == to]
        size = int(request.query.get("PageSize", "50"))
        page = int(request.query.get("Page", "0"))
        self.list_requests += 1
        following = None
        if (page + 1) * size < len(found):
            following = request.url.with_query({**request.query, "Page": str(page + 1), "PageSize": str(size)})
        return web.json_response({
            "messages": found[page * size : (page + 1) * size], "page": page, "page_size": size,
            "uri": request.path_qs, "next_page_uri": following.path_qs if following else None,
        })  # fmt: skip

    def bodies_to(self, phone: str) -> list[str]:
        """Bodies Twilio accepted for this number."""
        return list(self.by_phone.get(phone, []))


@asynccontextmanager
async def fake_twilio() -> AsyncIterator[FakeTwilio]:
    fake = FakeTwilio()
    app = web.Application()
    app.router.add_post("/2010-04-01/Accounts/{sid}/Messages.json", fake.messages)
    app.router.add_get("/2010-04-01/Accounts/{sid}/Messages.json", fake.list_messages)
    async with serving(app) as url:
        fake.url = url
        yield fake
