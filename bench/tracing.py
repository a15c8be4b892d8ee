"""What tracing costs a tool call: the four real processes, the demo clinic, `check_availability`
(gateway → availability → reservation → PostgreSQL) one at a time and 10 at once, with tracing
off (nothing configured) or on (OTLP/HTTP to an in-process collector). Prints figures.

    .venv/bin/python -m bench.tracing off|on
"""

from __future__ import annotations

import asyncio
import os
import sys
import time
from contextlib import AsyncExitStack
from datetime import date, timedelta

import aiohttp

from bench.common import bench_database, percentiles
from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.grpc_client import open_channel
from devkit.processes import ROOT
from devkit.real_stack import RealStack, tool
from services.availability.clinic_file import load_clinic_file

SECRET = "demo-secret-for-the-tracing-bench-0123"
SEQUENTIAL = 300
CONCURRENT = 10
PER_CALLER = 60


async def main(mode: str) -> None:
    async with AsyncExitStack() as stack, bench_database() as url:
        env: dict[str, str] = {}  # off: nothing configured
        collector = None
        if mode == "on":
            from devkit.otlp_collector import collecting  # not in checkouts before tracing existed

            collector = await stack.enter_async_context(collecting())
            env = {"OTEL_EXPORTER_OTLP_ENDPOINT": collector.url}
        real = RealStack.configure(url, env)
        stack.push_async_callback(real.stop_all)
        await real.start_all()
        config = load_clinic_file(ROOT / "clinics" / "demo.yaml", {"DEMO_TENANT_SECRET": SECRET})
        async with open_channel(real.env["AVAILABILITY_ADDR"]) as channel:
            await availability_pb2_grpc.AvailabilityServiceStub(channel).UpsertClinic(
                apb.UpsertClinicRequest(clinic=config)
            )
        day = (date.today() + timedelta(days=7)).isoformat()
        async with aiohttp.ClientSession() as session:

            async def call(n: int) -> float:
                started = time.perf_counter()
                _, result = await tool(
                    session, real.gateway_url, SECRET, "demo", "check_availability", {"date": day},
                    call_id=f"bench-{n}", tool_call_id=f"t-{n}",
                )  # fmt: skip
                assert result["ok"], result
                return (time.perf_counter() - started) * 1000

            for n in range(30):  # warm-up: channels, caches
                await call(-n - 1)
            sequential = [await call(n) for n in range(SEQUENTIAL)]

            async def caller(c: int) -> list[float]:
                return [await call(100_000 + c * PER_CALLER + n) for n in range(PER_CALLER)]

            started = time.perf_counter()
            batches = await asyncio.gather(*(caller(c) for c in range(CONCURRENT)))
            elapsed = time.perf_counter() - started
        concurrent = [ms for batch in batches for ms in batch]
        print(f"tracing {mode:>3} | checkout {ROOT} | Python {sys.version.split()[0]}, {os.cpu_count()} cores")
        print(f"  1 at a time : {percentiles(sequential)}")
        print(f"  {CONCURRENT} at once  : {percentiles(concurrent)}   {len(concurrent) / elapsed:6.1f} calls/s")
        if collector is not None:
            print(f"  exported    : {len(collector.spans)} spans in {collector.requests} requests")


if __name__ == "__main__":
    if sys.argv[1:] not in (["off"], ["on"]):
        raise SystemExit("usage: python -m bench.tracing off|on")
    asyncio.run(main(sys.argv[1]))
