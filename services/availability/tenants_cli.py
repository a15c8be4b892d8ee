"""`python -m services.availability tenants …`: a tenant's webhook secret and API keys, through
the availability gRPC API with the service token (`INTERNAL_API_TOKEN`).

  tenants rotate-secret TENANT [--overlap HOURS] [--secret-env VAR]   prints the new secret once
  tenants issue-key TENANT [--label TEXT] [--patient-phones]          prints the new key once
  tenants list-keys TENANT
  tenants revoke-key TENANT KEY_ID

A key sees patient phones masked ("+1******1234") unless issued with --patient-phones.

Exit codes: 0 done, 1 refused (unknown tenant or key, bad value), 2 bad usage or configuration,
3 the service could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import secrets
import sys
from collections.abc import Awaitable, Callable

import grpc

from booking.availability.v1 import availability_pb2 as pb
from booking.availability.v1 import availability_pb2_grpc
from common.config import ConfigError
from common.grpc_client import open_channel
from common.timestamps import from_timestamp
from services.availability.load_clinic import availability_target

Stub = availability_pb2_grpc.AvailabilityServiceStub
Command = Callable[[Stub, argparse.Namespace], Awaitable[int]]


async def rotate_secret(stub: Stub, args: argparse.Namespace) -> int:
    secret = os.environ.get(args.secret_env, "") if args.secret_env else secrets.token_urlsafe(32)
    if not secret:
        print(f"tenants: {args.secret_env} is not set", file=sys.stderr)
        return 2
    reply = await stub.RotateTenantSecret(
        pb.RotateTenantSecretRequest(
            tenant_id=args.tenant, secret=secret, overlap_seconds=int(args.overlap * 3600)
        )
    )
    until = from_timestamp(reply.previous_expire_at).isoformat()
    if not args.secret_env:
        print(f"new secret for {args.tenant!r} (shown once): {secret}")
    else:
        print(f"{args.tenant!r} now uses the secret from {args.secret_env}")
    print(f"previous secrets stay valid until {until}")
    return 0


async def issue_key(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.IssueApiKey(
        pb.IssueApiKeyRequest(tenant_id=args.tenant, label=args.label, patient_phones=args.patient_phones)
    )
    print(f"API key {reply.key_id} for {args.tenant!r} (shown once): {reply.key}")
    print("it sees patient phones" if args.patient_phones else "it sees patient phones masked")
    return 0


async def list_keys(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.ListApiKeys(pb.ListApiKeysRequest(tenant_id=args.tenant))
    for key in reply.keys:
        state = "revoked " + from_timestamp(key.revoked_at).isoformat() if key.HasField("revoked_at") else "valid"
        phones = "phones" if key.patient_phones else "masked"
        print(f"{key.key_id}  {key.shown}  {state}  {phones}  {key.label}")
    return 0


async def revoke_key(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.RevokeApiKey(pb.RevokeApiKeyRequest(tenant_id=args.tenant, key_id=args.key_id))
    if not reply.revoked:
        print(f"tenants: no valid key {args.key_id} for {args.tenant!r}", file=sys.stderr)
        return 1
    print(f"revoked {args.key_id}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m services.availability tenants")
    root.add_argument("--target", help="availability address host:port (default: $AVAILABILITY_ADDR)")
    commands = root.add_subparsers(dest="command", required=True)
    rotate = commands.add_parser("rotate-secret", help="give a tenant a new webhook secret")
    rotate.add_argument("tenant")
    rotate.add_argument("--overlap", type=float, default=24.0, help="hours the old secret stays valid (default 24)")
    rotate.add_argument("--secret-env", help="take the new secret from this variable instead of generating one")
    rotate.set_defaults(run=rotate_secret)
    issue = commands.add_parser("issue-key", help="issue an API key for a clinic's own systems")
    issue.add_argument("tenant")
    issue.add_argument("--label", default="", help="what the key is for")
    issue.add_argument("--patient-phones", action="store_true", help="let the key see patient phones (default: masked)")
    issue.set_defaults(run=issue_key)
    listing = commands.add_parser("list-keys", help="list a tenant's API keys")
    listing.add_argument("tenant")
    listing.set_defaults(run=list_keys)
    revoke = commands.add_parser("revoke-key", help="revoke an API key")
    revoke.add_argument("tenant")
    revoke.add_argument("key_id")
    revoke.set_defaults(run=revoke_key)
    return root


async def _run(target: str, command: Command, args: argparse.Namespace) -> int:
    channel = open_channel(target)
    try:
        return await command(Stub(channel), args)
    finally:
        await channel.close()


def main(argv: list[str]) -> int:
    return run_cli("tenants", parser(), argv)


REFUSALS = (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND, grpc.StatusCode.ALREADY_EXISTS)


def run_cli(name: str, root: argparse.ArgumentParser, argv: list[str]) -> int:
    """Parse, run the chosen command against availability, and map failures to the exit codes
    (shared by `booking tenants`, `booking feeds` and `booking staff`)."""
    args = root.parse_args(argv)
    target = availability_target(name, args.target)
    if target is None:
        return 2
    try:
        return asyncio.run(_run(target, args.run, args))
    except ConfigError as error:
        print(f"{name}: configuration error: {error}", file=sys.stderr)
        return 2
    except grpc.aio.AioRpcError as error:
        if error.code() in REFUSALS:
            print(f"{name}: refused: {error.details()}", file=sys.stderr)
            return 1
        print(f"{name}: availability at {target} did not answer: {error.code().name}", file=sys.stderr)
        return 3
