"""Notification: SMS through the real `twilio` library to a local imitation of Twilio, with
dedupe, retries, leases, opt-outs and delivery status."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import timedelta

import asyncpg
import pytest

from booking.common.v1 import common_pb2
from booking.notification.v1 import notification_pb2 as pb
from devkit.twilio_fake import FakeTwilio
from services.notification.relay import MessageRelay
from services.notification.senders import TwilioSender
from tests.conftest import Clock, Stack

ACCOUNT = "AC" + "0" * 32
TOKEN = "test-auth-token"
TO = "+12125550142"



@pytest.fixture
async def sender(twilio: FakeTwilio) -> AsyncIterator[TwilioSender]:
    sender = TwilioSender(ACCOUNT, TOKEN, from_number="+12125550100", base_url=twilio.url, timeout=5)
    yield sender
    await sender.close()


def relay(pool: asyncpg.Pool, sender: TwilioSender, clock: Clock, **kwargs: object) -> MessageRelay:
    return MessageRelay(pool, sender, clock=clock, jitter=lambda: 1.0, **kwargs)  # type: ignore[arg-type]


async def enqueue(stack: Stack, key: str, to: str = TO, body: str = "Hello from Acme Dental") -> pb.EnqueueSmsResponse:
    # Messages are due from the database's now(); keep the relay's test clock past it.
    stack.reservation_deps.clock.advance(seconds=2)  # type: ignore[attr-defined]
    reply: pb.EnqueueSmsResponse = await stack.notification_stub.EnqueueSms(
        pb.EnqueueSmsRequest(tenant_id="acme", to=to, body=body, dedupe_key=key, kind=pb.MESSAGE_KIND_REMINDER)
    )
    return reply


async def status_of(pool: asyncpg.Pool, key: str) -> str:
    return str(await pool.fetchval("SELECT status FROM notification.messages WHERE dedupe_key = $1", key))


async def test_twenty_concurrent_enqueues_with_one_key_are_one_message_one_request(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    replies = await asyncio.gather(*(enqueue(stack, "reminder:1") for _ in range(20)))
    assert len({r.message_id for r in replies}) == 1
    assert sum(r.created for r in replies) == 1
    await relay(pool, sender, clock).run_once()
    await relay(pool, sender, clock).run_once()
    assert len(twilio.requests) == 1
    assert twilio.requests[0]["To"] == TO and twilio.requests[0]["From"] == "+12125550100"
    assert twilio.requests[0]["_auth"].startswith("Basic ")
    assert await status_of(pool, "reminder:1") == "SENT"


async def test_429_twice_then_201_is_sent_once_after_backoff(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    twilio.script = [(429, 20429), (429, 20429)]
    await enqueue(stack, "k")
    worker = relay(pool, sender, clock, base_backoff=2.0)
    waits = []
    for _ in range(3):
        await worker.run_once()
        row = await pool.fetchrow("SELECT status, next_attempt_at FROM notification.messages")
        assert row is not None
        if row["status"] == "SENT":
            break
        waits.append((row["next_attempt_at"] - clock.now).total_seconds())
        assert await worker.run_once() == 0  # not due before its backoff
        clock.now = row["next_attempt_at"]
    assert waits == [2.0, 4.0]  # exponential (jitter fixed to 1.0 here)
    assert len(twilio.requests) == 3
    assert await status_of(pool, "k") == "SENT"
    attempts = await pool.fetch("SELECT outcome, http_status FROM notification.message_attempts ORDER BY attempt")
    assert [(a["outcome"], a["http_status"]) for a in attempts] == [("retry", 429), ("retry", 429), ("sent", 201)]


async def test_invalid_number_fails_at_once(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    twilio.script = [(400, 21211)]
    await enqueue(stack, "k")
    await relay(pool, sender, clock).run_once()
    clock.advance(hours=1)
    await relay(pool, sender, clock).run_once()
    assert len(twilio.requests) == 1
    row = await pool.fetchrow("SELECT status, error_code FROM notification.messages")
    assert row is not None and (row["status"], row["error_code"]) == ("FAILED", "21211")


async def test_unsubscribed_number_is_opted_out_and_later_refused(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    twilio.script = [(400, 21610)]
    await enqueue(stack, "first")
    await relay(pool, sender, clock).run_once()
    assert await status_of(pool, "first") == "FAILED"
    opt = await stack.notification_stub.GetOptOut(pb.GetOptOutRequest(tenant_id="acme", phone=TO))
    assert opt.opted_out
    later = await enqueue(stack, "second")
    assert later.status == pb.MESSAGE_STATUS_SUPPRESSED
    assert later.failure.cause == common_pb2.FAILURE_CAUSE_PHONE_OPTED_OUT
    await relay(pool, sender, clock).run_once()
    assert len(twilio.requests) == 1


async def test_a_crashed_workers_messages_are_sent_once_after_its_lease(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    for n in range(5):
        await enqueue(stack, f"k{n}")
    crashed = relay(pool, sender, clock, lease=timedelta(seconds=60))
    assert len(await crashed.claim()) == 5  # claimed, then the worker dies before sending
    survivor = relay(pool, sender, clock)
    assert await survivor.run_once() == 0  # still leased
    clock.advance(seconds=61)
    assert await survivor.run_once() == 5
    assert await survivor.run_once() == 0
    assert sorted(r["Body"] for r in twilio.requests) == ["Hello from Acme Dental"] * 5
    assert len(twilio.requests) == 5


async def test_a_worker_killed_mid_send_leaves_the_rest_to_another(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    for n in range(3):
        await enqueue(stack, f"k{n}")
    twilio.delay = 2.0
    dying = relay(pool, sender, clock)
    task = asyncio.create_task(dying.run_once())
    await asyncio.sleep(0.5)
    task.cancel()  # killed while its requests are in flight
    with pytest.raises(asyncio.CancelledError):
        await task
    twilio.delay = 0.0
    in_flight = len(twilio.requests)
    clock.advance(seconds=61)
    await relay(pool, sender, clock).run_once()
    statuses = [r["status"] for r in await pool.fetch("SELECT status FROM notification.messages")]
    assert statuses == ["SENT"] * 3
    # At least once: the ones in flight at the kill may have reached Twilio; each is sent again once.
    assert len(twilio.requests) == in_flight + 3


async def test_a_text_twilio_accepted_before_its_worker_died_is_not_sent_again(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    """The worker handed the text to Twilio and died before recording it: the next worker finds it in
    Twilio's list and records it; an identical text queued later is still sent on its own."""
    await enqueue(stack, "k-dead")
    dying = relay(pool, sender, clock, lease=timedelta(seconds=60))
    (claimed,) = await dying.claim()
    accepted = await sender.send(claimed.to_phone, claimed.body)  # reached Twilio; then kill -9
    clock.advance(seconds=61)
    await enqueue(stack, "k-later")  # the same body to the same number
    assert await relay(pool, sender, clock).run_once() == 2
    rows = await pool.fetch("SELECT dedupe_key, status, provider_sid FROM notification.messages ORDER BY dedupe_key")
    assert [(r["dedupe_key"], r["status"]) for r in rows] == [("k-dead", "SENT"), ("k-later", "SENT")]
    assert rows[0]["provider_sid"] == accepted.provider_sid != rows[1]["provider_sid"]
    assert len(twilio.accepted) == 2  # one per message, none twice


