"""The four processes as real subprocesses (for kill -9, SIGTERM and database restarts)."""

from __future__ import annotations

import asyncio
import json
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg

from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.grpc_client import open_channel
from devkit.embedded_pg import free_port
from devkit.processes import Proc, start_module

MODULES = {
    "availability": ("services.availability", "AVAILABILITY"),
    "reservation": ("services.reservation", "RESERVATION"),
    "notification": ("services.notification", "NOTIFICATION"),
    "gateway": ("gateway", "GATEWAY"),
}


@dataclass
class RealStack:
    env: dict[str, str]
    procs: dict[str, Proc] = field(default_factory=dict)
    # Replica i (from 2) of a process is named "<name>-<i>" and listens on ports[name][i - 1].
    ports: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def configure(cls, database_url: str, extra: dict[str, str], replicas: int = 1) -> RealStack:
        env = {"DATABASE_URL": database_url, "SHUTDOWN_GRACE_SECONDS": "5", "LOG_LEVEL": "WARNING", **extra}
        env.setdefault("GATEWAY_METRICS_PORT", "0")  # any free port: stacks run side by side
        ports: dict[str, list[int]] = {}
        for name, (_, prefix) in MODULES.items():
            # The gateways share one port (SO_REUSEPORT); each service replica has its own.
            shared = prefix == "GATEWAY"
            first = free_port()
            ports[name] = [first if shared or i == 0 else free_port() for i in range(replicas)]
            env[f"{prefix}_PORT"] = str(first)
            if prefix != "GATEWAY":
                env[f"{prefix}_ADDR"] = ",".join(f"127.0.0.1:{port}" for port in ports[name])
        if replicas > 1:
            env["GATEWAY_REUSE_PORT"] = "1"
        return cls(env, ports=ports)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.env['GATEWAY_PORT']}"

    async def start(self, name: str) -> None:
        """Start `name` ("reservation") or one replica of it ("reservation-2")."""
        base, _, index = name.partition("-")
        module, prefix = MODULES[base]
        port = self.ports[base][int(index or 1) - 1]
        env = {**self.env, f"{prefix}_PORT": str(port), "LOG_LEVEL": "INFO"}  # the "listening" line is INFO
        self.procs[name] = await start_module(module, env)

    async def start_all(self) -> None:
        for name, ports in self.ports.items():
            for index in range(len(ports)):
                await self.start(name if index == 0 else f"{name}-{index + 1}")

    def kill(self, name: str) -> None:
        self.procs[name].process.send_signal(signal.SIGKILL)

    async def stop_all(self) -> None:
        for proc in self.procs.values():
            if proc.process.returncode is None:
                proc.process.terminate()
        for proc in self.procs.values():
            try:
                await asyncio.wait_for(proc.process.wait(), 15)
            except TimeoutError:
                proc.process.kill()
                await proc.process.wait()


def twilio_settings(url: str) -> dict[str, str]:
    """Environment that sends texts with the real twilio library to an imitation of Twilio at `url`."""
    return {
        "TWILIO_ACCOUNT_SID": "AC" + "3" * 32, "TWILIO_AUTH_TOKEN": "token",
        "TWILIO_FROM_NUMBER": "+12125550100", "TWILIO_API_BASE_URL": url,
    }  # fmt: skip


@asynccontextmanager
async def running(
    database_url: str, extra: dict[str, str], *, replicas: int = 1, clinic: apb.ClinicConfig | None = None
) -> AsyncIterator[RealStack]:
    """Every process started (`replicas` of each), `clinic` loaded, everything stopped after — also
    when one fails to start (the others must not be left running)."""
    stack = RealStack.configure(database_url, extra, replicas=replicas)
    try:
        await stack.start_all()
        if clinic is not None:
            async with open_channel(stack.env["AVAILABILITY_ADDR"]) as channel:
                await availability_pb2_grpc.AvailabilityServiceStub(channel).UpsertClinic(
                    apb.UpsertClinicRequest(clinic=clinic)
                )
        yield stack
    finally:
        await stack.stop_all()


async def tool(
    session: aiohttp.ClientSession, url: str, secret: str, tenant: str, name: str, args: dict[str, Any],
    *, call_id: str, tool_call_id: str, caller: str = "",
) -> tuple[int, dict[str, Any]]:  # fmt: skip
    body = {
        "message": {
            "type": "tool-calls",
            "toolCallList": [{"id": tool_call_id, "type": "function", "function": {"name": name, "arguments": args}}],
            "call": {"id": call_id, "customer": {"number": caller}},
        }
    }
    async with session.post(f"{url}/vapi/{tenant}", json=body, headers={"Authorization": f"Bearer {secret}"}) as reply:
        status = reply.status
        text = await reply.text()
        assert status == 200, f"{status}: {text}"
        payload = json.loads(text)
    return status, json.loads(payload["results"][0]["result"])


async def double_bookings(pool: asyncpg.Pool) -> int:
    """Pairs of live reservations of one provider that overlap (the exclusion constraint says 0)."""
    value = await pool.fetchval(
        """
        SELECT count(*) FROM reservation.reservations a JOIN reservation.reservations b
          ON a.reservation_id < b.reservation_id AND a.tenant_id = b.tenant_id AND a.provider_id = b.provider_id
         AND a.occupied && b.occupied
        WHERE a.status IN ('HELD', 'CONFIRMED') AND b.status IN ('HELD', 'CONFIRMED')
        """
    )
    return int(value)
