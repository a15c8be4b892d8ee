"""Holds per second on distinct slots, and latency under contention (many callers, one slot),
over real gRPC against a real PostgreSQL. Prints figures; asserts nothing.

    .venv/bin/python -m bench.reservation
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

from bench.common import bench_database, percentiles
from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from common.db import create_pool
from common.grpc_client import open_channel
from services.availability.clinic_file import parse_clinic
from services.availability.server import create_server as create_availability
from services.availability.servicer import AvailabilityDeps
from services.reservation.server import create_server as create_reservation
from services.reservation.servicer import ReservationDeps

PROVIDERS = 20
DISTINCT = 1000
CONTENTION_ROUNDS = 10
CALLERS = 50


def clinic() -> dict[str, object]:
    hours = ["00:00-24:00"]
    return {
        "tenant_id": "bench",
        "name": "Bench",
        "timezone": "UTC",
        "secret": "bench-secret-0123456789",
        "rules": {"slot_interval_minutes": 30, "min_notice_minutes": 0, "max_days_ahead": 60, "otp_required": False},
        "services": [{"id": "visit", "name": "Visit", "duration_minutes": 30}],
        "providers": [
            {
                "id": f"p{i:02d}",
                "name": f"P{i}",
                "hours": {d: hours for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")},
            }
            for i in range(PROVIDERS)
        ],
    }


async def main() -> None:
    async with bench_database() as url:
        pool = await create_pool(url, max_size=30)
        a_deps, r_deps = AvailabilityDeps(pool=pool), ReservationDeps(pool=pool)
        availability = await create_availability("127.0.0.1", 0, a_deps)
        reservation = await create_reservation("127.0.0.1", 0, r_deps, background=False)
        a_channel = open_channel(f"127.0.0.1:{availability.port}")
        r_channel = open_channel(f"127.0.0.1:{reservation.port}")
        a_deps.reservation = reservation_pb2_grpc.ReservationServiceStub(r_channel)
        r_deps.availability = availability_pb2_grpc.AvailabilityServiceStub(a_channel)
        stub = reservation_pb2_grpc.ReservationServiceStub(r_channel)
        await r_deps.availability.UpsertClinic(apb.UpsertClinicRequest(clinic=parse_clinic(clinic(), {})))
        base = (datetime.now(UTC) + timedelta(days=1)).replace(hour=0, minute=0, second=0, microsecond=0)

        def request(n: int, start: datetime, provider: str) -> pb.CreateHoldRequest:
            stamp = pb.CreateHoldRequest().start
            stamp.FromDatetime(start)
            return pb.CreateHoldRequest(
                tenant_id="bench", provider_id=provider, service_id="visit", start=stamp, call_id=f"call-{n}"
            )

        latencies: list[float] = []

        async def timed(req: pb.CreateHoldRequest) -> bool:
            t0 = time.perf_counter()
            reply: pb.CreateHoldResponse = await stub.CreateHold(req)
            latencies.append((time.perf_counter() - t0) * 1000)
            return reply.HasField("hold")

        # Distinct slots, 20 in flight at a time.
        requests = [
            request(n, base + timedelta(minutes=30 * (n // PROVIDERS)), f"p{n % PROVIDERS:02d}")
            for n in range(DISTINCT)
        ]
        started = time.perf_counter()
        won = 0
        for i in range(0, DISTINCT, 20):
            won += sum(await asyncio.gather(*(timed(r) for r in requests[i : i + 20])))
        elapsed = time.perf_counter() - started
        print(f"distinct slots: {DISTINCT / elapsed:.0f} holds/s, {won} held   {percentiles(latencies)}")

        latencies.clear()
        winners = []
        day2 = base + timedelta(days=2)
        for round_ in range(CONTENTION_ROUNDS):
            slot = day2 + timedelta(minutes=30 * round_)
            results = await asyncio.gather(
                *(timed(request(10_000 + round_ * CALLERS + i, slot, "p00")) for i in range(CALLERS))
            )
            winners.append(sum(results))
        label = f"contention ({CALLERS} callers x 1 slot, {CONTENTION_ROUNDS} rounds)"
        print(f"{label}: winners per round {set(winners)}   {percentiles(latencies)}")

        await a_channel.close()
        await r_channel.close()
        await availability.stop(0)
        await reservation.stop(0)
        await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
