"""End to end: the whole stack (four processes, real PostgreSQL, the real twilio library against
a local Twilio imitation) driven over HTTP with Vapi `tool-calls` bodies by N concurrent
simulated calls, side by side with the bare-stack baseline (bench/baseline.py) and the edge
limit (bench/edge.py: a trivial aiohttp process answering a fixed tool-calls reply), all with
the same load generator. Prints figures (each tool's throughput as a fraction of the edge
limit, CPU milliseconds per tool call summed over every process) and writes
docs/PERFORMANCE.md. Asserts nothing except that nobody was double-booked.

    make bench-e2e          # or: .venv/bin/python -m bench.e2e [--seconds 8]
    # before/after in one sitting: run the previous commit's tree with --summary FILE first,
    # then this one with --before FILE (the report gets a before/after table).
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
from devkit.embedded_pg import EmbeddedPostgres
from devkit.processes import Proc, start_module
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
                  "max_active_appointments_per_phone": 0, "cancellation_cutoff_minutes": 0,
                  "max_codes_per_hour": 100_000},
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

    async def alone(self, session: aiohttp.ClientSession, rng: random.Random, tool: str, stop: float) -> None:
        """One caller repeating one tool (what each needs first is done once, or outside the figures)."""
        n = next(self.phones)
        phone, call = f"+1213{200 + (n // 10000) % 700:03d}{n % 10000:04d}", f"alone-{n}"
        if tool == "check_availability":
            while time.monotonic() < stop:
                await self.tool(session, tool, {"date": f"in {rng.randint(1, 50)} days", "limit": 10}, call, phone)
            return
        setup = Driver(self.url, self.twilio, Stats())
        if tool == "reserve_slot":
            found = await setup.tool(
                session, "check_availability", {"date": f"in {rng.randint(1, 50)} days"}, call, phone
            )
            slots = [s["slot_id"] for s in (found or {}).get("slots", [])]
            while slots and time.monotonic() < stop:  # each new hold of the call replaces its last one
                await self.tool(session, tool, {"slot_id": rng.choice(slots), "patient_name": "Bench"}, call, phone)
            return
        while time.monotonic() < stop:  # send_otp, verify_otp: a fresh number and call each time (code limits)
            n = next(self.phones)
            phone, call = f"+1214{200 + (n // 10000) % 700:03d}{n % 10000:04d}", f"alone-{n}"
            if tool == "send_otp":
                await self.tool(session, tool, {}, call, phone)
                continue
            await setup.tool(session, "send_otp", {}, call, phone)
            code = await self.code_for(phone)
            if code is not None:
                await self.tool(session, tool, {"code": code}, call, phone)

    async def run(self, callers: int, seconds: float, full: bool, tool: str = "") -> float:
        stop = time.monotonic() + seconds
        connector = aiohttp.TCPConnector(limit=0)
        async with aiohttp.ClientSession(connector=connector, timeout=aiohttp.ClientTimeout(total=30)) as session:

            async def caller(seed: int) -> None:
                rng = random.Random(seed)
                if tool:
                    await self.alone(session, rng, tool, stop)
                    return
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


def _cpu(process: psutil.Process) -> float:
    try:
        times = process.cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


def _postgres_processes() -> list[psutil.Process]:
    """This benchmark's PostgreSQL (the embedded server's postmaster and its children), not the
    other PostgreSQL servers that may run on a shared machine; every postgres without one."""
    pid_file = EmbeddedPostgres().pgdata / "postmaster.pid"
    if not os.environ.get("DATABASE_URL") and pid_file.exists():
        try:
            postmaster = psutil.Process(int(pid_file.read_text().split()[0]))
            return [postmaster, *postmaster.children(recursive=True)]
        except (psutil.Error, ValueError, IndexError):
            pass
    return [p for p in psutil.process_iter(["name"]) if p.info["name"] == "postgres"]


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
        seconds: dict[str, float] = {"postgres": sum(_cpu(p) for p in _postgres_processes())}
        seconds["load generator"] = _cpu(psutil.Process())
        for name, process in self.processes.items():
            seconds[name] = _cpu(process)
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


@dataclass
class Run:
    """One load run: what the callers saw and what every process spent meanwhile."""

    stats: Stats
    elapsed: float
    cpu: dict[str, float]  # CPU seconds per process during the run
    machine: float  # cores busy, whole machine (other work on a shared machine included)

    @property
    def calls(self) -> int:
        return sum(len(v) for v in self.stats.latencies.values())

    @property
    def rate(self) -> float:
        return self.calls / self.elapsed

    def rate_of(self, tool: str) -> float:
        return len(self.stats.latencies[tool]) / self.elapsed

    def cpu_ms_per_call(self, with_load_generator: bool = False) -> float:
        spent = sum(v for k, v in self.cpu.items() if with_load_generator or k != "load generator")
        return spent * 1000 / max(self.calls, 1)


async def measure(
    url: str, twilio: FakeTwilio | None, rss: RssSampler, callers: int, seconds: float, *, full: bool = True,
    tool: str = "",
) -> Run:  # fmt: skip
    stats = Stats()
    psutil.cpu_percent()  # starts the machine-wide measurement
    before = rss.cpu_seconds()
    elapsed = await Driver(url, twilio, stats).run(callers, seconds, full, tool)
    after = rss.cpu_seconds()
    machine = psutil.cpu_percent() / 100 * (os.cpu_count() or 1)
    return Run(stats, elapsed, {k: v - before.get(k, 0.0) for k, v in after.items()}, machine)


def cpu_line(run: Run) -> str:
    cores = ", ".join(f"{k} {v / run.elapsed:.2f}" for k, v in sorted(run.cpu.items()))
    return (
        f"CPU (cores busy): {cores}, whole machine {run.machine:.2f}. CPU per tool call, every process of the "
        f"stack and PostgreSQL: **{run.cpu_ms_per_call():.1f} ms** ({run.cpu_ms_per_call(True):.1f} ms with the "
        f"load generator)."
    )


ALONE = ("check_availability", "reserve_slot", "send_otp", "verify_otp")


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--seconds", type=float, default=8.0, help="seconds per load level")
    parser.add_argument(
        "--levels", default=",".join(map(str, LEVELS)), help="concurrent calls per level, comma-separated"
    )
    parser.add_argument("--summary", type=Path, help="also write the headline figures here (JSON)")
    parser.add_argument("--before", type=Path, help="headline figures of the previous commit (its --summary)")
    parser.add_argument("--label", default="this commit", help="what this run measures, for the summary")
    parser.add_argument("--output", type=Path, default=ROOT / "docs" / "PERFORMANCE.md")
    parser.add_argument(
        "--quick", action="store_true", help="A/B checks: the tools alone and the levels only (no baseline)"
    )
    parser.add_argument("--alone", default=",".join(ALONE), help="tools measured alone, comma-separated")
    args = parser.parse_args()
    report: list[str] = []
    summary: dict[str, Any] = {"label": args.label}

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
        edge = await start_module("bench.edge", {"EDGE_PORT": "0"})
        try:
            async with open_channel(stack.env["AVAILABILITY_ADDR"]) as channel:
                await availability_pb2_grpc.AvailabilityServiceStub(channel).UpsertClinic(
                    apb.UpsertClinicRequest(clinic=parse_clinic(bench_clinic(), {}))
                )
            header(say)
            pids = {name: proc.process.pid for name, proc in stack.procs.items()}
            rss = RssSampler({**pids, "baseline": baseline.process.pid, "edge": edge.process.pid})
            with rss:
                # Warm-up: every process has its connections and caches (not in any figure).
                await measure(stack.gateway_url, twilio, rss, 10, min(2.0, args.seconds), full=True)
                tools = tuple(t for t in args.alone.split(",") if t in ALONE)
                await edge_section(say, summary, stack.gateway_url, twilio, rss, edge, args.seconds, tools)
                for level in [int(v) for v in args.levels.split(",")]:
                    run = await measure(stack.gateway_url, twilio, rss, level, args.seconds, full=True)
                    say(f"## {level} concurrent calls (full conversation: check, reserve, code, verify, confirm; "
                        "some cancel or reschedule)")  # fmt: skip
                    say()
                    for line in table(run.stats, run.elapsed):
                        say(line)
                    say()
                    say(cpu_line(run))
                    say()
                    summary[f"mixed_{level}"] = {
                        "rate": run.rate, "cpu_ms": run.cpu_ms_per_call(),
                        "p99": {t: pct(v, 99) for t, v in run.stats.latencies.items()},
                    }  # fmt: skip
                say("## Peak RSS per process (MB)")
                say()
                say(" | ".join(f"{name} {mb:.0f}" for name, mb in sorted(rss.peak.items())))
                say()
                if not args.quick:
                    await baseline_section(say, summary, stack.gateway_url, twilio, rss, baseline, args.seconds)
            if not args.quick:
                say("## Contention")
                say()
                for line in await contention(stack.gateway_url, pool):
                    say(line)
                say()
            say(f"Double bookings found by SQL afterwards: {await double_bookings(pool)}")
            if args.before is not None:
                before_after(say, json.loads(args.before.read_text()), summary)
        finally:
            await edge.stop()
            await baseline.stop()
            await stack.stop_all()
            await pool.close()
    args.output.parent.mkdir(exist_ok=True)
    args.output.write_text("\n".join(report) + "\n")
    print(f"wrote {args.output}")
    if args.summary is not None:
        args.summary.write_text(json.dumps(summary, indent=1))


def header(say: Any) -> None:
    cpu = next(
        (line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
         if line.startswith("model name")),
        platform.machine(),
    )  # fmt: skip
    say("# Performance")
    say()
    say(f"Generated by `python -m bench.e2e` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC — do not edit by hand.")
    say(f"Machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}; "
        f"PostgreSQL {'from DATABASE_URL' if os.environ.get('DATABASE_URL') else 'embedded 18'}; "
        f"load generator, four services, baseline, edge and database on the same machine.")  # fmt: skip
    say(f"Clinic: 20 providers, 3 services, 60 days. Targets: {TARGETS}.")
    say()


async def edge_section(
    say: Any,
    summary: dict[str, Any],
    url: str,
    twilio: FakeTwilio,
    rss: RssSampler,
    edge: Proc,
    seconds: float,
    tools: tuple[str, ...],
) -> None:
    """Each tool alone at 50 concurrent calls, against the edge limit measured the same way."""
    limit = await measure(f"http://127.0.0.1:{edge.port}", None, rss, 50, seconds, tool="check_availability")
    say("## Each tool alone at 50 concurrent calls, against the edge limit")
    say()
    say(f"Edge limit (bench/edge.py: aiohttp answering a fixed tool-calls reply, same load generator): "
        f"**{limit.rate:.0f} calls/s**, p50 {pct(limit.stats.latencies['check_availability'], 50):.1f} ms, "
        f"p99 {pct(limit.stats.latencies['check_availability'], 99):.1f} ms, CPU "
        f"{limit.cpu['edge'] * 1000 / max(limit.calls, 1):.2f} ms per call in the edge process.")  # fmt: skip
    say()
    say("| tool alone | calls/s | of edge | p50 ms | p99 ms | CPU ms per call | errors | ok:false |")
    say("|---|---|---|---|---|---|---|---|")
    summary["edge"] = limit.rate
    for tool in tools:
        run = await measure(url, twilio, rss, 50, seconds, tool=tool)
        values = run.stats.latencies[tool]
        # Set-up calls (a code sent before verify_otp) are in the CPU but not in the count: per call of the tool.
        cpu_ms = sum(v for k, v in run.cpu.items() if k != "load generator") * 1000 / max(len(values), 1)
        say(f"| {tool} | {run.rate_of(tool):.0f} | {run.rate_of(tool) / limit.rate:.0%} | {pct(values, 50):.1f} "
            f"| {pct(values, 99):.1f} | {cpu_ms:.1f} | {run.stats.errors[tool]} | {run.stats.refusals[tool]} |")  # fmt: skip
        summary[f"alone_{tool}"] = {"rate": run.rate_of(tool), "p99": pct(values, 99), "cpu_ms": cpu_ms}
    say()


async def baseline_section(
    say: Any, summary: dict[str, Any], url: str, twilio: FakeTwilio, rss: RssSampler, baseline: Proc, seconds: float
) -> None:
    say("## Full path vs bare baseline (50 concurrent calls, check_availability then reserve_slot)")
    say()
    full = await measure(url, twilio, rss, 50, seconds, full=False)
    base = await measure(f"http://127.0.0.1:{baseline.port}", None, rss, 50, seconds, full=False)
    say("| | calls/s | check p50 | check p99 | reserve p50 | reserve p99 |")
    say("|---|---|---|---|---|---|")
    for label, run in (("full path", full), ("baseline", base)):
        c, r = run.stats.latencies["check_availability"], run.stats.latencies["reserve_slot"]
        say(f"| {label} | {run.rate:.0f} | {pct(c, 50):.1f} | {pct(c, 99):.1f} | {pct(r, 50):.1f} | {pct(r, 99):.1f} |")
    fc, bc = full.stats.latencies["check_availability"], base.stats.latencies["check_availability"]
    say()
    say(f"Ratio full/baseline: throughput {full.rate / base.rate:.2f}, check p50 {pct(fc, 50) / pct(bc, 50):.2f}, "
        f"check p99 {pct(fc, 99) / pct(bc, 99):.2f}.")  # fmt: skip
    say()
    summary["full_vs_baseline"] = full.rate / base.rate


def before_after(say: Any, before: dict[str, Any], after: dict[str, Any]) -> None:
    """The headline figures of the previous commit's run (just before this one) beside this run's."""
    say()
    say(f"## Before / after (measured back to back: {before['label']}, then {after['label']})")
    say()
    say(f"| figure | {before['label']} | {after['label']} |")
    say("|---|---|---|")
    rows: list[tuple[str, Any, Any]] = [("edge limit, calls/s", before["edge"], after["edge"])]
    for tool in ALONE:
        key = f"alone_{tool}"
        if key in before and key in after:
            rows.append((f"{tool} alone at 50: calls/s", before[key]["rate"], after[key]["rate"]))
            rows.append((f"{tool} alone at 50: of edge", before[key]["rate"] / before["edge"],
                         after[key]["rate"] / after["edge"]))  # fmt: skip
            rows.append((f"{tool} alone at 50: p99 ms", before[key]["p99"], after[key]["p99"]))
            rows.append((f"{tool} alone at 50: CPU ms per call", before[key]["cpu_ms"], after[key]["cpu_ms"]))
    for key in sorted(k for k in after if k.startswith("mixed_") and k in before):
        rows.append((f"mixed at {key[6:]}: calls/s", before[key]["rate"], after[key]["rate"]))
        rows.append((f"mixed at {key[6:]}: CPU ms per tool call", before[key]["cpu_ms"], after[key]["cpu_ms"]))
        worst_b, worst_a = max(before[key]["p99"].values()), max(after[key]["p99"].values())
        rows.append((f"mixed at {key[6:]}: slowest tool's p99 ms", worst_b, worst_a))
    if "full_vs_baseline" in before and "full_vs_baseline" in after:
        rows.append(("full path / bare baseline, throughput", before["full_vs_baseline"], after["full_vs_baseline"]))
    for name, b, a in rows:
        fmt = "{:.0%}" if "of edge" in name else "{:.2f}" if "baseline" in name else "{:.1f}"
        say(f"| {name} | {fmt.format(b)} | {fmt.format(a)} |")


if __name__ == "__main__":
    asyncio.run(main())
