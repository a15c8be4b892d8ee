"""Tenant credentials: webhook secrets (sealed, rotatable) and API keys for clinic systems,
and the gRPC methods that manage them (service token only; see common/grpc_auth.py)."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta

import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2 as pb
from common import api_keys
from common.grpc_auth import CachedTenantKeys, Grant
from common.grpc_errors import invalid
from common.sealing import SecretBox, secret_context
from common.timestamps import Clock, to_timestamp
from services.availability.clinic import secret_problem
from services.availability.credentials_repository import CredentialRepository, StoredSecret

MAX_OVERLAP = timedelta(days=30)


class TenantSecrets:
    """A tenant's valid webhook secrets, sealed at rest."""

    def __init__(self, repository: CredentialRepository, box: SecretBox, clock: Clock) -> None:
        self.repository = repository
        self.box = box
        self.clock = clock

    def _opened(self, tenant_id: str, stored: StoredSecret) -> str | None:
        return self.box.open(stored.sealed, secret_context(tenant_id, stored.secret_id))

    async def ensure(self, tenant_id: str, secret: str) -> bool:
        """Make `secret` the tenant's only secret unless it already is valid; True if it changed.
        A secret once rotated out is never brought back by a clinic file: it may have leaked, and
        `make run` reloads the file's (old) secret at every start, which would silently switch the
        tenant back to it and cut off the rotated-in one."""
        async with self.repository.pool.acquire() as conn, conn.transaction():
            await self.repository.lock_tenant(conn, tenant_id)
            now = self.clock()
            current = await self.repository.valid_secrets(conn, tenant_id, now)
            if any(self._opened(tenant_id, s) == secret for s in current):
                return False
            retired = await self.repository.retired_secrets(conn, tenant_id, now)
            if current and any(self._opened(tenant_id, s) == secret for s in retired):
                return False
            secret_id = str(uuid.uuid4())
            sealed = self.box.seal(secret, secret_context(tenant_id, secret_id))
            await self.repository.add_secret(conn, tenant_id, secret_id, sealed, now)
            return True

    async def rotate(self, tenant_id: str, secret: str, overlap: timedelta) -> tuple[str, datetime] | None:
        """Add `secret` as the current one; the others stay valid for `overlap`. None: no such tenant."""
        async with self.repository.pool.acquire() as conn, conn.transaction():
            if not await self.repository.lock_tenant(conn, tenant_id):
                return None
            retire_at = self.clock() + overlap
            secret_id = str(uuid.uuid4())
            sealed = self.box.seal(secret, secret_context(tenant_id, secret_id))
            await self.repository.add_secret(conn, tenant_id, secret_id, sealed, retire_at)
            return secret_id, retire_at

    async def sealed(self, tenant_id: str) -> list[StoredSecret] | None:
        if not await self.repository.tenant_exists(tenant_id):
            return None
        return await self.repository.valid_secrets(self.repository.pool, tenant_id, self.clock())


class LocalTenantKeys:
    """API keys checked against this service's own table (availability's interceptor)."""

    def __init__(self, repository: CredentialRepository) -> None:
        self.repository = repository

    async def grant_of(self, key: str) -> Grant | None:
        tenant = api_keys.tenant_of(key)
        if tenant is None:
            return None
        phones = await self.repository.valid_key_sees_phones(tenant, api_keys.digest(key))
        return None if phones is None else Grant(tenant, phones)


def _stamp(value: datetime | None) -> Timestamp | None:
    return None if value is None else to_timestamp(value)


async def _tenant_required(context: grpc.aio.ServicerContext, tenant_id: str) -> None:
    if not tenant_id:
        await invalid(context, "tenant_id is required")


