"""Several replicas of a service behind one `*_ADDR` list: calls spread over them and survive a kill."""

from __future__ import annotations

import asyncio
import signal

import pytest

from booking.availability.v1 import availability_pb2 as av
from booking.availability.v1 import availability_pb2_grpc
from common.grpc_client import open_channel
from devkit.processes import Proc, start_module


def served(proc: Proc, method: str) -> int:
    return sum(1 for line in proc.lines if '"rpc"' in line and method in line)


@pytest.mark.slow
async def test_calls_are_balanced_over_replicas_and_survive_one_killed(database_url: str) -> None:
    env = {"AVAILABILITY_PORT": "0", "DATABASE_URL": database_url, "RESERVATION_ADDR": "127.0.0.1:9"}
    replicas = list(await asyncio.gather(*(start_module("services.availability", env) for _ in range(2))))
    try:
        target = ",".join(f"127.0.0.1:{proc.port}" for proc in replicas)
        async with open_channel(target) as channel:
            stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
            await stub.ListTenants(av.ListTenantsRequest())  # connects to every replica
            await asyncio.sleep(0.5)
            before = [served(proc, "ListTenants") for proc in replicas]
            await asyncio.gather(*(stub.ListTenants(av.ListTenantsRequest()) for _ in range(40)))
            await asyncio.sleep(0.2)  # the access lines are read from the processes' stdout
            counts = [served(proc, "ListTenants") - seen for proc, seen in zip(replicas, before, strict=True)]
            assert sum(counts) == 40 and min(counts) >= 10, counts

            replicas[0].process.send_signal(signal.SIGKILL)
            await replicas[0].process.wait()
            replies = await asyncio.gather(
                *(stub.ListTenants(av.ListTenantsRequest()) for _ in range(40)), return_exceptions=True
            )
            assert not [reply for reply in replies if isinstance(reply, BaseException)]
    finally:
        for proc in replicas:
            if proc.process.returncode is None:
                await proc.stop()
