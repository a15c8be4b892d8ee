"""Webhook secrets (SPEC §9, issue 13): nothing stored or returned can authenticate or sign a
request, and a tenant can rotate its secret without downtime."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import re
import time

import asyncpg

from booking.availability.v1 import availability_pb2 as apb
from services.availability.clinic_file import parse_clinic
from tests.conftest import SCHEMAS, GatewayClient, Stack
from tests.unit.clinics import clinic_dict

SECRET = "alpha-first-secret-0123456789"
BODY = json.dumps({"message": {"type": "status-update", "status": "in-progress"}}).encode()


async def load(stack: Stack, secret: str = SECRET) -> None:
    config = parse_clinic(clinic_dict(tenant_id="alpha", secret=secret), {})
    await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))


async def rotate(stack: Stack, secret: str, overlap_seconds: int) -> None:
    await stack.availability_stub.RotateTenantSecret(
        apb.RotateTenantSecretRequest(tenant_id="alpha", secret=secret, overlap_seconds=overlap_seconds)
    )


async def status_with_bearer(gateway: GatewayClient, secret: str) -> int:
    headers = {"Authorization": f"Bearer {secret}", "Content-Type": "application/json"}
    async with gateway.post("/vapi/alpha", data=BODY, headers=headers) as reply:
        return reply.status


async def status_with_signature(gateway: GatewayClient, key: bytes) -> int:
    stamp = str(int(time.time()))
    signature = hmac.new(key, stamp.encode() + b"." + BODY, hashlib.sha256).hexdigest()
    headers = {"x-signature": signature, "x-timestamp": stamp, "Content-Type": "application/json"}
    async with gateway.post("/vapi/alpha", data=BODY, headers=headers) as reply:
        return reply.status


async def dump(pool: asyncpg.Pool) -> str:
    """Every row of every table of every service, as text (bytea as hex)."""
    parts: list[str] = []
    tables = await pool.fetch(
        "SELECT format('%I.%I', schemaname, tablename) AS t FROM pg_tables WHERE schemaname = ANY($1::text[])",
        list(SCHEMAS),
    )
    for table in tables:
        rows = await pool.fetch(f"SELECT row_to_json(x)::text AS j FROM {table['t']} x")
        parts.extend(r["j"] for r in rows)
    return "\n".join(parts)


def candidates(text: str) -> set[str]:
    """Every token that could be tried as a secret or a signing key (and its hex-decoded bytes)."""
    tokens = set(re.findall(r"[A-Za-z0-9_\-+/=.:]{8,}", text))
    for token in list(tokens):
        for hex_run in re.findall(r"[0-9a-f]{16,}", token):
            tokens.add(hex_run)
    return tokens


async def test_a_database_dump_and_every_rpc_reply_cannot_authenticate(
    stack: Stack, gateway: GatewayClient, pool: asyncpg.Pool
) -> None:
    await load(stack)
    await rotate(stack, "alpha-second-secret-0123456789", overlap_seconds=3600)
    key = await stack.availability_stub.IssueApiKey(apb.IssueApiKeyRequest(tenant_id="alpha"))
    assert await status_with_bearer(gateway, SECRET) == 200  # the real secret works
    replies = [
        await stack.availability_stub.GetTenantCredentials(apb.GetTenantCredentialsRequest(tenant_id="alpha")),
        await stack.availability_stub.GetClinic(apb.GetClinicRequest(tenant_id="alpha")),
        await stack.availability_stub.ListApiKeys(apb.ListApiKeysRequest(tenant_id="alpha")),
    ]
    stolen = await dump(pool) + "\n" + "\n".join(str(r) for r in replies)
    stolen += "\n" + "\n".join(s.sealed.hex() for s in replies[0].secrets)
    for secret in (SECRET, "alpha-second-secret-0123456789"):
        assert secret not in stolen
        assert hashlib.sha256(secret.encode()).hexdigest() not in stolen
    tried = sorted(candidates(stolen) | {key.key})
    assert len(tried) > 20
    for token in tried:
        assert await status_with_bearer(gateway, token) == 401, token
        assert await status_with_signature(gateway, token.encode()) == 401, token
    for sealed in replies[0].secrets:
        assert await status_with_signature(gateway, sealed.sealed) == 401


async def test_rotation_keeps_both_secrets_during_the_overlap(stack: Stack, gateway: GatewayClient) -> None:
    await load(stack)
    assert await status_with_bearer(gateway, SECRET) == 200
    await rotate(stack, "alpha-rotated-secret-0123456789", overlap_seconds=3600)
    assert await status_with_bearer(gateway, "alpha-rotated-secret-0123456789") == 200
    assert await status_with_bearer(gateway, SECRET) == 200
    assert await status_with_signature(gateway, b"alpha-rotated-secret-0123456789") == 200
    assert await status_with_signature(gateway, SECRET.encode()) == 200


async def test_a_new_secret_works_within_a_second_and_the_old_one_stops(stack: Stack, gateway: GatewayClient) -> None:
    await load(stack)
    assert await status_with_bearer(gateway, SECRET) == 200  # cached by the gateway now
    await rotate(stack, "alpha-replacement-0123456789", overlap_seconds=0)
    started = time.monotonic()
    while await status_with_bearer(gateway, "alpha-replacement-0123456789") != 200:
        assert time.monotonic() - started < 1.0
        await asyncio.sleep(0.05)
    started = time.monotonic()
    while await status_with_bearer(gateway, SECRET) != 401:
        assert time.monotonic() - started < 1.5
        await asyncio.sleep(0.05)


async def test_reloading_the_same_clinic_file_keeps_the_secret(stack: Stack, gateway: GatewayClient) -> None:
    await load(stack)
    await load(stack)
    assert await status_with_bearer(gateway, SECRET) == 200
    await load(stack, secret="alpha-file-changed-0123456789")
    started = time.monotonic()
    while await status_with_bearer(gateway, SECRET) != 401:
        assert time.monotonic() - started < 1.5
        await asyncio.sleep(0.05)
    assert await status_with_bearer(gateway, "alpha-file-changed-0123456789") == 200
