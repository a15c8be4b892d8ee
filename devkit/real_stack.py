"""The four processes as real subprocesses (for kill -9, SIGTERM and database restarts)."""

from __future__ import annotations

import asyncio
import json
import signal
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import asyncpg

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

    @classmethod
    def configure(cls, database_url: str, extra: dict[str, str]) -> RealStack:
        env = {"DATABASE_URL": database_url, "SHUTDOWN_GRACE_SECONDS": "5", "LOG_LEVEL": "WARNING", **extra}
        env.setdefault("GATEWAY_METRICS_PORT", "0")  # any free port: stacks run side by side
        for _, prefix in MODULES.values():
            port = str(free_port())
            env[f"{prefix}_PORT"] = port
            if prefix != "GATEWAY":
                env[f"{prefix}_ADDR"] = f"127.0.0.1:{port}"
        return cls(env)

    @property
    def gateway_url(self) -> str:
        return f"http://127.0.0.1:{self.env['GATEWAY_PORT']}"

    async def start(self, name: str) -> None:
        module, _ = MODULES[name]
        env = {**self.env, "LOG_LEVEL": "INFO"}  # the "listening" line is INFO
        self.procs[name] = await start_module(module, env)

    async def start_all(self) -> None:
        for name in MODULES:
            await self.start(name)

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
