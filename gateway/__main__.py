"""Start the gateway: `python -m gateway` (`--help` prints this and starts nothing)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from aiohttp import web

from common.config import load_or_exit
from common.logs import configure_logging
from common.tracing import setup as setup_tracing
from gateway.app import create_app
from gateway.config import GatewayConfig
from gateway.state import METRICS_PORT

log = logging.getLogger("gateway")


async def serve(cfg: GatewayConfig) -> None:
    app = create_app(cfg)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=cfg.shutdown_grace_seconds)
    await runner.setup()  # starts the metrics port too (the app's cleanup context)
    site = web.TCPSite(runner, cfg.host, cfg.port, reuse_port=cfg.reuse_port or None)
    await site.start()
    # Its own line: supervisors read the public port from the "listening" line.
    log.info("metrics port", extra={"port": app[METRICS_PORT], "host": cfg.host})
    log.info("listening", extra={"port": runner.addresses[0][1], "host": cfg.host})
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down", extra={"grace_s": cfg.shutdown_grace_seconds})
    # Stops accepting, lets in-flight requests finish within the grace period.
    await runner.cleanup()
    log.info("stopped")


def main(argv: list[str] | None = None) -> None:
    argparse.ArgumentParser(
        prog="python -m gateway",
        description="Serve the Vapi gateway; configured by environment variables (README, Configuration).",
    ).parse_args(argv)
    cfg = load_or_exit("gateway", GatewayConfig.from_env)
    configure_logging("gateway", cfg.log_level)
    setup_tracing("gateway")  # before the app and its channels exist: they are instrumented as made
    asyncio.run(serve(cfg))


if __name__ == "__main__":
    main()
