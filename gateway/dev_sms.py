"""`GET /dev/sms`: the texts the local SMS sender kept, so a booking can be finished on a laptop.

It exists only while notification runs without Twilio credentials (its ListDevTexts then
answers; with a real sender it refuses with FAILED_PRECONDITION and this route is a 404). No
sign-in, as SPEC §4 lists it: without Twilio no text reaches a phone, so the codes shown here
protect nothing real. A deployment that must not show them sets the TWILIO_* variables.
"""

from __future__ import annotations

from typing import Any

import grpc
from aiohttp import web

from booking.notification.v1 import notification_pb2 as npb
from common.deadlines import GATEWAY_TO_SERVICE
from common.timestamps import from_timestamp
from gateway.state import BACKENDS

ROUTE = "/dev/sms"


def text_json(text: npb.DevText) -> dict[str, Any]:
    return {
        "to": text.to,
        "body": text.body,
        "sent_at": from_timestamp(text.sent_at).isoformat(),
        "provider_sid": text.provider_sid,
    }


async def dev_texts(request: web.Request) -> web.Response:
    try:
        reply = await request.app[BACKENDS].notification.ListDevTexts(
            npb.ListDevTextsRequest(), timeout=GATEWAY_TO_SERVICE
        )
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
            raise web.HTTPNotFound() from None
        raise web.HTTPServiceUnavailable() from None
    return web.json_response({"texts": [text_json(t) for t in reply.texts]})


def add_routes(app: web.Application) -> None:
    app.router.add_get(ROUTE, dev_texts)
