"""The staff console over real HTTP against the real services: sign-in, sessions bound to one
clinic, CSRF on every form, sign-in limits, the day view, live events, and actions reaching callers."""

from __future__ import annotations

import asyncio
import json
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import to_timestamp
from devkit.processes import ROOT
from gateway.client_address import parse_networks
from gateway.console import live, routes
from gateway.console.access import CONSOLE, SESSION_COOKIE
from gateway.console.day import day_range
from gateway.console.limits import FAILURES_PER_ACCOUNT
from services.availability.clinic_file import load_clinic_file
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.console_client import (
    EMAIL,
    PASSWORD,
    add_staff,
    console_gateway,
    day_page,
    form_token,
    sign_in,
)  # fmt: skip
from tests.functional.vapi_client import call_tool, gateway_client, load_demo

TUESDAY = "2026-11-24"  # the demo clock is Monday 2026-11-23, 7 AM in New York


async def book_by_phone(client: GatewayClient, call: str = "call-1", index: int = 0) -> dict[str, Any]:
    """A caller books a video consultation (no code needed) through /vapi/demo."""
    found = await call_tool(client, "check_availability", {"date": "Tuesday", "service": "video consultation"},
                            call_id=call)  # fmt: skip
    slot: dict[str, Any] = found["slots"][index]
    held = await call_tool(client, "reserve_slot", {"slot_id": slot["slot_id"], "patient_name": "Ada Lovelace"},
                           call_id=call, tool_call_id="tc-2")  # fmt: skip
    assert held["ok"], held
    booked = await call_tool(client, "confirm_booking", {}, call_id=call, tool_call_id="tc-3")
    assert booked["ok"], booked
    return {**slot, "appointment_id": booked["appointment_id"]}


