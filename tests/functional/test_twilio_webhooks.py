"""Twilio webhooks through the real gateway: signature checked, forwarded to notification."""

from __future__ import annotations

from collections.abc import AsyncIterator

import asyncpg
import pytest
from aiohttp.test_utils import TestClient, TestServer
from twilio.request_validator import RequestValidator

from booking.notification.v1 import notification_pb2 as pb
from gateway.app import create_app
from tests.conftest import GatewayClient, Stack

TOKEN = "twilio-auth-token-for-tests"
PHONE = "+12125550142"


@pytest.fixture
async def client(stack: Stack) -> AsyncIterator[GatewayClient]:
    app = create_app(stack.gateway_config(twilio_auth_token=TOKEN))
    client: GatewayClient = TestClient(TestServer(app))
    await client.start_server()
    yield client
    await client.close()


async def post_signed(client: GatewayClient, path: str, form: dict[str, str], token: str = TOKEN):  # type: ignore[no-untyped-def]
    url = str(client.make_url(path))
    signature = RequestValidator(token).compute_signature(url, form)
    return await client.post(path, data=form, headers={"X-Twilio-Signature": signature})


async def sent_message(stack: Stack, pool: asyncpg.Pool, sid: str) -> None:
    await stack.notification_stub.EnqueueSms(
        pb.EnqueueSmsRequest(tenant_id="acme", to=PHONE, body="hi", dedupe_key="k", kind=pb.MESSAGE_KIND_REMINDER)
    )
    await pool.execute("UPDATE notification.messages SET status = 'SENT', provider_sid = $1", sid)


async def test_status_callback_with_a_valid_signature_updates_the_message(
    client: GatewayClient, stack: Stack, pool: asyncpg.Pool
) -> None:
    await sent_message(stack, pool, "SM123")
    reply = await post_signed(client, "/twilio/status", {"MessageSid": "SM123", "MessageStatus": "delivered"})
    assert reply.status == 204
    assert await pool.fetchval("SELECT status FROM notification.messages") == "DELIVERED"
    # Out of order: a late "sent" does not move it back.
    reply = await post_signed(client, "/twilio/status", {"MessageSid": "SM123", "MessageStatus": "sent"})
    assert reply.status == 204
    assert await pool.fetchval("SELECT status FROM notification.messages") == "DELIVERED"


@pytest.mark.parametrize("signature", ["", "bad-signature", "other-token"])
async def test_bad_signature_is_403_and_changes_nothing(
    client: GatewayClient, stack: Stack, pool: asyncpg.Pool, signature: str
) -> None:
    await sent_message(stack, pool, "SM123")
    form = {"MessageSid": "SM123", "MessageStatus": "delivered"}
    if signature == "other-token":
        reply = await post_signed(client, "/twilio/status", form, token="not-the-token")
    else:
        reply = await client.post(
            "/twilio/status", data=form, headers={"X-Twilio-Signature": signature} if signature else {}
        )
    assert reply.status == 403
    assert await pool.fetchval("SELECT status FROM notification.messages") == "SENT"
    tampered = await post_signed(client, "/twilio/status", {"MessageSid": "SM123", "MessageStatus": "failed"})
    assert tampered.status == 204  # a correctly signed request still works


async def test_inbound_stop_and_start_through_the_gateway(
    client: GatewayClient, stack: Stack, pool: asyncpg.Pool
) -> None:
    await sent_message(stack, pool, "SM1")
    reply = await post_signed(client, "/twilio/inbound", {"From": PHONE, "To": "+12125550100", "Body": "STOP"})
    assert reply.status == 200 and "<Response></Response>" in await reply.text()
    opt = await stack.notification_stub.GetOptOut(pb.GetOptOutRequest(tenant_id="acme", phone=PHONE))
    assert opt.opted_out
    await post_signed(client, "/twilio/inbound", {"From": PHONE, "To": "+12125550100", "Body": "start"})
    opt = await stack.notification_stub.GetOptOut(pb.GetOptOutRequest(tenant_id="acme", phone=PHONE))
    assert not opt.opted_out


ODD_FORMS = [
    ("multipart/form-data; boundary=x", b"--x\r\nContent-Disposition: form-data\r\n\r\nno name\r\n--x--\r\n"),
    ("multipart/form-data", b"no boundary"),
    ("multipart/form-data; boundary=x", b"--x\r\n\xff\xfe"),
    ("application/x-www-form-urlencoded", b"MessageSid=%FF%FE&Body=\xff\xfe&%=%%"),
    ("application/x-www-form-urlencoded; charset=nonesuch", b"a=b"),
    ("text/plain", b"\x00" * 100),
]


@pytest.mark.parametrize(("content_type", "body"), ODD_FORMS)
async def test_odd_forms_are_refused_not_500(client: GatewayClient, content_type: str, body: bytes) -> None:
    for path in ("/twilio/status", "/twilio/inbound"):
        for signature in ({}, {"X-Twilio-Signature": "é=="}, {"X-Twilio-Signature": "x" * 5000}):
            reply = await client.post(path, data=body, headers={"Content-Type": content_type, **signature})
            assert reply.status in (400, 403), (path, content_type, await reply.text())
