"""One-time codes: Verify-grade limits, exactly-once consumption, never logged, bound to call and phone."""

from __future__ import annotations

import asyncio
import logging
import re

import asyncpg
import grpc
import pytest

from booking.reservation.v1 import reservation_pb2 as pb
from common.logs import JsonFormatter
from tests.conftest import Clock, Stack
from tests.functional.booking import CAUSE, hold, load_clinic, phone, tuesday

PHONE = phone(42)


async def send(stack: Stack, call: str = "call-otp", number: str = PHONE) -> pb.SendOtpResponse:
    reply: pb.SendOtpResponse = await stack.reservation_stub.SendOtp(
        pb.SendOtpRequest(tenant_id="acme", phone=number, call_id=call)
    )
    return reply


async def verify(stack: Stack, code: str, call: str = "call-otp") -> pb.VerifyOtpResponse:
    reply: pb.VerifyOtpResponse = await stack.reservation_stub.VerifyOtp(
        pb.VerifyOtpRequest(tenant_id="acme", phone=PHONE, call_id=call, code=code)
    )
    return reply


async def texted_code(pool: asyncpg.Pool) -> str:
    """The code as the caller reads it from the SMS (the only place it exists in clear)."""
    body = await pool.fetchval(
        "SELECT body FROM notification.messages WHERE kind = 'OTP' ORDER BY created_at DESC LIMIT 1"
    )
    match = re.search(r"code is (\d{6})", body)
    assert match, body
    return match.group(1)


def wrong(code: str) -> str:
    return f"{(int(code) + 1) % 1_000_000:06d}"


