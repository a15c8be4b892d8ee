"""`booking`: the one command for developers and operators (installed into .venv by `make`;
`python -m common.cli` is the same thing where the package is not installed, e.g. the image).

    booking run                                   the whole stack on a laptop (source checkout only)
    booking migrate                               apply pending migrations to $DATABASE_URL
    booking load-clinic FILE                      validate a clinic file and upsert it
    booking tenants rotate-secret|issue-key|list-keys|revoke-key …
    booking feeds issue|list|revoke TENANT PROVIDER   tokens for the providers' calendar feeds
    booking staff add|list|remove …               a clinic's console accounts
    booking sms inbox                             the texts the local SMS sender kept (no Twilio)
    booking vapi tools|prompt|sync …              the Vapi tool JSON, the system prompt, sync
    booking purge reservation|notification …      remove expired patient data now

Each subcommand is the existing entry point (`common.migrations`, `services.availability
load-clinic|tenants`, `gateway.vapi_admin`, `common.retention`, `devkit.stack`), so the old
`python -m …` forms keep working and behave the same. `--help` works at every level.

Exit codes, the same for every subcommand: 0 done, 1 refused or failed (invalid file, unknown
tenant or key, another replica purging, a child of `run` died), 2 bad usage or configuration,
3 a service or the database could not be reached. Errors are one line on stderr.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import Callable
from typing import NoReturn

import grpc

from common.config import ConfigError, env_address
from common.exits import fail

PROG = "booking"
Command = Callable[[list[str]], int]


class OneLineParser(argparse.ArgumentParser):
    """Usage errors as one line (exit 2), not argparse's usage block."""

    def error(self, message: str) -> NoReturn:
        print(f"{self.prog}: {message} (see --help)", file=sys.stderr)
        raise SystemExit(2)


def _use_local_token() -> None:
    """In a source checkout, commands that talk to the services find the token `make run`
    keeps in .data/secrets.json when INTERNAL_API_TOKEN is not set; the image has no devkit."""
    if os.environ.get("INTERNAL_API_TOKEN"):
        return
    try:
        from devkit.local_secrets import SECRETS_FILE
    except ImportError:
        return
    try:
        token = json.loads(SECRETS_FILE.read_text()).get("INTERNAL_API_TOKEN")
    except (OSError, ValueError, AttributeError):
        return
    if isinstance(token, str) and token:
        os.environ["INTERNAL_API_TOKEN"] = token


def run(argv: list[str]) -> int:
    parser = OneLineParser(
        prog=f"{PROG} run",
        description="Start PostgreSQL (embedded unless DATABASE_URL is set), the three services and the "
        "gateway, load the demo clinic, print the texts; Ctrl-C stops everything. Source checkout only.",
    )
    parser.add_argument(
        "--replicas", type=int, choices=range(1, 9), metavar="N",
        help="N of each service and gateway (the gateways share one port; default $REPLICAS or 1)",
    )  # fmt: skip
    args = parser.parse_args(argv)
    if args.replicas:
        os.environ["REPLICAS"] = str(args.replicas)
    try:
        from devkit.stack import main as stack_main
    except ImportError:
        print(f"{PROG} run: needs a source checkout (devkit/); in the image start each process "
              "with `python -m services.<name>` or `python -m gateway`", file=sys.stderr)  # fmt: skip
        return 2
    return stack_main()


def migrate(argv: list[str]) -> int:
    OneLineParser(
        prog=f"{PROG} migrate", description="Apply pending migrations from migrations/ to $DATABASE_URL."
    ).parse_args(argv)
    from common.migrations import main as migrations_main

    return migrations_main()


def load_clinic(argv: list[str]) -> int:
    _use_local_token()
    from services.availability.load_clinic import main as load_clinic_main

    return load_clinic_main(argv)


def tenants(argv: list[str]) -> int:
    _use_local_token()
    from services.availability.tenants_cli import main as tenants_main

    return tenants_main(argv)


def feeds(argv: list[str]) -> int:
    _use_local_token()
    from services.availability.feeds_cli import main as feeds_main

    return feeds_main(argv)
def staff(argv: list[str]) -> int:
    _use_local_token()
    from services.availability.staff_cli import main as staff_main

    return staff_main(argv)