async def test_two_workers_over_two_hundred_messages_send_each_once(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    await asyncio.gather(*(enqueue(stack, f"k{n}", body=f"message {n}") for n in range(200)))
    workers = [relay(pool, sender, clock, batch=10), relay(pool, sender, clock, batch=10)]

    async def drain(worker: MessageRelay) -> None:
        while await worker.run_once():
            pass

    await asyncio.gather(*(drain(w) for w in workers))
    bodies = [r["Body"] for r in twilio.requests]
    assert len(bodies) == 200 and len(set(bodies)) == 200
    assert await pool.fetchval("SELECT count(*) FROM notification.messages WHERE status = 'SENT'") == 200


async def test_otp_is_not_resent_blindly_and_its_code_is_scrubbed(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    twilio.script = [(500, None)]
    await stack.notification_stub.EnqueueSms(
        pb.EnqueueSmsRequest(tenant_id="acme", to=TO, kind=pb.MESSAGE_KIND_OTP, otp_code="123456", dedupe_key="otp:1")
    )
    await relay(pool, sender, clock).run_once()
    clock.advance(hours=1)
    await relay(pool, sender, clock).run_once()
    assert len(twilio.requests) == 1  # a 5xx may have been delivered: a new code beats a second text
    row = await pool.fetchrow("SELECT status, body FROM notification.messages")
    assert row is not None and row["status"] == "FAILED" and "123456" not in row["body"]


async def test_inbound_stop_then_start_flips_the_opt_out_and_suppresses_confirmations(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    await enqueue(stack, "before")  # so the number is known to this tenant
    reply = await stack.notification_stub.RecordInboundSms(
        pb.RecordInboundSmsRequest(body=" Stop ", to="+12125550100", **{"from": TO})
    )
    assert reply.action == pb.INBOUND_ACTION_OPTED_OUT
    confirmation = await enqueue(stack, "confirmation:1")
    assert confirmation.status == pb.MESSAGE_STATUS_SUPPRESSED
    help_reply = await stack.notification_stub.RecordInboundSms(pb.RecordInboundSmsRequest(body="HELP", **{"from": TO}))
    assert help_reply.action == pb.INBOUND_ACTION_HELP
    start = await stack.notification_stub.RecordInboundSms(pb.RecordInboundSmsRequest(body="START", **{"from": TO}))
    assert start.action == pb.INBOUND_ACTION_OPTED_IN
    assert (await enqueue(stack, "after")).status == pb.MESSAGE_STATUS_QUEUED
    await relay(pool, sender, clock).run_once()
    assert [r["Body"] for r in twilio.requests] == ["Hello from Acme Dental", "Hello from Acme Dental"]
    assert await status_of(pool, "confirmation:1") == "SUPPRESSED"


async def test_delivery_status_never_moves_backwards(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    await enqueue(stack, "k")
    await relay(pool, sender, clock).run_once()
    sid = await pool.fetchval("SELECT provider_sid FROM notification.messages")
    for twilio_status, expected in [
        ("delivered", pb.MESSAGE_STATUS_DELIVERED),
        ("sent", pb.MESSAGE_STATUS_DELIVERED),
        ("queued", pb.MESSAGE_STATUS_DELIVERED),
    ]:
        reply = await stack.notification_stub.RecordDeliveryStatus(
            pb.RecordDeliveryStatusRequest(provider_sid=sid, status=twilio_status)
        )
        assert reply.found and reply.status == expected
    unknown = await stack.notification_stub.RecordDeliveryStatus(
        pb.RecordDeliveryStatusRequest(provider_sid="SMnope", status="sent")
    )
    assert not unknown.found


async def test_a_text_a_dead_worker_sent_is_found_behind_a_hundred_newer_ones_and_not_sent_again(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    await enqueue(stack, "moved:1", body="Acme Dental: your visit moved to Friday")
    dead = relay(pool, sender, clock)
    [claimed] = await dead.claim()  # the worker took it, Twilio accepted it, then the worker was killed
    first = await sender.send(claimed.to_phone, claimed.body)
    for n in range(120):  # the number kept getting texts while the dead worker's lease ran
        await sender.send(TO, f"Acme Dental: reminder {n}")
    clock.advance(seconds=61)
    pages_before = twilio.list_requests
    assert await relay(pool, sender, clock).run_once() == 1
    assert len(twilio.accepted) == 121  # found in Twilio's list, not sent a second time
    assert twilio.list_requests - pages_before == 3  # 121 messages, 50 a page, newest first
    row = await pool.fetchrow("SELECT status, provider_sid FROM notification.messages")
    assert row is not None and (row["status"], row["provider_sid"]) == ("SENT", first.provider_sid)


async def test_a_claimed_text_twilio_never_got_is_sent_when_the_lease_ends(
    stack: Stack, pool: asyncpg.Pool, sender: TwilioSender, twilio: FakeTwilio, clock: Clock
) -> None:
    await enqueue(stack, "moved:1", body="Acme Dental: your visit moved to Friday")
    await relay(pool, sender, clock).claim()  # killed before sending anything
    await sender.send(TO, "Acme Dental: your visit moved to Friday")  # the same words, another message's
    await pool.execute("UPDATE notification.messages SET created_at = now() + interval '5 minutes'")
    clock.advance(seconds=61)
    assert await relay(pool, sender, clock).run_once() == 1
    assert len(twilio.accepted) == 2  # the older identical text was not this message's
    assert await status_of(pool, "moved:1") == "SENT"
