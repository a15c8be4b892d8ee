"""Tokens for the providers' calendar feeds (`/ics/{tenant}/{provider}.ics?token=…` on the gateway)
and the AvailabilityService methods that manage and check them (service token only).

A token is 256 random bits (43 URL-safe characters: it travels in a URL that calendar apps keep),
bound to one provider of one tenant and revocable. Only its SHA-256 is stored — enough for a random
token of that length (nothing to brute-force). A check compares the digest with every valid one of
that provider in constant time and answers only valid or not."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import uuid
from datetime import datetime

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2 as pb
from common.grpc_errors import invalid
from common.timestamps import Clock, to_timestamp
from services.availability.feed_repository import FeedTokenRepository

TOKEN_BYTES = 32
MAX_PRESENTED = 128  # longer than any token: cut before hashing, so a huge value costs nothing


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogateescape")).hexdigest()


def shown(token: str) -> str:
    """What listings show of a token: enough to recognise it, useless to use."""
    return token[:6] + "…"


def matches(presented: str, digests: list[str]) -> bool:
    """Whether the token's digest is one of `digests`; every one is compared (no early exit)."""
    given = digest(presented[:MAX_PRESENTED]).encode()
    return sum(hmac.compare_digest(given, d.encode()) for d in digests) > 0


def _stamp(value: datetime | None) -> Timestamp | None:
    return None if value is None else to_timestamp(value)


async def _required(context: grpc.aio.ServicerContext, **fields: str) -> None:
    for name, value in fields.items():
        if not value:
            await invalid(context, f"{name} is required")


class FeedTokenRpcs:
    """AvailabilityService methods for calendar feed tokens (mixed into the servicer, which sets these)."""

    feed_tokens: FeedTokenRepository
    feed_clock: Clock

    async def IssueFeedToken(
        self, request: pb.IssueFeedTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueFeedTokenResponse:
        await _required(context, tenant_id=request.tenant_id, provider_id=request.provider_id)
        if not await self.feed_tokens.provider_exists(request.tenant_id, request.provider_id):
            await context.abort(
                grpc.StatusCode.NOT_FOUND, f"provider_id: no provider {request.provider_id!r} of {request.tenant_id!r}"
            )
        token = new_token()
        token_id = await self.feed_tokens.add(
            request.tenant_id, request.provider_id, digest(token), shown(token), request.label.strip()[:200]
        )
        return pb.IssueFeedTokenResponse(token=token, token_id=token_id)

    async def ListFeedTokens(
        self, request: pb.ListFeedTokensRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListFeedTokensResponse:
        await _required(context, tenant_id=request.tenant_id)
        tokens = [
            pb.FeedTokenInfo(
                token_id=t.token_id, provider_id=t.provider_id, shown=t.shown, label=t.label,
                created_at=_stamp(t.created_at), revoked_at=_stamp(t.revoked_at),
            )
            for t in await self.feed_tokens.tokens(request.tenant_id, request.provider_id)
        ]  # fmt: skip
        return pb.ListFeedTokensResponse(tokens=tokens)

    async def RevokeFeedToken(
        self, request: pb.RevokeFeedTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeFeedTokenResponse:
        await _required(context, tenant_id=request.tenant_id, provider_id=request.provider_id)
        if request.token_id:
            try:
                uuid.UUID(request.token_id)
            except ValueError:
                await invalid(context, "token_id: not a token id")
        revoked = await self.feed_tokens.revoke(
            request.tenant_id, request.provider_id, request.token_id or None, self.feed_clock()
        )
        return pb.RevokeFeedTokenResponse(revoked=revoked)

    async def CheckFeedToken(
        self, request: pb.CheckFeedTokenRequest, context: grpc.aio.ServicerContext
    ) -> pb.CheckFeedTokenResponse:
        if not (request.tenant_id and request.provider_id and request.token):
            return pb.CheckFeedTokenResponse(valid=False)
        digests = await self.feed_tokens.valid_digests(request.tenant_id[:100], request.provider_id[:100])
        return pb.CheckFeedTokenResponse(valid=matches(request.token, digests))
