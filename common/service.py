"""Process lifecycle shared by the three gRPC services.

`python -m services.<svc>` reads its config, then `run_service` opens the database
pool, applies migrations (advisory-locked, so simultaneous starts don't race), starts
the gRPC server, and serves until SIGTERM/SIGINT.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import asyncpg

from common.config import ServiceConfig, load_or_exit
from common.db import create_pool
from common.grpc_server import GrpcService, serve_until_signalled
from common.logs import configure_logging
from common.migrations import apply_migrations

log = logging.getLogger("common.service")


@dataclass
class Running:
    """A started service: its server plus whatever must be closed on shutdown."""

    grpc: GrpcService
    close: Callable[[], Awaitable[None]]


Starter = Callable[[ServiceConfig, asyncpg.Pool], Awaitable[Running]]


@dataclass
class BackgroundRuntime:
    """A started gRPC server plus its background workers (relays, sweepers), stopped together."""

    grpc: GrpcService
    tasks: list[asyncio.Task[None]]
    on_stop: Callable[[], Awaitable[None]] | None = None

    @property
    def port(self) -> int:
        return self.grpc.port

    async def stop(self, grace: float) -> None:
        await self.grpc.stop(grace)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.on_stop is not None:
            await self.on_stop()


async def _run(cfg: ServiceConfig, start: Starter) -> None:
    await apply_migrations(cfg.database_url)
    pool = await create_pool(cfg.database_url, max_size=cfg.db_pool_size)
    running = await start(cfg, pool)
    running.grpc.watch_database(pool)
    log.info("listening", extra={"port": running.grpc.port, "host": cfg.host})

    async def close() -> None:
        await running.close()
        await pool.close()

    await serve_until_signalled(running.grpc, cfg.shutdown_grace_seconds, close)


def main(name: str, port_var: str, default_port: int, start: Starter) -> None:
    cfg = load_or_exit(name, lambda: ServiceConfig.from_env(name, port_var, default_port))
    configure_logging(name, cfg.log_level)
    asyncio.run(_run(cfg, start))
