"""End to end: the whole stack (four processes, real PostgreSQL, the real twilio library against
a local Twilio imitation) driven over HTTP with Vapi `tool-calls` bodies by N concurrent
simulated calls, side by side with the bare-stack baseline (bench/baseline.py). Prints figures
and writes docs/PERFORMANCE.md. Asserts nothing except that nobody was double-booked.

    make bench-e2e          # or: .venv/bin/python -m bench.e2e [--seconds 8]
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import platform
import random
import re
import statistics
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import psutil

from bench.common import bench_database
from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.grpc_client import open_channel
from devkit.processes import start_module
from devkit.real_stack import RealStack, double_bookings
from devkit.twilio_fake import FakeTwilio, fake_twilio
from services.availability.clinic_file import parse_clinic

ROOT = Path(__file__).resolve().parent.parent
SECRET = "bench-secret-0123456789"
LEVELS = (1, 10, 50, 200)
IDS = itertools.count()
PHONES = itertools.count(1)
TARGETS = "check_availability p99 <= 150 ms; reserve_slot and confirm_booking p99 <= 300 ms; >= 500 calls/s; RSS <= 150 MB; >= 50% of baseline"


def bench_clinic() -> dict[str, Any]:
    hours = ["08:00-12:00", "13:00-18:00"]
    week = {d: hours for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    return {
        "tenant_id": "bench", "name": "Bench Clinic", "timezone": "America/New_York", "secret": SECRET,
        "rules": {"slot_interval_minutes": 15, "min_notice_minutes": 0, "max_days_ahead": 60, "otp_required": True,
                  "max_active_appointments_per_phone": 0, "cancellation_cutoff_minutes": 0},
        "services": [
            {"id": "cleaning", "name": "Cleaning", "spoken_name": "a cleaning", "duration_minutes": 30, "buffer_after_minutes": 10},
            {"id": "checkup", "name": "Check-up", "spoken_name": "a check-up", "duration_minutes": 20},
            {"id": "surgery", "name": "Surgery", "spoken_name": "surgery", "duration_minutes": 90, "buffer_before_minutes": 15},
        ],
        "providers": [{"id": f"p{i:02d}", "name": f"Dr. {i}", "spoken_name": f"Doctor {i}", "hours": week} for i in range(20)],
    }  # fmt: skip


@dataclass
class Stats:
    latencies: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    refusals: dict[str, int] = field(default_factory=lambda: defaultdict(int))

    def add(self, tool: str, ms: float, status: int, result: dict[str, Any] | None) -> None:
        self.latencies[tool].append(ms)
        if status != 200 or result is None:
            self.errors[tool] += 1
        elif not result.get("ok"):
            self.refusals[tool] += 1


class Driver:
    def __init__(self, url: str, twilio: FakeTwilio | None, stats: Stats) -> None:
        self.url = url
        self.twilio = twilio
        self.stats = stats
        # Unique across every run of this process: the gateway replays a repeated toolCallId.
        self.ids = IDS
        self.phones = PHONES

    async def tool(
        self, session: aiohttp.ClientSession, name: str, args: dict[str, Any], call: str, phone: str
    ) -> dict[str, Any] | None:
        body = {"message": {"type": "tool-calls", "call": {"id": call, "customer": {"number": phone}},
                            "toolCallList": [{"id": f"{call}-{next(self.ids)}", "type": "function",
                                              "function": {"name": name, "arguments": args}}]}}  # fmt: skip
        started = time.perf_counter()
        result: dict[str, Any] | None = None
        status = 0
        try:
            async with session.post(
                f"{self.url}/vapi/bench", json=body, headers={"Authorization": f"Bearer {SECRET}"}
            ) as reply:
                status = reply.status
                payload = await reply.json()
                result = json.loads(payload["results"][0]["result"])
        except (aiohttp.ClientError, TimeoutError, ValueError, KeyError):
            pass
        self.stats.add(name, (time.perf_counter() - started) * 1000, status, result)
        return result

    async def code_for(self, phone: str, timeout: float = 10) -> str | None:
        assert self.twilio is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for body in reversed(self.twilio.bodies_to(phone)):
                match = re.search(r"code is (\d{6})", body)
                if match:
                    return match.group(1)
            await asyncio.sleep(0.05)
        return None

    async def conversation(self, session: aiohttp.ClientSession, rng: random.Random, full: bool) -> None:
        n = next(self.phones)
        phone = f"+1212{200 + (n // 10000) % 700:03d}{n % 10000:04d}"
        call = f"bench-{n}"
        day = rng.randint(1, 50)  # days 57-59 are kept free for the contention run
        found = await self.tool(session, "check_availability", {"date": f"in {day} days", "limit": 10}, call, phone)
        if not found or not found.get("ok") or not found.get("slots"):
            return
        slot = rng.choice(found["slots"])
        held = await self.tool(
            session, "reserve_slot", {"slot_id": slot["slot_id"], "patient_name": "Bench"}, call, phone
        )
        if not full or not held or not held.get("ok"):
            return
        sent = await self.tool(session, "send_otp", {}, call, phone)
        code = await self.code_for(phone) if sent and sent.get("ok") else None
        if code is None:
            return
        await self.tool(session, "verify_otp", {"code": code}, call, phone)
        booked = await self.tool(session, "confirm_booking", {}, call, phone)
        if not booked or not booked.get("ok"):
            return
        roll = rng.random()
        if roll < 0.1 and "appointment_id" in booked:
            await self.tool(session, "cancel_appointment", {"appointment_id": booked["appointment_id"]}, call, phone)
        elif roll < 0.2 and "appointment_id" in booked:
            other = await self.tool(
                session, "check_availability", {"date": f"in {day + 1} days", "limit": 5}, call, phone
            )
            if other and other.get("slots"):
                await self.tool(session, "reschedule_appointment",
                                {"appointment_id": booked["appointment_id"], "slot_id": other["slots"][0]["slot_id"]}, call, phone)  # fmt: skip

    async def run(self, callers: int, seconds: float, full: bool) -> float:
        stop = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

            async def caller(seed: int) -> None:
                rng = random.Random(seed)
                while time.monotonic() < stop:
                    await self.conversation(session, rng, full)

            started = time.perf_counter()
            await asyncio.gather(*(caller(i) for i in range(callers)))
            return time.perf_counter() - started


def pct(values: list[float], q: int) -> float:
    if len(values) < 2:
        return values[0] if values else 0.0
    return statistics.quantiles(sorted(values), n=100, method="inclusive")[q - 1]


def table(stats: Stats, elapsed: float) -> list[str]:
    lines = [
        "| tool | calls/s | p50 ms | p95 ms | p99 ms | max ms | errors | ok:false |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for tool, values in sorted(stats.latencies.items()):
        lines.append(
            f"| {tool} | {len(values) / elapsed:.0f} | {pct(values, 50):.1f} | {pct(values, 95):.1f} | {pct(values, 99):.1f} "
            f"| {max(values):.1f} | {stats.errors[tool]} | {stats.refusals[tool]} |"
        )
    total = sum(len(v) for v in stats.latencies.values())
    lines.append(f"| **all** | **{total / elapsed:.0f}** | | | | | {sum(stats.errors.values())} | |")
    return lines


class RssSampler:
    def __init__(self, pids: dict[str, int]) -> None:
        self.processes = {name: psutil.Process(pid) for name, pid in pids.items()}
        self.peak: dict[str, float] = defaultdict(float)
        self._task: asyncio.Task[None] | None = None

    async def _loop(self) -> None:
        while True:
            for name, process in self.processes.items():
                try:
                    self.peak[name] = max(self.peak[name], process.memory_info().rss / 2**20)
                except psutil.Error:
                    pass
            await asyncio.sleep(0.2)

    def cpu_seconds(self) -> dict[str, float]:
        seconds: dict[str, float] = {}
        postgres = 0.0
        for process in psutil.process_iter(["name"]):
            if process.info["name"] == "postgres":
                try:
                    times = process.cpu_times()
                    postgres += times.user + times.system
                except psutil.Error:
                    pass
        seconds["postgres"] = postgres
        me = psutil.Process().cpu_times()
        seconds["load generator"] = me.user + me.system
        for name, process in self.processes.items():
            try:
                times = process.cpu_times()
                seconds[name] = times.user + times.system
            except psutil.Error:
                seconds[name] = 0.0
        return seconds

    def __enter__(self) -> RssSampler:
        self._task = asyncio.get_running_loop().create_task(self._loop())
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._task is not None
        self._task.cancel()


async def contention(url: str, pool: asyncpg.Pool) -> list[str]:
    stats = Stats()
    driver = Driver(url, None, stats)
    async with aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=0), timeout=aiohttp.ClientTimeout(total=60)
    ) as session:
        slots: list[str] = []
        for day in (59, 58, 57):  # each day's first 20 slots: one per provider, so no two overlap
            args = {"date": f"in {day} days", "limit": 20}
            found = await driver.tool(session, "check_availability", args, "contention", "+12125550100")
            assert found and len({s["provider_id"] for s in found["slots"]}) == 20, found
            slots += [s["slot_id"] for s in found["slots"]]
        slots = slots[:50]
        started = time.perf_counter()
        results = await asyncio.gather(
            *(
                driver.tool(
                    session,
                    "reserve_slot",
                    {"slot_id": slots[i % 50]},
                    f"contend-{i}",
                    f"+1212{300 + i // 10000}{i % 10000:04d}",
                )
                for i in range(1000)
            )
        )
        elapsed = time.perf_counter() - started
    won = sum(1 for r in results if r and r.get("ok"))
    held = await pool.fetchval(
        "SELECT count(*) FROM reservation.reservations WHERE call_id LIKE 'contend-%' AND status = 'HELD'"
    )
    values = stats.latencies["reserve_slot"]
    return [
        f"1000 concurrent reserve_slot over 50 slots: {won} won (holds in the database: {held}), {elapsed:.1f} s,",
        f"latency p50 {pct(values, 50):.0f} ms, p95 {pct(values, 95):.0f} ms, p99 {pct(values, 99):.0f} ms, max {max(values):.0f} ms, errors {sum(stats.errors.values())}",
    ]


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per load level")
    parser.add_argument(
        "--levels", default=",".join(map(str, LEVELS)), help="concurrent calls per level, comma-separated"
    )
    args = parser.parse_args()
    report: list[str] = []

    def say(line: str = "") -> None:
        print(line, flush=True)
        report.append(line)

    async with bench_database() as url, fake_twilio() as twilio:
        pool = await asyncpg.create_pool(url, min_size=1, max_size=4)
        assert pool is not None
        stack = RealStack.configure(url, {
            "TWILIO_ACCOUNT_SID": "AC" + "4" * 32, "TWILIO_AUTH_TOKEN": "token", "TWILIO_FROM_NUMBER": "+12125550100",
            "TWILIO_API_BASE_URL": twilio.url, "LOG_LEVEL": "WARNING",
        })  # fmt: skip
        await stack.start_all()
        baseline = await start_module("bench.baseline", {"DATABASE_URL": url, "BASELINE_PORT": "0"})
        try:
            async with open_channel(stack.env["AVAILABILITY_ADDR"]) as channel:
                await availability_pb2_grpc.AvailabilityServiceStub(channel).UpsertClinic(
                    apb.UpsertClinicRequest(clinic=parse_clinic(bench_clinic(), {}))
                )
            cpu = next(
                (
                    line.split(":", 1)[1].strip()
                    for line in Path("/proc/cpuinfo").read_text().splitlines()
                    if line.startswith("model name")
                ),
                platform.machine(),
            )
            say("# Performance")
            say()
            say(f"Generated by `python -m bench.e2e` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — do not edit by hand.")
            say(f"Machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}; "
                f"PostgreSQL {'from DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded 18'}; "
                f"load generator, four services, baseline and database on the same machine.")  # fmt: skip
            say(f"Clinic: 20 providers, 3 services, 60 days. Targets: {TARGETS}.")
            say()
            rss = RssSampler({name: proc.process.pid for name, proc in stack.procs.items()})
            with rss:
                for level in [int(v) for v in args.levels.split(",")]:
                    stats = Stats()
                    psutil.cpu_percent()  # starts the machine-wide measurement
                    cpu_before, wall_before = rss.cpu_seconds(), time.perf_counter()
                    elapsed = await Driver(stack.gateway_url, twilio, stats).run(level, args.seconds, full=True)
                    wall = time.perf_counter() - wall_before
                    busy = {k: (v - cpu_before.get(k, 0.0)) / wall for k, v in rss.cpu_seconds().items()}
                    busy["whole machine"] = psutil.cpu_percent() / 100 * (os.cpu_count() or 1)
                    say(
                        f"## {level} concurrent calls (full conversation: check, reserve, code, verify, confirm; some cancel or reschedule)"
                    )
                    say()
                    for line in table(stats, elapsed):
                        say(line)
                    say()
                    say("CPU (cores busy): " + ", ".join(f"{k} {v:.2f}" for k, v in sorted(busy.items())))
                    say()
            say("## Peak RSS per process (MB)")
            say()
            say(" | ".join(f"{name} {mb:.0f}" for name, mb in sorted(rss.peak.items())))
            say()

            say("## Full path vs bare baseline (50 concurrent calls, check_availability then reserve_slot)")
            say()
            full_stats, base_stats = Stats(), Stats()
            full_elapsed = await Driver(stack.gateway_url, twilio, full_stats).run(50, args.seconds, full=False)
            base_elapsed = await Driver(f"http://127.0.0.1:{baseline.port}", None, base_stats).run(
                50, args.seconds, full=False
            )
            say("| | calls/s | check p50 | check p99 | reserve p50 | reserve p99 |")
            say("|---|---|---|---|---|---|")
            for label, stats, elapsed in (
                ("full path", full_stats, full_elapsed),
                ("baseline", base_stats, base_elapsed),
            ):
                total = sum(len(v) for v in stats.latencies.values())
                c, r = stats.latencies["check_availability"], stats.latencies["reserve_slot"]
                say(
                    f"| {label} | {total / elapsed:.0f} | {pct(c, 50):.1f} | {pct(c, 99):.1f} | {pct(r, 50):.1f} | {pct(r, 99):.1f} |"
                )
            f_total = sum(len(v) for v in full_stats.latencies.values()) / full_elapsed
            b_total = sum(len(v) for v in base_stats.latencies.values()) / base_elapsed
            fc, bc = full_stats.latencies["check_availability"], base_stats.latencies["check_availability"]
            say()
            say(f"Ratio full/baseline: throughput {f_total / b_total:.2f}, check p50 {pct(fc, 50) / pct(bc, 50):.2f}, "
                f"check p99 {pct(fc, 99) / pct(bc, 99):.2f}.")  # fmt: skip
            say()
            say("## Contention")
            say()
            for line in await contention(stack.gateway_url, pool):
                say(line)
            say()
            say(f"Double bookings found by SQL afterwards: {await double_bookings(pool)}")
        finally:
            await baseline.stop()
            await stack.stop_all()
            await pool.close()
    docs = ROOT / "docs"
    docs.mkdir(exist_ok=True)
    (docs / "PERFORMANCE.md").write_text("\n".join(report) + "\n")
    print(f"wrote {docs / 'PERFORMANCE.md'}")


if __name__ == "__main__":
    asyncio.run(main())
