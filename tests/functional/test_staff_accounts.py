"""Staff accounts for the console (availability) and the day view's holds and blocks
(reservation), over real gRPC against a real PostgreSQL; and the `booking staff` command."""

from __future__ import annotations

import asyncio
import statistics
import sys
import time
from datetime import timedelta

import grpc
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as pb
from services.availability.staff_accounts import Passwords
from tests.conftest import Clock, Stack
from tests.functional.booking import hold, load_clinic, ts, tuesday

PASSWORD = "correct horse battery staple"
DESK = pb.StaffAction(actor="console:anna@acme.test", reason="lunch")


async def add(stack: Stack, email: str = "Anna@Acme.test", password: str = PASSWORD, replace: bool = False) -> bool:
    reply = await stack.availability_stub.CreateStaffAccount(
        apb.CreateStaffAccountRequest(tenant_id="acme", email=email, password=password, replace=replace)
    )
    return bool(reply.created)


async def verified(stack: Stack, email: str, password: str, tenant: str = "acme") -> bool:
    reply = await stack.availability_stub.VerifyStaffPassword(
        apb.VerifyStaffPasswordRequest(tenant_id=tenant, email=email, password=password)
    )
    return bool(reply.verified)


async def test_an_account_verifies_only_its_own_password_in_its_own_tenant(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    assert await add(stack)
    assert await verified(stack, "anna@acme.test", PASSWORD)
    assert await verified(stack, " ANNA@acme.TEST ", PASSWORD)  # emails compare in lower case
    assert not await verified(stack, "anna@acme.test", PASSWORD + "!")
    assert not await verified(stack, "bob@acme.test", PASSWORD)
    assert not await verified(stack, "anna@acme.test", PASSWORD, tenant="other")
    assert not await verified(stack, "anna@acme.test", PASSWORD + "x" * 2000)


async def test_the_password_is_stored_only_as_an_argon2id_hash(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    await add(stack)
    stored = await stack.availability_deps.pool.fetchval("SELECT password_hash FROM availability.staff_accounts")
    assert stored.startswith("$argon2id$") and PASSWORD not in stored


async def test_adding_twice_is_refused_unless_replacing_and_remove_ends_the_account(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    await add(stack)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await add(stack, password="another password 123")
    assert error.value.code() == grpc.StatusCode.ALREADY_EXISTS
    assert await verified(stack, "anna@acme.test", PASSWORD)
    assert await add(stack, password="another password 123", replace=True) is False
    assert await verified(stack, "anna@acme.test", "another password 123")
    assert not await verified(stack, "anna@acme.test", PASSWORD)
    listed = await stack.availability_stub.ListStaffAccounts(apb.ListStaffAccountsRequest(tenant_id="acme"))
    assert [a.email for a in listed.accounts] == ["anna@acme.test"] and "argon2" not in str(listed)
    removed = await stack.availability_stub.RemoveStaffAccount(
        apb.RemoveStaffAccountRequest(tenant_id="acme", email="anna@acme.test")
    )
    assert removed.removed
    assert not await verified(stack, "anna@acme.test", "another password 123")


@pytest.mark.parametrize(
    ("email", "password", "field"),
    [("not-an-email", PASSWORD, "email"), ("anna@acme.test", "short", "password"), ("", PASSWORD, "email")],
)
async def test_a_bad_email_or_short_password_is_invalid_argument_naming_the_field(
    stack: Stack, clock: Clock, email: str, password: str, field: str
) -> None:
    await load_clinic(stack, clock)
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await add(stack, email=email, password=password)
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert (error.value.details() or "").startswith(field)


async def test_an_unknown_tenant_is_not_found(stack: Stack) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await add(stack)
    assert error.value.code() == grpc.StatusCode.NOT_FOUND


async def test_an_unknown_email_costs_as_much_as_a_wrong_password() -> None:
    passwords = Passwords()
    stored = await passwords.hash(PASSWORD)
    await passwords.verify(None, "warm-up")  # the decoy hash is made at the first unknown email

    async def timed(value: str | None) -> float:
        started = time.perf_counter()
        assert not await passwords.verify(value, "wrong password 1234")
        return time.perf_counter() - started

    wrong = [await timed(stored) for _ in range(5)]
    unknown = [await timed(None) for _ in range(5)]
    ratio = statistics.median(unknown) / statistics.median(wrong)
    assert 0.5 < ratio < 2.0, (wrong, unknown)


async def test_concurrent_sign_ins_are_all_answered(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    await add(stack)
    results = await asyncio.gather(
        *(verified(stack, "anna@acme.test", PASSWORD if n % 2 else "nope") for n in range(10))
    )
    assert results == [bool(n % 2) for n in range(10)]


async def test_the_staff_command_adds_lists_and_removes_with_documented_exit_codes(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    target = ["staff", "--target", f"127.0.0.1:{stack.availability.port}"]

    async def staff(*args: str, stdin: str = "") -> tuple[int, str, str]:
        process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "common.cli", *target, *args, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await asyncio.wait_for(process.communicate(stdin.encode()), 60)
        assert process.returncode is not None
        return process.returncode, out.decode(), err.decode()

    code, out, _ = await staff("add", "acme", "anna@acme.test", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 0 and "added anna@acme.test" in out and PASSWORD not in out
    assert await verified(stack, "anna@acme.test", PASSWORD)
    code, _, err = await staff("add", "acme", "anna@acme.test", "--password-stdin", stdin=PASSWORD + "\n")
    assert code == 1 and len(err.strip().splitlines()) == 1
    code, _, err = await staff("add", "acme", "bob@acme.test", "--password-stdin", stdin="short\n")
    assert code == 1 and "password" in err and "short" not in err
    code, out, _ = await staff("list", "acme")
    assert code == 0 and out.startswith("anna@acme.test  created ")
    assert (await staff("remove", "acme", "anna@acme.test"))[0] == 0
    assert (await staff("remove", "acme", "anna@acme.test"))[0] == 1
    assert (await staff("add", "nowhere", "a@b.test", "--password-stdin", stdin=PASSWORD + "\n"))[0] == 1


async def test_holds_and_blocks_of_a_day_are_listed_without_phones(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    held = await hold(stack, tuesday(9), patient_phone="+12125550100")
    gone = await hold(stack, tuesday(11), provider="p2", call="call-2")
    await stack.reservation_stub.ReleaseHold(pb.ReleaseHoldRequest(tenant_id="acme", hold_id=gone.hold.hold_id))
    blocked = await stack.reservation_stub.BlockTime(
        pb.BlockTimeRequest(
            tenant_id="acme", provider_id="p2", range=C.TimeRange(start=ts(tuesday(12)), end=ts(tuesday(13))),
            action=DESK,
        )
    )  # fmt: skip
    day = C.TimeRange(start=ts(tuesday(0)), end=ts(tuesday(0) + timedelta(days=1)))
    reply = await stack.reservation_stub.ListHoldsAndBlocks(pb.ListHoldsAndBlocksRequest(tenant_id="acme", range=day))
    assert [h.hold_id for h in reply.holds] == [held.hold.hold_id]
    assert reply.holds[0].patient.name == "Pat" and reply.holds[0].patient.phone == ""
    assert reply.holds[0].expires_at.ToDatetime() > clock.now.replace(tzinfo=None)
    assert [(b.block_id, b.provider_id, b.action.reason) for b in reply.blocks] == [(blocked.block_id, "p2", "lunch")]
    clock.advance(minutes=11)  # the hold runs out
    later = await stack.reservation_stub.ListHoldsAndBlocks(pb.ListHoldsAndBlocksRequest(tenant_id="acme", range=day))
    assert list(later.holds) == [] and len(later.blocks) == 1
    only_p1 = await stack.reservation_stub.ListHoldsAndBlocks(
        pb.ListHoldsAndBlocksRequest(tenant_id="acme", range=day, provider_ids=["p1"])
    )
    assert list(only_p1.blocks) == []


async def test_a_range_over_31_days_is_invalid(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    wide = C.TimeRange(start=ts(tuesday(0)), end=ts(tuesday(0) + timedelta(days=32)))
    with pytest.raises(grpc.aio.AioRpcError) as error:
        await stack.reservation_stub.ListHoldsAndBlocks(pb.ListHoldsAndBlocksRequest(tenant_id="acme", range=wide))
    assert error.value.code() == grpc.StatusCode.INVALID_ARGUMENT


async def test_watch_from_now_skips_the_history_and_streams_what_follows(stack: Stack, clock: Clock) -> None:
    await load_clinic(stack, clock)
    await hold(stack, tuesday(9))  # history
    stream = stack.reservation_stub.WatchSchedule(pb.WatchScheduleRequest(tenant_id="acme", from_now=True))
    first = asyncio.ensure_future(stream.read())
    await asyncio.sleep(0.3)
    assert not first.done()
    fresh = await hold(stack, tuesday(10), call="call-2")
    change = await asyncio.wait_for(first, 5)
    assert change.reservation_id == fresh.hold.hold_id and change.kind == pb.SCHEDULE_CHANGE_KIND_HELD
    stream.cancel()
