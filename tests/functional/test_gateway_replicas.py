"""Two gateway replicas on one stack: a Vapi retry that reaches the other replica gets the same bytes
and causes nothing twice."""

from __future__ import annotations

import asyncio
import json

import asyncpg
import grpc
import pytest
from prometheus_client import REGISTRY

from booking.availability.v1 import availability_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as rpb
from booking.reservation.v1 import reservation_pb2_grpc
from common.grpc_client import open_channel
from gateway.replies import SharedReplies, reply_key
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


def keep_requests() -> float:
    labels = {"grpc_service": "booking.reservation.v1.ReservationService", "grpc_method": "KeepToolReplies",
              "grpc_code": "OK"}  # fmt: skip
    return REGISTRY.get_sample_value("grpc_server_handled_total", labels) or 0.0


async def test_answers_finished_together_are_kept_in_fewer_requests(stack: Stack, pool: asyncpg.Pool) -> None:
    """Answers that finish in one round go in one request; one that finishes while a request is in
    flight goes in the next."""
    channel = open_channel(f"127.0.0.1:{stack.reservation.port}")
    shared = SharedReplies(lambda: reservation_pb2_grpc.ReservationServiceStub(channel))
    before = keep_requests()
    try:
        kept = await asyncio.gather(*(shared.keep("acme", f"c:{n}", f"reply {n}") for n in range(30)))
        assert kept == [f"reply {n}" for n in range(30)]
        assert keep_requests() - before == 1
        first = asyncio.create_task(shared.keep("acme", "c:30", "reply 30"))
        await asyncio.sleep(0)  # its request is on its way
        later = await asyncio.gather(*(shared.keep("acme", f"c:{n}", f"reply {n}") for n in range(31, 40)))
        assert await first == "reply 30" and later == [f"reply {n}" for n in range(31, 40)]
        assert keep_requests() - before == 3
    finally:
        await channel.close()
    assert await pool.fetchval("SELECT count(*) FROM reservation.tool_replies") == 40


async def test_thirty_calls_at_once_are_each_kept_as_answered(stack: Stack, clock: Clock, pool: asyncpg.Pool) -> None:
    """Through the gateway: every answer is kept, each exactly as the caller got it, and answers
    that finished while a keep request was in flight shared the next one."""
    await load_demo(stack, clock)
    before = keep_requests()
    async with gateway_client(stack, clock) as gateway:
        answers = await asyncio.gather(*(
            call_tool(gateway, "reserve_slot", {"start": f"2026-11-{24 + n // 10}T{9 + n % 10}:00"},
                      tool_call_id="tc-1", call_id=f"call-{n}")
            for n in range(30)
        ))  # fmt: skip
    rows = await pool.fetch("SELECT reply_key, reply FROM reservation.tool_replies")
    kept = {row["reply_key"]: json.loads(row["reply"]) for row in rows}
    assert kept == {f"call-{n}:tc-1": answers[n] for n in range(30)}
    assert 1 <= keep_requests() - before <= 30


async def test_keeping_hands_back_the_first_answer_in_order(stack: Stack, pool: asyncpg.Pool) -> None:
    def entry(key: str, reply: str, tenant: str = "acme") -> rpb.ToolReply:
        return rpb.ToolReply(tenant_id=tenant, key=key, reply=reply)

    keep = stack.reservation_stub.KeepToolReplies
    first = await keep(rpb.KeepToolRepliesRequest(replies=[entry("c:1", "one"), entry("c:2", "two")]))
    assert list(first.replies) == ["one", "two"]
    # A later answer for a kept key gets the first back; a new key, or another tenant's, its own.
    again = await keep(rpb.KeepToolRepliesRequest(
        replies=[entry("c:3", "three"), entry("c:1", "uno"), entry("c:1", "un", tenant="other")]
    ))  # fmt: skip
    assert list(again.replies) == ["three", "one", "un"]
    # Twenty keepers of one key at once: one answer wins, everybody gets it.
    raced = await asyncio.gather(
        *(keep(rpb.KeepToolRepliesRequest(replies=[entry("c:9", f"r{n}")])) for n in range(20))
    )
    assert len({reply.replies[0] for reply in raced}) == 1
    assert await pool.fetchval("SELECT count(*) FROM reservation.tool_replies") == 5


