"""`booking staff …`: staff accounts for a clinic's console (/console/TENANT/), through the
availability gRPC API with the service token (`INTERNAL_API_TOKEN`).

  staff add TENANT EMAIL [--password-stdin] [--reset]   prompts for the password (twice) unless
                                                        it comes on stdin; --reset replaces one
  staff list TENANT
  staff remove TENANT EMAIL

The password is never an argument (it would show in `ps` and shell history) and never printed.
Exit codes: 0 done, 1 refused (unknown tenant, account exists or is missing, bad email or
password), 2 bad usage or configuration, 3 the service could not be reached.
"""

from __future__ import annotations

import argparse
import getpass
import sys
from collections.abc import Awaitable, Callable

from booking.availability.v1 import availability_pb2 as pb
from booking.availability.v1 import availability_pb2_grpc
from common.exits import fail
from common.timestamps import from_timestamp
from services.availability.tenants_cli import run_cli

PROG = "staff"
Stub = availability_pb2_grpc.AvailabilityServiceStub
Command = Callable[[Stub, argparse.Namespace], Awaitable[int]]


class Refused(Exception):
    """The input is refused before anything is sent (exit 1)."""


def read_password(from_stdin: bool) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    first = getpass.getpass("password: ")
    if getpass.getpass("again: ") != first:
        raise Refused("the two passwords differ")
    return first


async def add(stub: Stub, args: argparse.Namespace) -> int:
    password = read_password(args.password_stdin)
    reply = await stub.CreateStaffAccount(
        pb.CreateStaffAccountRequest(tenant_id=args.tenant, email=args.email, password=password, replace=args.reset)
    )
    done = "added" if reply.created else "new password for"
    print(f"{done} {args.email.strip().lower()} ({args.tenant!r}); sign in at /console/{args.tenant}/login")
    return 0


async def list_accounts(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.ListStaffAccounts(pb.ListStaffAccountsRequest(tenant_id=args.tenant))
    for account in reply.accounts:
        print(f"{account.email}  created {from_timestamp(account.created_at).isoformat()}")
    return 0


async def remove(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.RemoveStaffAccount(pb.RemoveStaffAccountRequest(tenant_id=args.tenant, email=args.email))
    if not reply.removed:
        return fail(PROG, f"no account {args.email} for {args.tenant!r}", 1)
    print(f"removed {args.email}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="booking staff")
    root.add_argument("--target", help="availability address host:port (default: $AVAILABILITY_ADDR)")
    commands = root.add_subparsers(dest="command", required=True)
    adding = commands.add_parser("add", help="create a console account (prompts for the password)")
    adding.add_argument("tenant")
    adding.add_argument("email")
    adding.add_argument("--password-stdin", action="store_true", help="read the password from the first line of stdin")
    adding.add_argument("--reset", action="store_true", help="give an existing account this new password")
    adding.set_defaults(run=add)
    listing = commands.add_parser("list", help="list a tenant's console accounts")
    listing.add_argument("tenant")
    listing.set_defaults(run=list_accounts)
    removing = commands.add_parser("remove", help="remove a console account (its sessions end)")
    removing.add_argument("tenant")
    removing.add_argument("email")
    removing.set_defaults(run=remove)
    return root


def main(argv: list[str]) -> int:
    try:
        return run_cli(PROG, parser(), argv)
    except Refused as error:
        return fail(PROG, f"refused: {error}", 1)
    except (EOFError, KeyboardInterrupt):
        return fail(PROG, "no password given", 1)
