"""Where the gateway gets a tenant's webhook secrets: availability's GetTenantCredentials, opened
with the key-encryption key this process holds (`SECRET_ENCRYPTION_KEY`)."""

from __future__ import annotations

import logging
from collections.abc import Callable

from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common import deadlines
from common.sealing import SecretBox, secret_context

log = logging.getLogger("gateway.credentials")
AvailabilityStub = availability_pb2_grpc.AvailabilityServiceStub


class SealedSecrets:
    """A `gateway.auth.Fetch`: tenant → its valid secrets (None when the tenant does not exist)."""

    def __init__(self, availability: Callable[[], AvailabilityStub], box: SecretBox) -> None:
        self.availability = availability  # a getter: the channel is opened when the app starts
        self.box = box

    async def __call__(self, tenant: str) -> list[str] | None:
        reply = await self.availability().GetTenantCredentials(
            apb.GetTenantCredentialsRequest(tenant_id=tenant), timeout=deadlines.LOOKUP
        )
        if not reply.found:
            return None
        opened = [self.box.open(s.sealed, secret_context(tenant, s.secret_id)) for s in reply.secrets]
        if None in opened:
            log.error(
                "a tenant secret could not be opened: SECRET_ENCRYPTION_KEY differs from availability's",
                extra={"tenant": tenant},
            )
        return [secret for secret in opened if secret]

    async def tenant_names(self) -> frozenset[str]:
        """A `gateway.auth.Names`: every tenant that exists."""
        reply = await self.availability().ListTenants(apb.ListTenantsRequest(), timeout=deadlines.LOOKUP)
        return frozenset(reply.tenant_ids)
