"""Two gateway replicas on one stack: a Vapi retry that reaches the other replica gets the same bytes
and causes nothing twice."""

from __future__ import annotations

import asyncio

import asyncpg

from tests.conftest import Clock, Stack
from tests.functional.vapi_client import call_tool, gateway_client, load_demo

SLOT_START = "2026-11-24T10:00"


async def live_holds(pool: asyncpg.Pool) -> int:
    return int(await pool.fetchval("SELECT count(*) FROM reservation.reservations WHERE status = 'HELD'"))


async def test_a_retried_reserve_on_the_other_replica_gets_the_first_answer_and_no_second_hold(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_demo(stack, clock)
    args = {"start": SLOT_START, "patient_name": "Ana"}
    async with gateway_client(stack, clock) as first, gateway_client(stack, clock) as second:
        answer = await call_tool(first, "reserve_slot", args, tool_call_id="tc-7")
        clock.advance(minutes=3)  # a fresh run would word the hold's remaining time differently
        again = await call_tool(second, "reserve_slot", args, tool_call_id="tc-7")
        assert answer["ok"] is True
        assert again == answer
        assert await live_holds(pool) == 1

        # A different tool call id is a new request: the same caller's new hold replaces the old.
        other = await call_tool(second, "reserve_slot", {**args, "start": "2026-11-24T11:00"}, tool_call_id="tc-8")
        assert other["ok"] is True and other["hold_id"] != answer["hold_id"]


async def test_the_same_tool_call_delivered_to_both_replicas_at_once_is_answered_alike(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    await load_demo(stack, clock)
    async with gateway_client(stack, clock) as first, gateway_client(stack, clock) as second:
        answers = await asyncio.gather(*(
            call_tool(client, "reserve_slot", {"start": SLOT_START}, tool_call_id=f"tc-{n}", call_id=f"call-{n}")
            for n in range(10) for client in (first, second)
        ))  # fmt: skip
    for n in range(10):
        assert answers[2 * n] == answers[2 * n + 1]
    assert sum(1 for answer in answers if answer["ok"]) == 2  # one call won the slot, seen by both replicas
    assert await live_holds(pool) == 1


async def test_reads_are_not_kept_in_the_shared_store(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    await load_demo(stack, clock)
    async with gateway_client(stack, clock) as first:
        await call_tool(first, "check_availability", {"date": "tomorrow"}, tool_call_id="tc-read")
        await call_tool(first, "reserve_slot", {"start": SLOT_START}, tool_call_id="tc-write")
    keys = {row["reply_key"] for row in await pool.fetch("SELECT reply_key FROM reservation.tool_replies")}
    assert keys == {"call-1:tc-write"}


async def test_a_retried_wrong_code_on_the_other_replica_uses_one_attempt(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    """Nothing is looked up before a tool runs: the retry runs again, and VerifyOtp's idempotency
    key (the tool call's) keeps it from counting a second attempt."""
    await load_demo(stack, clock)
    async with gateway_client(stack, clock) as first, gateway_client(stack, clock) as second:
        assert (await call_tool(first, "reserve_slot", {"start": SLOT_START}, tool_call_id="tc-1"))["ok"]
        assert (await call_tool(first, "send_otp", {}, tool_call_id="tc-2"))["ok"]
        body = await pool.fetchval("SELECT body FROM notification.messages WHERE kind = 'OTP'")
        code = next(word for word in body.split() if word.strip(".").isdigit()).strip(".")
        wrong = f"{(int(code) + 1) % 1_000_000:06d}"
        answer = await call_tool(first, "verify_otp", {"code": wrong}, tool_call_id="tc-3")
        again = await call_tool(second, "verify_otp", {"code": wrong}, tool_call_id="tc-3")
    assert answer["ok"] is False and again == answer
    assert await pool.fetchval("SELECT attempts FROM reservation.otp_codes") == 1
