"""`make run` smoke test: the whole stack comes up ready and SIGTERM leaves nothing behind."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import time

import aiohttp
import psutil
import pytest

from devkit.processes import ANY_METRICS_PORT, ROOT


@pytest.mark.slow
@pytest.mark.timeout(180)
async def test_make_run_is_ready_then_sigterm_stops_every_child(admin_url: str) -> None:
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "MAKEFLAGS", "MFLAGS")}
    env.update(GATEWAY_PORT="0", AVAILABILITY_PORT="0", RESERVATION_PORT="0", NOTIFICATION_PORT="0", **ANY_METRICS_PORT)
    if os.environ.get("DATABASE_URL"):
        env["DATABASE_URL"] = admin_url.rsplit("/", 1)[0] + "/postgres"
    make = await asyncio.create_subprocess_exec(
        "make",
        "--no-print-directory",
        "run",
        cwd=ROOT,
        env=env,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
        start_new_session=True,
    )
    assert make.stderr is not None
    url = None
    seen: list[str] = []
    try:
        async with asyncio.timeout(90):
            while url is None:
                line = (await make.stderr.readline()).decode()
                assert line, f"make run ended early: {seen[-10:]}"
                seen.append(line)
                match = re.search(r"gateway: (http://127\.0\.0\.1:\d+)", line)
                if match:
                    url = match.group(1)
        # Keep draining stderr so the supervisor never blocks on a full pipe.
        drain = asyncio.create_task(make.stderr.read())
        async with aiohttp.ClientSession() as session:
            deadline = time.monotonic() + 20
            status = 0
            while time.monotonic() < deadline:
                async with session.get(f"{url}/ready") as response:
                    status = response.status
                if status == 200:
                    break
                await asyncio.sleep(0.2)
            assert status == 200
        children = psutil.Process(make.pid).children(recursive=True)
        names = " ".join(" ".join(c.cmdline()) for c in children)
        for module in ("services.availability", "services.reservation", "services.notification", "gateway"):
            assert module in names
    finally:
        os.killpg(make.pid, signal.SIGTERM)
    started = time.monotonic()
    await asyncio.wait_for(make.wait(), 15)
    _, alive = psutil.wait_procs(children, timeout=max(0.1, 15 - (time.monotonic() - started)))
    assert alive == [], f"left behind: {[p.pid for p in alive]}"
    await drain
