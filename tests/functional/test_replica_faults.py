"""Two replicas of every process under steady booking load; one replica of each is killed with
SIGKILL in turn (a service every ~2 s, then a gateway). Nothing is double-booked, every text goes
out exactly once, ≥ 99 % of tool calls are `ok` and every other one is a 200 with a sentence.

The callers behave like Vapi: a tool call whose HTTP request fails (the gateway it reached died)
is sent again with the same toolCallId — the surviving gateway answers it from the shared replies.
"""

from __future__ import annotations

import asyncio
import itertools
import json
from collections import Counter
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import asyncpg
import pytest

from devkit.real_stack import RealStack, double_bookings, running, twilio_settings
from devkit.twilio_fake import FakeTwilio
from services.availability.clinic_file import parse_clinic
from services.notification.relay import SMS_PACE
from tests.functional.booking import CLINIC

pytestmark = [pytest.mark.slow, pytest.mark.timeout(300)]
CALLERS = 6
SECRET = str(CLINIC["secret"])
# One provider per caller: callers never compete for a slot, so every refusal is a fault's.
REPLICA_CLINIC = {
    **CLINIC,
    "providers": [{**CLINIC["providers"][0], "id": f"p{n}", "name": f"Dr. {n}"} for n in range(CALLERS)],  # type: ignore[index]
}



@pytest.fixture
async def replicas(pool: asyncpg.Pool, database_url: str, twilio: FakeTwilio) -> AsyncIterator[RealStack]:
    clinic = parse_clinic(REPLICA_CLINIC, {})
    async with running(database_url, twilio_settings(twilio.url), replicas=2, clinic=clinic) as stack:
        yield stack


class Callers:
    def __init__(self, url: str) -> None:
        self.url = url
        self.outcomes: Counter[str] = Counter()
        self.retried = 0
        self.booked = 0
        self.unanswered: list[str] = []
        self._stop = asyncio.Event()
        self._ids = itertools.count()

    async def tool(
        self, session: aiohttp.ClientSession, name: str, args: dict[str, Any], call: str, n: int
    ) -> dict[str, Any]:
        function = {"name": name, "arguments": args}
        body = {"message": {
            "type": "tool-calls", "call": {"id": call, "customer": {"number": f"+1212555{n:04d}"}},
            "toolCallList": [{"id": f"{call}-{name}", "type": "function", "function": function}],
        }}  # fmt: skip
        for attempt in range(5):  # Vapi's backoffPlan: the same toolCallId again
            try:
                async with session.post(
                    f"{self.url}/vapi/acme", json=body, headers={"Authorization": f"Bearer {SECRET}"}
                ) as reply:
                    assert reply.status == 200, await reply.text()
                    result: dict[str, Any] = json.loads((await reply.json())["results"][0]["result"])
            except (aiohttp.ClientError, TimeoutError):
                self.retried += 1
                await asyncio.sleep(0.1 * (attempt + 1))
                continue
            self.outcomes["ok" if result["ok"] else str(result.get("cause"))] += 1
            assert result["ok"] or result["speech"], result
            return result
        self.unanswered.append(f"{call}-{name}")
        return {"ok": False}

    async def caller(self, session: aiohttp.ClientSession, n: int) -> None:
        while not self._stop.is_set():
            call = f"r-{n}-{next(self._ids)}"
            window = {"from": "in 3 days", "to": "in 20 days", "provider": f"p{n}"}
            found = await self.tool(session, "check_availability", window, call, n)
            if not found["ok"] or not found.get("slots"):
                continue
            slot = {"slot_id": found["slots"][0]["slot_id"], "patient_name": "R"}
            held = await self.tool(session, "reserve_slot", slot, call, n)
            if not held["ok"]:
                continue
            booked = await self.tool(session, "confirm_booking", {}, call, n)
            if booked["ok"]:
                self.booked += 1
                await self.tool(session, "cancel_appointment", {"appointment_id": booked["appointment_id"]}, call, n)

    async def run(self) -> None:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:
            await asyncio.gather(*(self.caller(session, n) for n in range(CALLERS)))

    def stop(self) -> None:
        self._stop.set()


async def test_killing_one_replica_of_each_process_under_load_loses_nothing(
    replicas: RealStack, pool: asyncpg.Pool, twilio: FakeTwilio
) -> None:
    callers = Callers(replicas.gateway_url)
    load = asyncio.create_task(callers.run())
    await asyncio.sleep(3.0)
    for victim in ("availability", "reservation", "notification", "gateway"):
        replicas.kill(victim)
        await asyncio.sleep(2.5)
    callers.stop()
    await load

    total = sum(callers.outcomes.values())
    ok_share = callers.outcomes["ok"] / total
    print(f"\nreplica faults: {total} tool calls, {ok_share:.2%} ok, outcomes {dict(callers.outcomes)}, "
          f"{callers.retried} HTTP retries, {callers.booked} bookings")  # fmt: skip
    assert callers.unanswered == []
    assert ok_share >= 0.99, callers.outcomes
    assert callers.booked > 0
    assert await double_bookings(pool) == 0

    # Every text the bookings caused reaches Twilio exactly once (the outbox relays and the SMS
    # workers of the surviving replicas finish the dead ones' work).
    expected = await pool.fetchval("SELECT count(*) FROM reservation.outbox")
    # A text the killed SMS worker had claimed is taken up again when its lease (SMS_PACE, 60 s)
    # runs out: sent then, or found in Twilio's list if the dead worker had sent it. So wait for
    # every message to record its outcome, not only for Twilio to have received as many texts.
    unsettled = "SELECT count(*) FROM notification.messages WHERE status <> 'SENT'"
    async with asyncio.timeout(SMS_PACE.lease.total_seconds() + 60):
        while len(twilio.accepted) < expected or await pool.fetchval(unsettled) > 0:  # noqa: ASYNC110 - other processes' effect
            await asyncio.sleep(0.2)
    await asyncio.sleep(1.0)
    print(f"texts: {expected} requested, {len(twilio.accepted)} sent to Twilio")
    assert len(twilio.accepted) == expected
    assert await pool.fetchval("SELECT count(*) FROM notification.messages") == expected
    # Each message was sent once: as many distinct Twilio SIDs recorded as messages.
    sids = await pool.fetchval("SELECT count(DISTINCT provider_sid) FROM notification.messages")
    assert sids == expected
