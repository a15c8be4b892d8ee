"""FindSlots latency for a clinic with 20 providers x 60 days, over real gRPC, and the pure
slot computation alone. Prints figures; asserts nothing.

    make bench        # or: .venv/bin/python -m bench.availability
"""

from __future__ import annotations

import asyncio
import os
import platform
import random
import time
from datetime import UTC, datetime, timedelta
from typing import Any

from bench.common import bench_database, percentiles
from booking.availability.v1 import availability_pb2 as pb
from booking.availability.v1 import availability_pb2_grpc
from booking.reservation.v1 import reservation_pb2_grpc
from common.db import create_pool
from common.grpc_client import open_channel
from services.availability.clinic import build_clinic
from services.availability.clinic_file import parse_clinic
from services.availability.server import create_server as create_availability
from services.availability.servicer import AvailabilityDeps
from services.availability.slots import Busy, SlotQuery, free_slots
from services.reservation.server import create_server as create_reservation
from services.reservation.servicer import ReservationDeps

PROVIDERS = 20
DAYS = 60
REQUESTS = 400
CONCURRENCY = 10


def bench_clinic() -> dict[str, Any]:
    hours = ["08:00-12:00", "13:00-18:00"]
    return {
        "tenant_id": "bench",
        "name": "Bench Clinic",
        "timezone": "America/New_York",
        "secret": "bench-secret-0123456789",
        "rules": {"slot_interval_minutes": 15, "min_notice_minutes": 60, "max_days_ahead": DAYS},
        "services": [
            {"id": "cleaning", "name": "Cleaning", "duration_minutes": 30, "buffer_after_minutes": 10},
            {"id": "checkup", "name": "Check-up", "duration_minutes": 20},
            {"id": "surgery", "name": "Surgery", "duration_minutes": 90, "buffer_before_minutes": 15},
        ],
        "providers": [
            {
                "id": f"p{i:02d}",
                "name": f"Dr. {i}",
                "hours": {d: hours for d in ("mon", "tue", "wed", "thu", "fri", "sat")},
            }
            for i in range(PROVIDERS)
        ],
    }


async def main() -> None:
    config = parse_clinic(bench_clinic(), {})
    clinic = build_clinic(config)
    now = datetime.now(UTC)
    rng = random.Random(7)
    async with bench_database() as url:
        pool = await create_pool(url, max_size=20)
        a_deps = AvailabilityDeps(pool=pool)
        r_deps = ReservationDeps(pool=pool)
        availability = await create_availability("127.0.0.1", 0, a_deps)
        reservation = await create_reservation("127.0.0.1", 0, r_deps)
        r_channel = open_channel(f"127.0.0.1:{reservation.port}")
        a_deps.reservation = reservation_pb2_grpc.ReservationServiceStub(r_channel)
        channel = open_channel(f"127.0.0.1:{availability.port}")
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        await stub.UpsertClinic(pb.UpsertClinicRequest(clinic=config))

        # About a third of the bookable time is taken.
        rows = []
        for provider in range(PROVIDERS):
            for day_offset in range(1, DAYS):
                for hour in (9, 11, 14, 16):
                    start = (now + timedelta(days=day_offset)).replace(hour=hour + 5, minute=0, second=0, microsecond=0)
                    rows.append((f"p{provider:02d}", start, start + timedelta(minutes=40)))
        await pool.executemany(
            """
            INSERT INTO reservation.reservations
                (tenant_id, provider_id, service_id, starts_at, ends_at, occupied, timezone, status)
            VALUES ('bench', $1, 'cleaning', $2, $3, tstzrange($2, $3), 'America/New_York', 'CONFIRMED')
            """,
            rows,
        )

        phrases = ["tomorrow", "next tuesday", "friday afternoon", "next week", "in 10 days", ""]
        latencies: list[float] = []

        async def one() -> None:
            request = pb.FindSlotsRequest(tenant_id="bench", date=rng.choice(phrases), limit=20)
            started = time.perf_counter()
            await stub.FindSlots(request)
            latencies.append((time.perf_counter() - started) * 1000)

        for _ in range(20):  # warm-up: clinic cache, connections
            await one()
        latencies.clear()
        started = time.perf_counter()
        for batch in range(REQUESTS // CONCURRENCY):
            await asyncio.gather(*(one() for _ in range(CONCURRENCY)))
            del batch
        elapsed = time.perf_counter() - started

        busy: dict[str, list[Busy]] = {}
        for provider_id, start, end in rows:
            busy.setdefault(provider_id, []).append(Busy(start, end))
        pure: list[float] = []
        service = clinic.services["cleaning"]
        today = now.astimezone(clinic.timezone).date()
        for offset in range(1, 41):
            day = today + timedelta(days=offset)
            t0 = time.perf_counter()
            free_slots(clinic, service, SlotQuery(day, day), busy, now)
            pure.append((time.perf_counter() - t0) * 1000)
        week: list[float] = []
        for offset in range(10):
            day = today + timedelta(days=offset)
            t0 = time.perf_counter()
            free_slots(clinic, service, SlotQuery(day, day + timedelta(days=6)), busy, now)
            week.append((time.perf_counter() - t0) * 1000)

        cpu = platform.processor() or platform.machine()
        print(f"machine: {os.cpu_count()} cores, {cpu}, Python {platform.python_version()}")
        print(f"clinic: {PROVIDERS} providers x {DAYS} days, {len(rows)} busy intervals")
        print(
            f"FindSlots over gRPC ({CONCURRENCY} concurrent): {percentiles(latencies)}   {REQUESTS / elapsed:.0f} req/s"
        )
        print(f"pure free_slots, one day, 20 providers:    {percentiles(pure)}")
        print(f"pure free_slots, seven days, 20 providers: {percentiles(week)}")

        await channel.close()
        await r_channel.close()
        await availability.stop(0)
        await reservation.stop(0)
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
