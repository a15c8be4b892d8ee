"""The edge limit: a trivial aiohttp process that reads a Vapi `tool-calls` body and answers a
fixed, valid tool-calls reply (no auth, no parsing beyond the JSON, no downstream call). What
the same load generator gets from it is the most any HTTP answer can be on this machine.

    EDGE_PORT=0 python -m bench.edge
"""

from __future__ import annotations

import asyncio
import json
import logging

from aiohttp import web

from bench.common import serve_until_stopped
from common.logs import configure_logging

log = logging.getLogger("bench.edge")
RESULT = json.dumps({"ok": True, "speech": "I have tomorrow at 9 AM.", "slots": []})


async def serve() -> None:
    async def vapi(request: web.Request) -> web.Response:
        message = json.loads(await request.read())["message"]
        call = message["toolCallList"][0]
        reply = {"results": [{"toolCallId": call["id"], "name": call["function"]["name"], "result": RESULT}]}
        return web.json_response(reply)

    app = web.Application()
    app.router.add_post("/vapi/{tenant}", vapi)
    await serve_until_stopped(app, "EDGE_PORT", log)


if __name__ == "__main__":
    configure_logging("edge", "INFO")
    asyncio.run(serve())