def vapi(argv: list[str]) -> int:
    from gateway.vapi_admin import main as vapi_main

    return vapi_main(argv)


def purge(argv: list[str]) -> int:
    services = ("reservation", "notification")
    if not argv or argv[0] not in services:
        parser = OneLineParser(
            prog=f"{PROG} purge",
            description="Remove expired patient data now. `booking purge SERVICE --help` for the options.",
        )
        parser.add_argument("service", choices=services)
        parser.parse_args(argv[:1])  # prints the help or the one-line error and exits
        return 2
    from common.retention import command

    if argv[0] == "reservation":
        from services.reservation.retention import sweeps
    else:
        from services.notification.retention import sweeps
    return command(argv[0], argv[1:], sweeps)


async def _dev_texts(target: str) -> list[tuple[str, str, str]]:
    from booking.notification.v1 import notification_pb2, notification_pb2_grpc
    from common.grpc_client import open_channel
    from common.timestamps import from_timestamp

    async with open_channel(target) as channel:
        stub = notification_pb2_grpc.NotificationServiceStub(channel)
        reply = await stub.ListDevTexts(notification_pb2.ListDevTextsRequest(), timeout=10)
    return [(from_timestamp(t.sent_at).isoformat(), t.to, t.body) for t in reply.texts]


def sms(argv: list[str]) -> int:
    parser = OneLineParser(prog=f"{PROG} sms", description="Texts kept by the local SMS sender.")
    commands = parser.add_subparsers(dest="command", required=True)
    inbox = commands.add_parser("inbox", help="list the kept texts, newest first (only without TWILIO_*)")
    inbox.add_argument("--target", help="notification address host:port (default: $NOTIFICATION_ADDR)")
    args = parser.parse_args(argv)
    _use_local_token()
    try:
        target = args.target or env_address(os.environ, "NOTIFICATION_ADDR", "127.0.0.1:50053")
        texts = asyncio.run(_dev_texts(target))
    except ConfigError as error:
        return fail(f"{PROG} sms", f"configuration error: {error}", 2)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.FAILED_PRECONDITION:
            return fail(f"{PROG} sms", "notification sends through Twilio; there is no local inbox", 1)
        return fail(f"{PROG} sms", f"notification at {target} did not answer: {error.code().name}", 3)
    for sent_at, to, body in texts:
        print(f"{sent_at}  {to}  {body}")
    return 0


COMMANDS: dict[str, tuple[Command, str]] = {
    "run": (run, "the whole stack on a laptop (source checkout only)"),
    "migrate": (migrate, "apply pending migrations to $DATABASE_URL"),
    "load-clinic": (load_clinic, "validate a clinic file (FILE) and upsert it through availability"),
    "tenants": (tenants, "a tenant's webhook secret and API keys: rotate-secret, issue-key, list-keys, revoke-key"),
    "feeds": (feeds, "a provider's calendar feed tokens: issue, list, revoke"),
    "staff": (staff, "a clinic's console accounts: add, list, remove"),
    "sms": (sms, "sms inbox: the texts the local SMS sender kept"),
    "vapi": (vapi, "tools, prompt, sync: connect a Vapi assistant"),
    "purge": (purge, "purge reservation|notification: remove expired patient data now"),
}


def usage() -> str:
    width = max(len(name) for name in COMMANDS)
    lines = [f"usage: {PROG} COMMAND [ARGS…]   ({PROG} COMMAND --help for each)", "", "commands:"]
    lines += [f"  {name.ljust(width)}  {summary}" for name, (_, summary) in COMMANDS.items()]
    lines += ["", "exit codes: 0 done, 1 refused or failed, 2 bad usage or configuration, 3 unreachable"]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] in (["-h"], ["--help"]):
        print(usage())
        return 0
    if not args or args[0] not in COMMANDS:
        problem = f"unknown command {args[0]!r}" if args else "a command is required"
        print(f"{PROG}: {problem} (one of: {', '.join(COMMANDS)}; see --help)", file=sys.stderr)
        return 2
    command, _ = COMMANDS[args[0]]
    return command(args[1:])


if __name__ == "__main__":
    sys.exit(main())