async def test_no_page_fragment_or_event_stream_without_signing_in(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        page = await client.get("/console/demo/", allow_redirects=False)
        assert page.status == 303 and page.headers["Location"] == "/console/demo/login"
        assert (await client.get("/console/demo/grid")).status == 401
        assert (await client.get("/console/demo/events")).status == 401
        posted = await client.post("/console/demo/block", data={"csrf": "x"}, allow_redirects=False)
        assert posted.status == 303 and posted.headers["Location"] == "/console/demo/login"
        forged = await client.get("/console/demo/grid", cookies={SESSION_COOKIE: "A" * 80})
        assert forged.status == 401


async def test_signing_in_sets_a_strict_http_only_cookie_for_this_clinic_only(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        reply = await sign_in(client)
        assert reply.status == 303 and reply.headers["Location"] == "/console/demo/"
        cookie = reply.cookies[SESSION_COOKIE]
        assert cookie["httponly"] and cookie["samesite"] == "Strict" and cookie["path"] == "/console/demo/"
        assert not cookie["secure"]  # plain HTTP on a laptop
        assert EMAIL not in cookie.value  # encrypted, not just signed
        page = await day_page(client, TUESDAY)
        assert "Dr. Amy Lee" in page and "Video consultation" in page and EMAIL in page
        assert "Tuesday, November 24, 2026" in page and "America/New_York" in page
        behind_tls = await sign_in(client, **{"X-Forwarded-Proto": "https"})
        assert behind_tls.cookies[SESSION_COOKIE]["secure"]


async def test_another_clinics_session_is_refused(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        other = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": "other-secret-0123456789"})
        other.tenant_id = "other"
        await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=other))
        await add_staff(stack, tenant="other", email=EMAIL)  # the same person on both: still two sessions
        signed = await sign_in(client)
        cookie = signed.cookies[SESSION_COOKIE].value
        assert (await client.get("/console/demo/grid", cookies={SESSION_COOKIE: cookie})).status == 200
        foreign = await client.get("/console/other/", cookies={SESSION_COOKIE: cookie}, allow_redirects=False)
        assert foreign.status == 303 and foreign.headers["Location"] == "/console/other/login"
        assert (await client.get("/console/other/events", cookies={SESSION_COOKIE: cookie})).status == 401


async def test_a_wrong_password_or_unknown_email_is_refused_alike(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        wrong = await sign_in(client, password=PASSWORD + "!")
        unknown = await sign_in(client, email="nobody@demo.test")
        for reply in (wrong, unknown):
            assert reply.status == 401 and SESSION_COOKIE not in reply.cookies
            assert "Wrong email or password." in await reply.text()
        assert (await client.get("/console/demo/grid")).status == 401


async def test_sign_in_without_its_form_token_is_refused(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        await client.get("/console/demo/login")  # has the cookie half, sends no form half
        reply = await client.post("/console/demo/login", data={"email": EMAIL, "password": PASSWORD, "csrf": "x" * 64})
        assert reply.status == 403 and SESSION_COOKIE not in reply.cookies


async def test_every_form_without_the_sessions_token_is_refused(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        page = await day_page(client, TUESDAY)
        token = form_token(page)
        fields = {"provider": "dr-okafor", "date": TUESDAY, "start": "12:00", "end": "13:00", "reason": "x"}
        for bad in ({}, {"csrf": ""}, {"csrf": token[:-1] + ("A" if token[-1] != "A" else "B")}):
            reply = await client.post("/console/demo/block", data={**fields, **bad}, allow_redirects=False)
            assert reply.status == 403
        missing = "00000000-0000-0000-0000-000000000000"
        for path in ("/console/demo/book", f"/console/demo/appointments/{missing}/cancel",
                     f"/console/demo/appointments/{missing}/move", f"/console/demo/blocks/{missing}/unblock",
                     "/console/demo/logout"):  # fmt: skip
            assert (await client.post(path, data={"csrf": "nope"}, allow_redirects=False)).status == 403
        live = await stack.reservation_stub.ListHoldsAndBlocks(rpb.ListHoldsAndBlocksRequest(
            tenant_id="demo", range=_tuesday_range()))  # fmt: skip
        assert list(live.blocks) == []  # nothing was done
        done = await client.post("/console/demo/block", data={**fields, "csrf": token}, allow_redirects=False)
        assert done.status == 303 and "notice=blocked" in done.headers["Location"]


async def test_sign_in_attempts_are_limited_per_account_then_even_the_right_password_waits(
    stack: Stack, clock: Clock
) -> None:
    async with console_gateway(stack, clock) as client:
        for _ in range(FAILURES_PER_ACCOUNT):
            assert (await sign_in(client, password="wrong password 123")).status == 401
        limited = await sign_in(client)
        assert limited.status == 429 and SESSION_COOKIE not in limited.cookies
        assert "Too many attempts" in await limited.text()
        await add_staff(stack, email="bob@demo.test")
        assert (await sign_in(client, email="bob@demo.test")).status == 303  # another account is not locked


async def test_concurrent_wrong_passwords_cannot_pass_the_account_limit(stack: Stack, clock: Clock) -> None:
    """Guesses sent at once are counted while they are checked: no more than the limit is tried."""
    async with console_gateway(stack, clock) as client:
        page = await client.get("/console/demo/login")
        token = form_token(await page.text())
        guesses = [{"csrf": token, "email": EMAIL, "password": f"wrong password {n:03}"} for n in range(12)]
        replies = await asyncio.gather(
            *(client.post("/console/demo/login", data=form, allow_redirects=False) for form in guesses)
        )
        assert sorted(r.status for r in replies) == [401] * FAILURES_PER_ACCOUNT + [429] * (12 - FAILURES_PER_ACCOUNT)
        assert (await sign_in(client)).status == 429  # the right password waits too


async def test_sign_in_attempts_are_limited_per_address(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        replies = await asyncio.gather(*(sign_in(client, email=f"guess{n}@demo.test") for n in range(21)))
        assert sorted(r.status for r in replies) == [401] * 20 + [429]


async def test_a_forged_forwarded_address_does_not_escape_the_address_limit(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        replies = await asyncio.gather(*(
            sign_in(client, email=f"guess{n}@demo.test", **{"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(21)
        ))  # fmt: skip
        assert sorted(r.status for r in replies) == [401] * 20 + [429]


async def test_behind_a_trusted_proxy_each_caller_has_its_own_address_limit(stack: Stack, clock: Clock) -> None:
    """Every request comes from the proxy (here 127.0.0.1): one shared limit would lock everyone out."""
    async with console_gateway(stack, clock, trusted_proxies=parse_networks("127.0.0.1/32")) as client:
        replies = await asyncio.gather(*(
            sign_in(client, email=f"guess{n}@demo.test", **{"X-Forwarded-For": f"198.51.100.{n}"}) for n in range(21)
        ))  # fmt: skip
        assert sorted(r.status for r in replies) == [401] * 21
        same = [sign_in(client, email=f"again{n}@demo.test", **{"X-Forwarded-For": "203.0.113.7"}) for n in range(21)]
        assert sorted(r.status for r in await asyncio.gather(*same)) == [401] * 20 + [429]


async def test_logout_ends_the_session_in_this_browser(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        token = form_token(await day_page(client, TUESDAY))
        out = await client.post("/console/demo/logout", data={"csrf": token}, allow_redirects=False)
        assert out.status == 303 and out.cookies[SESSION_COOKIE].value == ""
        assert (await client.get("/console/demo/grid")).status == 401


async def test_a_removed_account_is_refused_within_seconds(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        assert (await client.get("/console/demo/grid")).status == 200
        await stack.availability_stub.RemoveStaffAccount(apb.RemoveStaffAccountRequest(tenant_id="demo", email=EMAIL))
        statuses = []
        for _ in range(40):  # ACCOUNTS_SECONDS is 5
            statuses.append((await client.get("/console/demo/grid")).status)
            if statuses[-1] == 401:
                break
            await asyncio.sleep(0.2)
        assert statuses[-1] == 401, statuses


async def _refused_soon(client: GatewayClient, cookie: str) -> None:
    """The grid asked with this session cookie is refused within the gateway's memory of accounts."""
    statuses = []
    for _ in range(40):  # ACCOUNTS_SECONDS is 5
        statuses.append((await client.get("/console/demo/grid", cookies={SESSION_COOKIE: cookie})).status)
        if statuses[-1] == 401:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(statuses)


async def test_a_new_password_or_the_account_made_again_ends_the_sessions_signed_in_before(
    stack: Stack, clock: Clock
) -> None:
    """A password reset after a session cookie was stolen must end that session, and so must
    removing the account and adding it again (even inside the gateway's few seconds of memory)."""
    new_password = "a brand new password 42"
    async with console_gateway(stack, clock) as client:
        first = (await sign_in(client)).cookies[SESSION_COOKIE].value
        assert (await client.get("/console/demo/grid", cookies={SESSION_COOKIE: first})).status == 200
        await stack.availability_stub.CreateStaffAccount(
            apb.CreateStaffAccountRequest(tenant_id="demo", email=EMAIL, password=new_password, replace=True)
        )  # booking staff add --reset
        await _refused_soon(client, first)
        second = (await sign_in(client, password=new_password)).cookies[SESSION_COOKIE].value
        assert (await client.get("/console/demo/grid", cookies={SESSION_COOKIE: second})).status == 200
        await stack.availability_stub.RemoveStaffAccount(apb.RemoveStaffAccountRequest(tenant_id="demo", email=EMAIL))
        await add_staff(stack, password=new_password)  # the same person, the same password, made again
        await _refused_soon(client, second)
        third = (await sign_in(client, password=new_password)).cookies[SESSION_COOKIE].value
        assert (await client.get("/console/demo/grid", cookies={SESSION_COOKIE: third})).status == 200


async def test_the_event_stream_ends_when_the_account_is_removed(
    stack: Stack, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(routes, "HEARTBEAT_SECONDS", 0.2)
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        page = await client.get("/console/demo/events")
        assert page.status == 200
        await page.content.readuntil(b"\n\n")  # the stream is open
        await stack.availability_stub.RemoveStaffAccount(apb.RemoveStaffAccountRequest(tenant_id="demo", email=EMAIL))
        rest = await asyncio.wait_for(page.content.read(), 10)  # ends, rather than lasting the session's 8 hours
        assert b"event: change" not in rest
        assert (await client.get("/console/demo/events")).status == 401


async def test_without_a_session_key_there_is_no_console(stack: Stack, clock: Clock) -> None:
    await load_demo(stack, clock)
    async with gateway_client(stack, clock) as client:
        assert (await client.get("/console/demo/login")).status == 404


def _tuesday_range() -> Any:


    start, end = day_range(date(2026, 11, 24), ZoneInfo("America/New_York"))
    return C.TimeRange(start=to_timestamp(start), end=to_timestamp(end))


async def read_event(response: Any, timeout: float = 5.0) -> dict[str, Any]:
    """The next `change` event of an SSE response."""
    async with asyncio.timeout(timeout):
        lines: list[str] = []
        while True:
            line = (await response.content.readline()).decode().rstrip("\n")
            if line == "" and any(x.startswith("event: change") for x in lines):
                data = next(x for x in lines if x.startswith("data: "))
                parsed: dict[str, Any] = json.loads(data.removeprefix("data: "))
                return parsed
            lines = [] if line == "" else [*lines, line]


async def test_a_booking_by_phone_reaches_every_open_page_through_one_shared_stream(
    stack: Stack, clock: Clock
) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        pages = [await client.get("/console/demo/events") for _ in range(3)]
        assert all(p.status == 200 and p.headers["Content-Type"] == "text/event-stream" for p in pages)
        await asyncio.sleep(0.3)  # the shared stream is established
        started = asyncio.get_running_loop().time()
        slot = await book_by_phone(client)
        events = await asyncio.gather(*(read_event(p) for p in pages))
        assert asyncio.get_running_loop().time() - started < 3
        assert all(e["kind"] == "held" and e["provider_id"] == "dr-okafor" for e in events)
        assert "Ada" not in json.dumps(events)  # which time changed, never who
        grid = await (await client.get(f"/console/demo/grid?date={TUESDAY}")).text()
        assert "Ada Lovelace" in grid and slot["appointment_id"] in grid
        assert client.app[CONSOLE].live.streams_opened == 1
        for page in pages:
            page.close()


async def test_cancelling_from_the_console_offers_the_time_to_the_next_caller(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        slot = await book_by_phone(client)
        after = await call_tool(client, "check_availability", {"date": "Tuesday", "service": "video consultation"},
                                call_id="call-2")  # fmt: skip
        assert slot["start"] not in [s["start"] for s in after["slots"]]
        await sign_in(client)
        page = await day_page(client, TUESDAY)
        assert "Ada Lovelace" in page
        reply = await client.post(
            f"/console/demo/appointments/{slot['appointment_id']}/cancel",
            data={"csrf": form_token(page), "reason": "patient called", "back": TUESDAY, "nonce": "n1"},
            allow_redirects=False,
        )  # fmt: skip
        assert reply.status == 303 and reply.headers["Location"] == f"/console/demo/?date={TUESDAY}&notice=cancelled"
        again = await call_tool(client, "check_availability", {"date": "Tuesday", "service": "video consultation"},
                                call_id="call-3")  # fmt: skip
        assert slot["start"] in [s["start"] for s in again["slots"]]
        shown = await day_page(client, TUESDAY)
        assert "Ada Lovelace" not in shown
        history = await stack.availability_deps.pool.fetchrow(
            "SELECT actor, reason FROM reservation.reservation_events WHERE to_status = 'CANCELED'"
        )
        assert history is not None and dict(history) == {"actor": f"console:{EMAIL}", "reason": "patient called"}


async def lee_tuesday_morning(client: GatewayClient, call: str) -> list[str]:
    offered = await call_tool(client, "check_availability", {"date": "Tuesday morning", "provider": "Doctor Lee"},
                              call_id=call)  # fmt: skip
    return [s["start"] for s in offered.get("slots", []) if f"{TUESDAY}T" <= s["start"] < f"{TUESDAY}T12"]


async def test_walk_in_move_and_block_from_the_console(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        token = form_token(await day_page(client, TUESDAY))
        booked = await client.post("/console/demo/book", data={
            "csrf": token, "nonce": "w1", "back": TUESDAY, "provider": "dr-lee", "service": "cleaning",
            "date": TUESDAY, "time": "14:00", "name": "Grace Hopper", "phone": "", "reason": "walk-in",
        }, allow_redirects=False)  # fmt: skip
        assert booked.headers["Location"].endswith("notice=booked")
        page = await day_page(client, TUESDAY)
        assert "14:00–14:30" in page and "Grace Hopper" in page
        found = await stack.reservation_stub.ListAppointments(
            rpb.ListAppointmentsRequest(tenant_id="demo", range=_tuesday_range())
        )
        appointment = found.appointments[0].appointment_id
        moved = await client.post(f"/console/demo/appointments/{appointment}/move", data={
            "csrf": token, "nonce": "m1", "back": TUESDAY, "provider": "dr-lee", "date": TUESDAY, "time": "15:00",
            "reason": "asked",
        }, allow_redirects=False)  # fmt: skip
        assert moved.headers["Location"].endswith("notice=moved")
        assert "15:00–15:30" in await day_page(client, TUESDAY)
        assert await lee_tuesday_morning(client, "call-before") != []
        block = {"csrf": token, "nonce": "b1", "back": TUESDAY, "provider": "dr-lee", "date": TUESDAY,
                 "start": "09:00", "end": "12:00", "reason": "training"}  # fmt: skip
        blocked = await client.post("/console/demo/block", data=block, allow_redirects=False)
        assert blocked.headers["Location"].endswith("notice=blocked")
        assert await lee_tuesday_morning(client, "call-after") == []  # callers are offered none of it
        page = await day_page(client, TUESDAY)
        assert "Blocked" in page and "training" in page
        refused = await client.post("/console/demo/block", data={**block, "nonce": "b2"}, allow_redirects=False)
        assert refused.headers["Location"].endswith("notice=refused:FAILURE_CAUSE_SLOT_UNAVAILABLE")
        assert "That time is taken (or blocked)." in await (await client.get(refused.headers["Location"])).text()


@pytest.mark.parametrize(
    ("path", "fields"),
    [
        ("/console/demo/block", {"provider": "dr-lee", "date": "tuesday", "start": "09:00", "end": "10:00"}),
        ("/console/demo/block", {"provider": "dr-lee", "date": TUESDAY, "start": "10:00", "end": "09:00"}),
        ("/console/demo/block", {"provider": "dr-nobody", "date": TUESDAY, "start": "09:00", "end": "10:00"}),
        ("/console/demo/book", {"provider": "dr-lee", "service": "cleaning", "date": TUESDAY, "time": "9am"}),
        ("/console/demo/appointments/not-an-id/cancel", {"reason": "x"}),
    ],
)
async def test_bad_form_values_are_400_naming_the_field(
    stack: Stack, clock: Clock, path: str, fields: dict[str, str]
) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        token = form_token(await day_page(client, TUESDAY))
        reply = await client.post(path, data={"csrf": token, **fields}, allow_redirects=False)
        assert reply.status == 400


async def test_a_bad_date_in_the_address_is_400(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        assert (await client.get("/console/demo/?date=2026-13-01")).status == 400
        assert (await client.get("/console/demo/?date=20261124")).status == 400


async def test_names_are_escaped_on_the_page(stack: Stack, clock: Clock) -> None:
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        token = form_token(await day_page(client, TUESDAY))
        await client.post("/console/demo/book", data={
            "csrf": token, "nonce": "x1", "back": TUESDAY, "provider": "dr-lee", "service": "cleaning",
            "date": TUESDAY, "time": "14:00", "name": "<script>alert(1)</script>", "reason": "walk-in",
        }, allow_redirects=False)  # fmt: skip
        page = await day_page(client, TUESDAY)
        assert "<script>alert(1)</script>" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
        reply = await client.get(f"/console/demo/?date={TUESDAY}")
        assert "script-src 'self'" in reply.headers["Content-Security-Policy"]


async def test_the_shared_stream_reconnects_with_its_cursor_and_misses_nothing(
    stack: Stack, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(live, "STREAM_SECONDS", 0.5)  # each WatchSchedule call ends quickly and is re-opened
    async with console_gateway(stack, clock) as client:
        await sign_in(client)
        page = await client.get("/console/demo/events")
        await asyncio.sleep(0.3)
        await book_by_phone(client, call="call-a", index=0)
        first = [await read_event(page) for _ in range(2)]  # held, confirmed
        await asyncio.sleep(1.2)  # the stream has ended and been re-opened (at least twice)
        await book_by_phone(client, call="call-b", index=1)
        second = [await read_event(page) for _ in range(2)]
        assert [e["kind"] for e in first + second] == ["held", "confirmed", "held", "confirmed"]
        assert client.app[CONSOLE].live.streams_opened >= 3
        page.close()
