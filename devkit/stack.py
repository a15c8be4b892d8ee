"""`make run`: the whole stack under one supervisor.

Starts an embedded PostgreSQL when DATABASE_URL is unset, applies migrations, generates the
service token, the key-encryption key and the demo secret once (kept in .data/secrets.json),
starts availability, reservation, notification and the gateway as child
processes (forwarding their JSON logs), loads the demo clinic, prints the gateway
URL, the demo secret and a sample curl, prints each text as the local SMS sender "sends"
it, and on Ctrl-C/SIGTERM stops every child (SIGTERM, then SIGKILL after 10 s) and the embedded PostgreSQL it started.

A port variable set to 0 lets a child pick a free port; the supervisor reads the
bound port from the child's "listening" log line and hands it to the others.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from dataclasses import dataclass, field

import asyncpg
import grpc

from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from common.grpc_client import open_channel
from common.migrations import apply_migrations
from common.security import GrpcSecurity
from devkit.embedded_pg import EmbeddedPostgres, free_port
from devkit.local_secrets import SECRETS_FILE, local_secrets
from devkit.processes import ROOT, spawn

DEMO_CLINIC_FILE = ROOT / "clinics" / "demo.yaml"
STOP_TIMEOUT_SECONDS = 10.0
START_TIMEOUT_SECONDS = 30.0
DATABASE_NAME = "booking"
_background: set[asyncio.Task[None]] = set()  # keeps log forwarders alive


@dataclass
class Child:
    name: str
    process: asyncio.subprocess.Process
    port: asyncio.Future[int] = field(default_factory=lambda: asyncio.get_running_loop().create_future())


def say(message: str) -> None:
    """Supervisor's own lines go to stderr so stdout stays pure JSON logs."""
    print(f"[make run] {message}", file=sys.stderr, flush=True)


async def ensure_database(admin_url: str, name: str) -> str:
    conn = await asyncpg.connect(admin_url)
    try:
        exists = await conn.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", name)
        if not exists:
            await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return admin_url.rsplit("/", 1)[0] + f"/{name}"


async def forward_output(child: Child) -> None:
    """Copy a child's stdout to ours and watch for its "listening" line."""
    assert child.process.stdout is not None
    async for raw in child.process.stdout:
        line = raw.decode(errors="replace").rstrip("\n")
        print(line, flush=True)
        if not child.port.done() and '"listening"' in line:
            try:
                child.port.set_result(int(json.loads(line)["port"]))
            except (ValueError, KeyError):
                pass
    if not child.port.done():
        child.port.set_exception(RuntimeError(f"{child.name} exited before listening"))


async def start_child(name: str, module: str, env: dict[str, str]) -> Child:
    # A session of its own: Ctrl-C reaches the supervisor only; it stops children in order.
    process = await spawn(module, env=env, stderr=None, new_session=True)
    child = Child(name, process)
    _background.add(asyncio.create_task(forward_output(child)))
    return child


async def stop_children(children: list[Child]) -> None:
    for child in reversed(children):
        if child.process.returncode is None:
            child.process.send_signal(signal.SIGTERM)
    for child in children:
        try:
            await asyncio.wait_for(child.process.wait(), STOP_TIMEOUT_SECONDS)
        except TimeoutError:
            say(f"{child.name} did not stop in {STOP_TIMEOUT_SECONDS:.0f}s; killing it")
            child.process.kill()
            await child.process.wait()


async def load_demo_clinic(env: dict[str, str]) -> bool:
    if not DEMO_CLINIC_FILE.exists():
        return False
    process = await spawn(
        "services.availability", "load-clinic", str(DEMO_CLINIC_FILE), env=env, stdout=None, stderr=None
    )
    return await process.wait() == 0


PROCESSES = (
    ("availability", "services.availability", "AVAILABILITY_PORT", "AVAILABILITY_ADDR", 50051),
    ("reservation", "services.reservation", "RESERVATION_PORT", "RESERVATION_ADDR", 50052),
    ("notification", "services.notification", "NOTIFICATION_PORT", "NOTIFICATION_ADDR", 50053),
    ("gateway", "gateway", "GATEWAY_PORT", "", 8080),
)
METRICS_DEFAULTS = {"gateway": 9100, "availability": 9101, "reservation": 9102, "notification": 9103}
# Replica i (from 0) of a process serves metrics on its default port + 10 * i (9100, 9110, ...).
METRICS_STEP = 10


def replica_count(env: dict[str, str]) -> int:
    raw = env.get("REPLICAS") or "1"
    if not raw.isdigit() or not 1 <= int(raw) <= 8:
        raise ValueError(f"REPLICAS={raw!r} must be a whole number from 1 to 8")
    return int(raw)


def assign_ports(env: dict[str, str], replicas: int = 1) -> dict[str, list[int]]:
    """Services call each other, so every address must be known before any starts: a port
    of 0 is replaced by a free port chosen here (tests use this to run beside others). With several
    replicas each service replica gets a port of its own (the first keeps the configured one) and
    `*_ADDR` lists them all; the gateways share one port (SO_REUSEPORT)."""
    ports: dict[str, list[int]] = {}
    for name, _, port_var, addr_var, default in PROCESSES:
        first = int(env.get(port_var) or default) or free_port()
        env[port_var] = str(first)
        ports[name] = [first] * replicas if not addr_var else [first, *(free_port() for _ in range(replicas - 1))]
        if addr_var:
            env[addr_var] = ",".join(f"127.0.0.1:{port}" for port in ports[name])
    if replicas > 1:
        env["GATEWAY_REUSE_PORT"] = "1"
    return ports


