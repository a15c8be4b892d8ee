"""Twilio's webhooks: delivery-status callbacks and inbound SMS, signature-checked, forwarded
to the notification service."""

from __future__ import annotations

import logging

import grpc
from aiohttp import web
from aiohttp.http_exceptions import HttpProcessingError
from twilio.request_validator import RequestValidator

from booking.notification.v1 import notification_pb2 as npb
from common.deadlines import WEBHOOK_FORWARD
from gateway.state import BACKENDS, CONFIG

log = logging.getLogger("gateway.twilio")
EMPTY_TWIML = '<?xml version="1.0" encoding="UTF-8"?><Response></Response>'


async def _verified_form(request: web.Request) -> dict[str, str]:
    """The POSTed form, if X-Twilio-Signature matches it; otherwise 403 and nothing else runs."""
    cfg = request.app[CONFIG]
    signature = request.headers.get("X-Twilio-Signature", "")
    if not cfg.twilio_auth_token or not signature:
        raise web.HTTPForbidden()
    try:
        form = {k: str(v) for k, v in (await request.post()).items()}
    except (ValueError, LookupError, HttpProcessingError):  # not a form: bad multipart, bytes, or charset
        raise web.HTTPBadRequest() from None
    # Twilio signs the URL it called; behind a proxy that is the public one.
    url = cfg.public_base_url.rstrip("/") + request.path_qs if cfg.public_base_url else str(request.url)
    if not RequestValidator(cfg.twilio_auth_token).validate(url, form, signature):
        raise web.HTTPForbidden()
    return form


async def status_callback(request: web.Request) -> web.Response:
    form = await _verified_form(request)
    sid, status = form.get("MessageSid", ""), form.get("MessageStatus", "")
    if not sid or not status:
        raise web.HTTPBadRequest(text="MessageSid and MessageStatus are required")
    try:
        await request.app[BACKENDS].notification.RecordDeliveryStatus(
            npb.RecordDeliveryStatusRequest(provider_sid=sid, status=status, error_code=form.get("ErrorCode", "")),
            timeout=WEBHOOK_FORWARD,
        )
    except grpc.aio.AioRpcError as error:
        log.warning("delivery status not recorded", extra={"code": error.code().name})
        raise web.HTTPServiceUnavailable() from None
    return web.Response(status=204)


async def inbound_sms(request: web.Request) -> web.Response:
    form = await _verified_form(request)
    try:
        await request.app[BACKENDS].notification.RecordInboundSms(
            npb.RecordInboundSmsRequest(
                to=form.get("To", ""), body=form.get("Body", ""), tenant_id=request.query.get("tenant", ""),
                message_sid=form.get("MessageSid", ""), **{"from": form.get("From", "")},
            ),
            timeout=WEBHOOK_FORWARD,
        )  # fmt: skip
    except grpc.aio.AioRpcError as error:
        if error.code() != grpc.StatusCode.INVALID_ARGUMENT:
            log.warning("inbound sms not recorded", extra={"code": error.code().name})
            raise web.HTTPServiceUnavailable() from None
    # Empty TwiML: Twilio's own opt-out handling replies to STOP/HELP, and the answer to any other
    # reply is a text of its own, queued by reservation through its outbox.
    return web.Response(text=EMPTY_TWIML, content_type="text/xml")


def add_routes(app: web.Application) -> None:
    app.router.add_post("/twilio/status", status_callback)
    app.router.add_post("/twilio/inbound", inbound_sms)