async def test_the_code_text_starts_with_the_clinics_name_in_one_segment(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    assert (await send(stack)).sent
    spanish = await stack.reservation_stub.SendOtp(
        pb.SendOtpRequest(tenant_id="acme", phone=phone(43), call_id="call-es", language="es")
    )
    assert spanish.sent
    rows = await pool.fetch("SELECT to_phone, body, segments FROM notification.messages WHERE kind = 'OTP'")
    bodies = {r["to_phone"]: (r["body"], r["segments"]) for r in rows}
    english_body, english_segments = bodies[PHONE]
    spanish_body, spanish_segments = bodies[phone(43)]
    assert re.fullmatch(r"Acme Dental: your verification code is \d{6}\. It expires in 10 minutes\. Don't share it\.",
                        english_body)  # fmt: skip
    assert re.fullmatch(r"Acme Dental: su código es \d{6}\. Vence en 10 minutos\. No lo comparta\.", spanish_body)
    assert english_segments == spanish_segments == 1


async def test_wrong_five_times_then_right_is_max_attempts(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    sent = await send(stack)
    assert sent.sent and not sent.HasField("failure")
    code = await texted_code(pool)
    lefts = []
    for _ in range(5):
        reply = await verify(stack, wrong(code))
        assert CAUSE(reply.failure.cause) == "FAILURE_CAUSE_OTP_INVALID"
        lefts.append(reply.attempts_left)
    assert lefts == [4, 3, 2, 1, 0]
    assert CAUSE((await verify(stack, code)).failure.cause) == "FAILURE_CAUSE_OTP_MAX_ATTEMPTS"


async def test_code_expires_after_ten_minutes(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    await send(stack)
    code = await texted_code(pool)
    clock.advance(minutes=10)
    assert CAUSE((await verify(stack, code)).failure.cause) == "FAILURE_CAUSE_OTP_EXPIRED"


async def test_sixth_send_in_ten_minutes_is_refused_even_concurrently(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    replies = await asyncio.gather(*(send(stack, call=f"c{i}") for i in range(8)))
    assert sum(r.sent for r in replies) == 5
    assert {CAUSE(r.failure.cause) for r in replies if not r.sent} == {"FAILURE_CAUSE_OTP_SEND_LIMIT"}
    clock.advance(minutes=10, seconds=1)
    assert (await send(stack)).sent  # the window moved on


async def test_concurrent_right_codes_are_consumed_once(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    await send(stack)
    code = await texted_code(pool)
    replies = await asyncio.gather(*(verify(stack, code) for _ in range(10)))
    assert sum(r.verified for r in replies) == 1
    assert all(CAUSE(r.failure.cause) == "FAILURE_CAUSE_OTP_EXPIRED" for r in replies if not r.verified)


async def test_a_new_code_replaces_the_old_one(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_clinic(stack, clock)
    await send(stack)
    old = await texted_code(pool)
    await send(stack)
    new = await texted_code(pool)
    if old != new:
        assert not (await verify(stack, old)).verified
    assert (await verify(stack, new)).verified


async def test_booking_needs_a_verified_code_of_this_call_and_phone(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    held = await hold(stack, tuesday(10), service="verified", call="call-otp", patient_phone=PHONE)
    confirm = pb.ConfirmHoldRequest(tenant_id="acme", hold_id=held.hold.hold_id, call_id="call-otp")
    assert CAUSE((await stack.reservation_stub.ConfirmHold(confirm)).failure.cause) == "FAILURE_CAUSE_OTP_REQUIRED"
    # A code verified by another call does not count.
    await send(stack, call="someone-else")
    await stack.reservation_stub.VerifyOtp(
        pb.VerifyOtpRequest(tenant_id="acme", phone=PHONE, call_id="someone-else", code=await texted_code(pool))
    )
    assert CAUSE((await stack.reservation_stub.ConfirmHold(confirm)).failure.cause) == "FAILURE_CAUSE_OTP_REQUIRED"
    await send(stack)
    assert (await verify(stack, await texted_code(pool))).verified
    assert (await stack.reservation_stub.ConfirmHold(confirm)).HasField("appointment")


async def test_the_code_is_never_logged_nor_stored_in_clear(
    stack: Stack, clock: Clock, pool: asyncpg.Pool, caplog: pytest.LogCaptureFixture
) -> None:
    await load_clinic(stack, clock)
    with caplog.at_level(logging.DEBUG):
        await send(stack)
        code = await texted_code(pool)
        await verify(stack, wrong(code))
        await verify(stack, code)
    formatter = JsonFormatter("test")
    logged = "\n".join(formatter.format(record) for record in caplog.records)
    assert caplog.records  # the services did log (access lines), just never the code
    assert code not in logged and PHONE not in logged
    stored = await pool.fetchrow("SELECT code_hash, salt FROM reservation.otp_codes")
    assert stored is not None
    assert code.encode() not in bytes(stored["code_hash"]) and len(bytes(stored["code_hash"])) == 32
    outbox = await pool.fetch("SELECT payload FROM reservation.outbox")
    assert all(code.encode() not in bytes(r["payload"]) for r in outbox)


async def test_a_repeated_send_with_one_idempotency_key_texts_one_code(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    request = pb.SendOtpRequest(tenant_id="acme", phone=PHONE, call_id="call-otp", idempotency_key="acme:tool-9")
    replies = await asyncio.gather(*(stack.reservation_stub.SendOtp(request) for _ in range(5)))
    assert all(r.sent for r in replies) and len({r.SerializeToString() for r in replies}) == 1
    assert await pool.fetchval("SELECT count(*) FROM reservation.otp_codes") == 1
    assert await pool.fetchval("SELECT count(*) FROM notification.messages WHERE kind = 'OTP'") == 1


async def test_a_repeated_check_with_one_idempotency_key_is_answered_alike_and_counted_once(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_clinic(stack, clock)
    await send(stack)
    code = await texted_code(pool)

    async def check(attempt: str, key: str) -> pb.VerifyOtpResponse:
        reply: pb.VerifyOtpResponse = await stack.reservation_stub.VerifyOtp(
            pb.VerifyOtpRequest(tenant_id="acme", phone=PHONE, call_id="call-otp", code=attempt, idempotency_key=key)
        )
        return reply

    # A wrong code repeated five times at once with one key (a retried tool call) uses one attempt.
    repeats = await asyncio.gather(*(check(wrong(code), "acme:call-otp:tc-1") for _ in range(5)))
    assert {r.SerializeToString() for r in repeats} == {repeats[0].SerializeToString()}
    assert CAUSE(repeats[0].failure.cause) == "FAILURE_CAUSE_OTP_INVALID" and repeats[0].attempts_left == 4
    assert await pool.fetchval("SELECT attempts FROM reservation.otp_codes") == 1
    # A later repeat of that key still gets the first answer, even once the right code was given.
    assert (await check(code, "acme:call-otp:tc-2")).verified
    again = await check(wrong(code), "acme:call-otp:tc-1")
    assert again.SerializeToString() == repeats[0].SerializeToString()
    # The key belongs to VerifyOtp now: SendOtp may not reuse it.
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.reservation_stub.SendOtp(
            pb.SendOtpRequest(tenant_id="acme", phone=PHONE, call_id="call-otp", idempotency_key="acme:call-otp:tc-1")
        )
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


@pytest.mark.parametrize("key", ["otp\x1fbudget", "tab\tkey", "line\nkey"])
async def test_an_idempotency_key_with_a_control_character_is_refused(stack: Stack, clock: Clock, key: str) -> None:
    """A key's lock is named with the unit separator: a key may never name another lock."""
    await load_clinic(stack, clock)
    send = pb.SendOtpRequest(tenant_id="acme", phone=PHONE, call_id="c", idempotency_key=key)
    check = pb.VerifyOtpRequest(tenant_id="acme", call_id="c", code="1", idempotency_key=key)
    for call in (stack.reservation_stub.SendOtp(send), stack.reservation_stub.VerifyOtp(check)):
        with pytest.raises(grpc.aio.AioRpcError) as error:
            await call
        assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert (error.value.details() or "").startswith("idempotency_key")
