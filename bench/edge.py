"""The edge limit: a trivial aiohttp process that reads a Vapi `tool-calls` body and answers a
fixed, valid tool-calls reply (no auth, no parsing beyond the JSON, no downstream call). What
the same load generator gets from it is the most any HTTP answer can be on this machine.

    EDGE_PORT=0 python -m bench.edge
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import signal

from aiohttp import web

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
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", int(os.environ.get("EDGE_PORT", "0")))
    await site.start()
    log.info("listening", extra={"port": runner.addresses[0][1]})
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


if __name__ == "__main__":
    configure_logging("edge", "INFO")
    asyncio.run(serve())
