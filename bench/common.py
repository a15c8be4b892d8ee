"""Shared benchmark plumbing: a real PostgreSQL and a fresh database."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import statistics
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
from aiohttp import web

from common.migrations import apply_migrations
from devkit.embedded_pg import EmbeddedPostgres
from devkit.local_secrets import use_throwaway_secrets

use_throwaway_secrets(os.environ)  # the service token and key-encryption key every process needs


@asynccontextmanager
async def bench_database() -> AsyncIterator[str]:
    """A fresh, migrated database on DATABASE_URL's server or the embedded one; dropped afterwards."""
    embedded = None
    admin = os.environ.get("DATABASE_URL")
    if not admin:
        embedded = EmbeddedPostgres()
        admin = embedded.start()
    name = f"bench_{uuid.uuid4().hex[:8]}"
    conn = await asyncpg.connect(admin)
    await conn.execute(f'CREATE DATABASE "{name}"')
    await conn.close()
    url = admin.rsplit("/", 1)[0] + f"/{name}"
    try:
        await apply_migrations(url)
        yield url
    finally:
        conn = await asyncpg.connect(admin)
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await conn.close()
        if embedded is not None:
            embedded.stop_if_started_here()


def percentiles(samples_ms: list[float]) -> str:
    ordered = sorted(samples_ms)
    q = statistics.quantiles(ordered, n=100, method="inclusive")
    return f"p50 {q[49]:7.2f} ms   p99 {q[98]:7.2f} ms   max {ordered[-1]:7.2f} ms   n={len(ordered)}"


async def serve_until_stopped(app: web.Application, port_var: str, log: logging.Logger) -> None:
    """Serve `app` on 127.0.0.1:$port_var (0 = any free port), log the "listening" line the
    benchmark reads the port from, and stop on SIGTERM/SIGINT."""
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", int(os.environ.get(port_var, "0")))
    await site.start()
    log.info("listening", extra={"port": runner.addresses[0][1]})
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        asyncio.get_running_loop().add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()
