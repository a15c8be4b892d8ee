"""`booking feeds …` (or `python -m services.availability feeds …`): tokens for the providers'
calendar feeds, through the availability gRPC API with the service token (`INTERNAL_API_TOKEN`).

  feeds issue TENANT PROVIDER [--label TEXT] [--base-url URL]   prints the token and feed URL once
  feeds list TENANT [PROVIDER]
  feeds revoke TENANT PROVIDER [--token-id ID]                  one token, or all of the provider's

The feed URL is `{base}/ics/{tenant}/{provider}.ics?token=…` on the gateway; the base is
--base-url, else $PUBLIC_BASE_URL (the gateway's public address). Exit codes as `tenants`.
"""

from __future__ import annotations

import argparse
import os
import sys
from urllib.parse import quote

from booking.availability.v1 import availability_pb2 as pb
from common.timestamps import from_timestamp
from services.availability.tenants_cli import Stub, run_cli


def feed_url(base: str, tenant: str, provider: str, token: str) -> str:
    path = f"/ics/{quote(tenant, safe='')}/{quote(provider, safe='')}.ics?token={quote(token, safe='')}"
    return base.rstrip("/") + path


async def issue(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.IssueFeedToken(
        pb.IssueFeedTokenRequest(tenant_id=args.tenant, provider_id=args.provider, label=args.label)
    )
    base = args.base_url or os.environ.get("PUBLIC_BASE_URL", "")
    print(f"feed token {reply.token_id} for {args.tenant}/{args.provider} (shown once): {reply.token}")
    url = feed_url(base, args.tenant, args.provider, reply.token)
    print(f"subscribe to: {url}" if base else f"feed path (after the gateway's public address): {url}")
    return 0


async def listing(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.ListFeedTokens(pb.ListFeedTokensRequest(tenant_id=args.tenant, provider_id=args.provider))
    for token in reply.tokens:
        state = "revoked " + from_timestamp(token.revoked_at).isoformat() if token.HasField("revoked_at") else "valid"
        print(f"{token.token_id}  {token.provider_id}  {token.shown}  {state}  {token.label}")
    return 0


async def revoke(stub: Stub, args: argparse.Namespace) -> int:
    reply = await stub.RevokeFeedToken(
        pb.RevokeFeedTokenRequest(tenant_id=args.tenant, provider_id=args.provider, token_id=args.token_id)
    )
    if not reply.revoked:
        print(f"feeds: no valid feed token of {args.tenant}/{args.provider} to revoke", file=sys.stderr)
        return 1
    print(f"revoked {reply.revoked} feed token{'s' if reply.revoked > 1 else ''}")
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="booking feeds")
    root.add_argument("--target", help="availability address host:port (default: $AVAILABILITY_ADDR)")
    commands = root.add_subparsers(dest="command", required=True)
    issuing = commands.add_parser("issue", help="issue a token for a provider's calendar feed")
    issuing.add_argument("tenant")
    issuing.add_argument("provider")
    issuing.add_argument("--label", default="", help="what the token is for, e.g. whose phone")
    issuing.add_argument("--base-url", default="", help="the gateway's public address (default: $PUBLIC_BASE_URL)")
    issuing.set_defaults(run=issue)
    listed = commands.add_parser("list", help="list a tenant's feed tokens")
    listed.add_argument("tenant")
    listed.add_argument("provider", nargs="?", default="")
    listed.set_defaults(run=listing)
    revoking = commands.add_parser("revoke", help="revoke a provider's feed tokens")
    revoking.add_argument("tenant")
    revoking.add_argument("provider")
    revoking.add_argument("--token-id", default="", help="only this token (default: every valid one)")
    revoking.set_defaults(run=revoke)
    return root


def main(argv: list[str]) -> int:
    return run_cli("feeds", parser(), argv)
