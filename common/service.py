"""Process lifecycle shared by the three gRPC services.

`python -m services.<svc>` reads its config, then `main` opens the database
pool, applies migrations (advisory-locked, so simultaneous starts don't race), starts
the gRPC server, and serves until SIGTERM/SIGINT. The tests stop the same runtime the
same way (`BackgroundRuntime.stop`), so there is one shutdown path.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import asyncpg

from common.config import ServiceConfig, env_port, load_or_exit
from common.db import create_pool
from common.db_errors import DATABASE_ERRORS, describe
from common.grpc_server import GrpcService, serve_until_signalled
from common.logs import configure_logging
from common.metrics import DEFAULT_PORTS, metrics_port_variable, serve_metrics
from common.migrations import MigrationError, apply_migrations
from common.retention import Sweeps, command
from common.tracing import setup as setup_tracing

log = logging.getLogger("common.service")


@dataclass
class BackgroundRuntime:
    """A started gRPC server, its background workers (relays, sweepers) and what to release
    after them (channels, senders), stopped together by `stop`."""

    grpc: GrpcService
    tasks: list[asyncio.Task[None]] = field(default_factory=list)
    close: Callable[[], Awaitable[None]] | None = None
    # Run before each scrape of the metrics port: domain gauges read from the database.
    refresh_metrics: Callable[[], Awaitable[None]] | None = None

    @property
    def port(self) -> int:
        return self.grpc.port

    async def stop(self, grace: float) -> None:
        """Finish in-flight calls, then cancel the workers and wait until they have let go
        (a relay mid-query must not find its pool closed), then release the rest."""
        await self.grpc.stop(grace)
        for task in self.tasks:
            task.cancel()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self.close is not None:
            await self.close()


# The name the service starters use for what they return.
Running = BackgroundRuntime
Starter = Callable[[ServiceConfig, asyncpg.Pool], Awaitable[BackgroundRuntime]]


class StartError(RuntimeError):
    """The database could not be used at start: one line and exit 3, not a traceback."""


async def _run(cfg: ServiceConfig, metrics_port: int, start: Starter) -> None:
    try:
        await apply_migrations(cfg.database_url)
        pool = await create_pool(cfg.database_url, max_size=cfg.db_pool_size)
    except DATABASE_ERRORS as error:
        raise StartError(describe(cfg.database_url, error)) from error
    runtime = await start(cfg, pool)
    runtime.grpc.watch_database(pool)
    metrics = await serve_metrics(cfg.host, metrics_port, refresh=runtime.refresh_metrics)
    # Its own line, before "listening": supervisors read the gRPC port from the "listening" line.
    log.info("metrics port", extra={"port": metrics.port, "host": cfg.host})
    log.info("listening", extra={"port": runtime.port, "host": cfg.host})

    async def release() -> None:
        await metrics.stop()
        await pool.close()

    await serve_until_signalled(runtime, cfg.shutdown_grace_seconds, release)


def main(name: str, port_var: str, default_port: int, start: Starter) -> None:
    cfg = load_or_exit(name, lambda: ServiceConfig.from_env(name, port_var, default_port))
    variable = metrics_port_variable(name)
    metrics_port = load_or_exit(name, lambda: env_port(os.environ, variable, DEFAULT_PORTS[name]))
    configure_logging(name, cfg.log_level)
    setup_tracing(name)  # before the server, channels and pool exist: they are instrumented as made
    try:
        asyncio.run(_run(cfg, metrics_port, start))
    except (StartError, MigrationError) as error:
        print(f"{name}: {error}", file=sys.stderr)
        raise SystemExit(3 if isinstance(error, StartError) else 1) from None


def serve_or_purge(
    name: str, port_var: str, default_port: int, sweeps: Sweeps, starter: Callable[[], Starter], argv: list[str]
) -> int:
    """`python -m services.<name>` serves; `… purge [--days N] [--dry-run]` purges expired data
    (common/retention.py) and returns its exit code."""
    usage = f"usage: python -m services.{name} [purge [--days N] [--dry-run]]   (or: booking purge {name})"
    if argv[:1] == ["purge"]:
        return command(name, argv[1:], sweeps)
    if argv[:1] in (["-h"], ["--help"]):
        print(usage)  # and does not start the server
        return 0
    if argv:
        print(usage, file=sys.stderr)
        return 2
    main(name, port_var, default_port, starter())
    return 0