class CredentialRpcs:
    """AvailabilityService methods for credentials (mixed into the servicer)."""

    secrets: TenantSecrets
    tenant_keys: LocalTenantKeys
    key_cache: CachedTenantKeys

    async def GetTenantCredentials(
        self, request: pb.GetTenantCredentialsRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetTenantCredentialsResponse:
        await _tenant_required(context, request.tenant_id)
        stored = await self.secrets.sealed(request.tenant_id)
        if stored is None:
            return pb.GetTenantCredentialsResponse(found=False)
        secrets = [
            pb.SealedSecret(secret_id=s.secret_id, sealed=s.sealed, expires_at=_stamp(s.expires_at)) for s in stored
        ]
        return pb.GetTenantCredentialsResponse(found=True, secrets=secrets)

    async def ListTenants(
        self, request: pb.ListTenantsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListTenantsResponse:
        return pb.ListTenantsResponse(tenant_ids=await self.tenant_keys.repository.tenant_ids())

    async def RotateTenantSecret(
        self, request: pb.RotateTenantSecretRequest, context: grpc.aio.ServicerContext
    ) -> pb.RotateTenantSecretResponse:
        await _tenant_required(context, request.tenant_id)
        secret = request.secret
        problem = secret_problem(secret)
        if problem:
            await invalid(context, f"secret: {problem}")
        overlap = timedelta(seconds=request.overlap_seconds)
        if not timedelta(0) <= overlap <= MAX_OVERLAP:
            await invalid(context, f"overlap_seconds: must be between 0 and {int(MAX_OVERLAP.total_seconds())}")
        rotated = await self.secrets.rotate(request.tenant_id, secret, overlap)
        if rotated is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"tenant_id: no clinic {request.tenant_id!r}")
            raise AssertionError("unreachable")
        secret_id, retire_at = rotated
        return pb.RotateTenantSecretResponse(secret_id=secret_id, previous_expire_at=to_timestamp(retire_at))

    async def IssueApiKey(
        self, request: pb.IssueApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.IssueApiKeyResponse:
        await _tenant_required(context, request.tenant_id)
        repository = self.tenant_keys.repository
        if not await repository.tenant_exists(request.tenant_id):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"tenant_id: no clinic {request.tenant_id!r}")
        key = api_keys.new_key(request.tenant_id)
        key_id = await repository.add_key(
            request.tenant_id, api_keys.digest(key), api_keys.shown(key), request.label.strip()[:200],
            request.patient_phones,
        )  # fmt: skip
        return pb.IssueApiKeyResponse(key=key, key_id=key_id)

    async def ListApiKeys(
        self, request: pb.ListApiKeysRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListApiKeysResponse:
        await _tenant_required(context, request.tenant_id)
        keys = [
            pb.ApiKeyInfo(
                key_id=k.key_id, shown=k.shown, label=k.label, created_at=_stamp(k.created_at),
                revoked_at=_stamp(k.revoked_at), patient_phones=k.patient_phones,
            )
            for k in await self.tenant_keys.repository.keys(request.tenant_id)
        ]  # fmt: skip
        return pb.ListApiKeysResponse(keys=keys)

    async def RevokeApiKey(
        self, request: pb.RevokeApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.RevokeApiKeyResponse:
        await _tenant_required(context, request.tenant_id)
        try:
            uuid.UUID(request.key_id)
        except ValueError:
            await invalid(context, "key_id: not a key id")
        revoked = await self.tenant_keys.repository.revoke_key(request.tenant_id, request.key_id, self.secrets.clock())
        self.key_cache.forget()  # here at once; other services within KEY_CACHE_SECONDS
        return pb.RevokeApiKeyResponse(revoked=revoked)

    async def AuthenticateApiKey(
        self, request: pb.AuthenticateApiKeyRequest, context: grpc.aio.ServicerContext
    ) -> pb.AuthenticateApiKeyResponse:
        grant = await self.tenant_keys.grant_of(request.key[:200])
        if grant is None:
            return pb.AuthenticateApiKeyResponse()
        return pb.AuthenticateApiKeyResponse(tenant_id=grant.tenant, patient_phones=grant.patient_phones)