def replica_env(env: dict[str, str], name: str, port_var: str, port: int, index: int) -> dict[str, str]:
    """One replica's environment: its own port and metrics port."""
    metrics_var = f"{name.upper()}_METRICS_PORT"
    metrics = int(env.get(metrics_var) or METRICS_DEFAULTS[name])
    return {**env, port_var: str(port), metrics_var: str(metrics and metrics + METRICS_STEP * index)}


async def start_all(env: dict[str, str], replicas: int) -> list[Child]:
    ports = assign_ports(env, replicas)
    children: list[Child] = []
    for name, module, port_var, _, _ in PROCESSES:
        for index, port in enumerate(ports[name]):
            label = name if replicas == 1 else f"{name}-{index + 1}"
            children.append(await start_child(label, module, replica_env(env, name, port_var, port, index)))
    return children


def announce(env: dict[str, str], gateway_port: int) -> None:
    url = f"http://127.0.0.1:{gateway_port}"
    say(f"gateway: {url}   (ready: {url}/ready)")
    say(f"demo tenant secret: {env['DEMO_TENANT_SECRET']}   (kept in {SECRETS_FILE.relative_to(ROOT)})")
    say(
        f"gRPC APIs: availability {env['AVAILABILITY_ADDR']}, reservation {env['RESERVATION_ADDR']}, "
        f"notification {env['NOTIFICATION_ADDR']}; authorization: Bearer $INTERNAL_API_TOKEN (in the same file)"
    )
    say(
        "try: curl -s -X POST "
        f"{url}/vapi/demo -H 'Authorization: Bearer {env['DEMO_TENANT_SECRET']}' "
        '-H \'Content-Type: application/json\' -d \'{"message": {"type": "tool-calls", '
        '"toolCallList": [{"id": "call_1", "type": "function", "function": '
        '{"name": "check_availability", "arguments": {"date": "tomorrow"}}}]}}\''
    )
    say(f"texts are not sent without TWILIO_*: they are printed here and listed at {url}/dev/sms")
    say(f"staff console: {url}/console/demo/   (an account first: booking staff add demo you@example.com)")
    say("Ctrl-C stops everything")


async def print_texts(env: dict[str, str], interval: float = 0.5) -> None:
    """Print each text the local SMS sender keeps as it is "sent" (the developer's own stderr,
    never the JSON logs: bodies carry codes). Stops when a real sender is configured."""
    seen: set[str] = set()
    async with open_channel(env["NOTIFICATION_ADDR"], security=GrpcSecurity.from_env(env)) as channel:
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        while True:
            try:
                reply = await stub.ListDevTexts(notification_pb2.ListDevTextsRequest())
            except grpc.aio.AioRpcError as error:
                if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
                    return  # Twilio sends for real: nothing to show
                reply = notification_pb2.ListDevTextsResponse()
            for text in reversed(reply.texts):  # oldest first on screen
                if text.provider_sid not in seen:
                    seen.add(text.provider_sid)
                    say(f"SMS to {text.to}: {text.body}")
            await asyncio.sleep(interval)


async def supervise(children: list[Child], stop: asyncio.Event) -> int:
    """Wait for Ctrl-C/SIGTERM (exit 0) or for a child to die (exit 1)."""
    exited = [asyncio.create_task(child.process.wait()) for child in children]
    stopping = asyncio.create_task(stop.wait())
    done, _ = await asyncio.wait([stopping, *exited], return_when=asyncio.FIRST_COMPLETED)
    code = 0
    if stopping not in done:
        dead = [c.name for c in children if c.process.returncode is not None]
        say(f"{', '.join(dead)} exited unexpectedly; stopping the stack")
        code = 1
    stopping.cancel()
    return code


async def run() -> int:
    env = dict(os.environ)
    embedded: EmbeddedPostgres | None = None
    children: list[Child] = []
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if not env.get("DATABASE_URL"):
            embedded = EmbeddedPostgres()
            admin_url = await asyncio.to_thread(embedded.start)
            env["DATABASE_URL"] = await ensure_database(admin_url, DATABASE_NAME)
            say(f"embedded PostgreSQL on 127.0.0.1:{embedded.port} (data in .data/)")
        applied = await apply_migrations(env["DATABASE_URL"])
        say(f"migrations applied: {len(applied)}")
        env.update(local_secrets(env))
        env["READY_TENANTS"] = "demo"  # the gateway is ready once the demo clinic is loaded
        env["PYTHONUNBUFFERED"] = "1"
        replicas = replica_count(env)
        children.extend(await start_all(env, replicas))
        ports = [await asyncio.wait_for(asyncio.shield(child.port), START_TIMEOUT_SECONDS) for child in children]
        if await load_demo_clinic(env):
            say("demo clinic loaded as tenant 'demo'")
        if replicas > 1:
            say(f"{replicas} replicas of each process; the gateways share port {ports[-1]}")
        announce(env, ports[-1])
        texts = asyncio.create_task(print_texts(env), name="print-texts")
        try:
            return await supervise(children, stop)
        finally:
            texts.cancel()
    except (TimeoutError, RuntimeError, ValueError) as error:
        say(f"start failed: {error or 'a process did not report its port in time'}")
        return 1
    finally:
        say("stopping")
        await stop_children(children)
        if embedded is not None:
            await asyncio.to_thread(embedded.stop_if_started_here)
        say("stopped")


def main() -> int:
    return asyncio.run(run())


if __name__ == "__main__":
    sys.exit(main())