@pytest.mark.parametrize(
    ("replies", "field"),
    [
        ([], "replies"),
        ([rpb.ToolReply(tenant_id="acme", key="", reply="x")], "replies[0].key"),
        (
            [rpb.ToolReply(tenant_id="acme", key="k", reply="x"), rpb.ToolReply(key="k", reply="x")],
            "replies[1].tenant_id",
        ),
        ([rpb.ToolReply(tenant_id="acme", key="k" * 301, reply="x")], "replies[0].key"),
        ([rpb.ToolReply(tenant_id="acme", key="k", reply="x" * 65_537)], "replies[0].reply"),
    ],
)
async def test_keeping_a_bad_answer_names_the_field(
    stack: Stack, pool: asyncpg.Pool, replies: list[rpb.ToolReply], field: str
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.reservation_stub.KeepToolReplies(rpb.KeepToolRepliesRequest(replies=replies))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.value.details() or "").startswith(field)
    assert await pool.fetchval("SELECT count(*) FROM reservation.tool_replies") == 0


async def test_a_retry_the_other_replica_cannot_run_now_gets_the_kept_answer(
    stack: Stack, clock: Clock, pool: asyncpg.Pool
) -> None:
    """Availability went down between the first delivery and the retry: the retry cannot run,
    and rather than "trouble reaching" it answers what the first replica answered."""
    await load_demo(stack, clock)
    args = {"start": SLOT_START, "patient_name": "Ana"}
    async with gateway_client(stack, clock) as first, gateway_client(stack, clock) as second:
        await call_tool(second, "check_availability", {"date": "tomorrow"}, tool_call_id="tc-0")  # signed in
        answer = await call_tool(first, "reserve_slot", args, tool_call_id="tc-7")
        working = stack.reservation_deps.availability
        dead = open_channel("127.0.0.1:1")
        stack.reservation_deps.availability = availability_pb2_grpc.AvailabilityServiceStub(dead)
        try:
            again = await call_tool(second, "reserve_slot", args, tool_call_id="tc-7")
            fresh = await call_tool(second, "reserve_slot", args, tool_call_id="tc-8")
        finally:
            stack.reservation_deps.availability = working
            await dead.close()
    assert answer["ok"] is True and again == answer
    assert fresh["ok"] is False and fresh["cause"] == "BACKEND_UNAVAILABLE"  # nothing kept for it
    assert await live_holds(pool) == 1


async def test_a_keeper_that_cannot_reach_reservation_answers_each_call_with_its_own(stack: Stack) -> None:
    channel = open_channel(f"127.0.0.1:{stack.reservation.port}")
    await channel.close()  # calls on it now fail at once, not with an RPC error
    shared = SharedReplies(lambda: reservation_pb2_grpc.ReservationServiceStub(channel))
    async with asyncio.timeout(5):
        kept = await asyncio.gather(*(shared.keep("acme", f"c:{n}", f"reply {n}") for n in range(5)))
        assert kept == [f"reply {n}" for n in range(5)]
        assert await shared.recall("acme", "c:0") == ""


def test_a_long_call_id_is_kept_under_a_digest() -> None:
    assert reply_key("call-1", "tc-1") == "call-1:tc-1"
    long = reply_key("c" * 400, "tc-1")
    assert long.startswith("sha256:") and len(long) <= 300 and long != reply_key("c" * 400, "tc-2")


async def test_keepers_of_the_same_keys_in_opposite_orders_all_agree(stack: Stack, pool: asyncpg.Pool) -> None:
    keys = [f"c:{n}" for n in range(50)]

    async def keep(order: list[str], tag: str) -> dict[str, str]:
        entries = [rpb.ToolReply(tenant_id="acme", key=k, reply=f"{tag} {k}") for k in order]
        reply = await stack.reservation_stub.KeepToolReplies(rpb.KeepToolRepliesRequest(replies=entries))
        return dict(zip(order, reply.replies, strict=True))

    answers = await asyncio.gather(*(keep(keys if n % 2 else keys[::-1], f"r{n}") for n in range(8)))
    assert all(answer == answers[0] for answer in answers)
    lookups = [rpb.ToolReply(tenant_id="acme", key="c:1"), rpb.ToolReply(tenant_id="acme", key="c:none")]
    looked = await stack.reservation_stub.KeepToolReplies(rpb.KeepToolRepliesRequest(replies=lookups))
    assert list(looked.replies) == [answers[0]["c:1"], ""]
    assert await pool.fetchval("SELECT count(*) FROM reservation.tool_replies") == 50
