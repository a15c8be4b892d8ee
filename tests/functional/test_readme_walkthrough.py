"""The README's walkthrough, exactly as a developer follows it: `make run`, then a whole booking by
HTTP with the code read from the local SMS inbox (`GET /dev/sms`)."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field

import aiohttp
import pytest

from devkit.processes import ANY_METRICS_PORT, ROOT
from tests.conftest import create_database, drop_database
from tests.functional.walkthrough import CALLER, Walk


@dataclass
class MakeRun:
    process: asyncio.subprocess.Process
    lines: list[str] = field(default_factory=list)
    announced: asyncio.Event = field(default_factory=asyncio.Event)
    printed: asyncio.Event = field(default_factory=asyncio.Event)  # set at every new line

    def find(self, pattern: str) -> str:
        for line in self.lines:
            match = re.search(pattern, line)
            if match:
                return match.group(1)
        raise AssertionError(f"{pattern!r} not printed: {self.lines[-10:]}")

    async def read(self) -> None:
        """Keep draining stderr (the supervisor must never block on a full pipe)."""
        assert self.process.stderr is not None
        async for raw in self.process.stderr:
            self.lines.append(raw.decode(errors="replace"))
            self.printed.set()
            if "Ctrl-C stops everything" in self.lines[-1]:
                self.announced.set()


@pytest.fixture
async def make_run(admin_url: str) -> AsyncIterator[MakeRun]:
    """`make run` on free ports, against a database of its own (so earlier runs' bookings of the
    same caller never count against the phone's limit)."""
    database = await create_database(admin_url, "walkthrough")
    env = {k: v for k, v in os.environ.items() if k not in ("MAKEFLAGS", "MFLAGS")}
    env.update(
        DATABASE_URL=database, GATEWAY_PORT="0", AVAILABILITY_PORT="0", RESERVATION_PORT="0", NOTIFICATION_PORT="0",
        **ANY_METRICS_PORT,
    )  # fmt: skip
    for twilio in [k for k in env if k.startswith("TWILIO_")]:
        del env[twilio]  # the local sender, as on a fresh laptop
    process = await asyncio.create_subprocess_exec(
        "make", "--no-print-directory", "run", cwd=ROOT, env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE, start_new_session=True,
    )  # fmt: skip
    run = MakeRun(process)
    reader = asyncio.create_task(run.read())
    try:
        yield run
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        await asyncio.wait_for(process.wait(), 20)
        await reader
        await drop_database(admin_url, database)


async def wait_ready(url: str, seconds: float = 20.0) -> None:
    async with aiohttp.ClientSession() as session:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            async with session.get(f"{url}/ready") as reply:
                if reply.status == 200:
                    return
            await asyncio.sleep(0.2)
    raise AssertionError(f"{url} not ready in {seconds:.0f}s")


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_the_readme_walkthrough_books_an_appointment_with_the_code_from_the_local_inbox(
    make_run: MakeRun,
) -> None:
    await asyncio.wait_for(make_run.announced.wait(), 120)
    url = make_run.find(r"gateway: (http://127\.0\.0\.1:\d+)")
    secret = make_run.find(r"demo tenant secret: (\S+)")
    await wait_ready(url)

    walk = Walk(url, secret)
    booked = await walk.book()

    assert booked["status"] == "CONFIRMED" and booked["appointment_id"], booked
    assert [name for name, _, _ in walk.steps][-5:] == [
        "check_availability", "reserve_slot", "send_otp", "verify_otp", "confirm_booking",
    ]  # fmt: skip
    # make run printed the code text as it was "sent", for the developer.
    async with asyncio.timeout(10):
        while not any(f"SMS to {CALLER}" in line and "code is" in line for line in make_run.lines):
            make_run.printed.clear()
            await make_run.printed.wait()
