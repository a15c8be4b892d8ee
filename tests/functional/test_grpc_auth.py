"""SPEC §9: every RPC of every service is authenticated. The list of methods comes from the
service descriptors, so a new RPC cannot be forgotten."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from typing import Any

import grpc
import pytest
from google.protobuf import message_factory
from google.protobuf.descriptor import MethodDescriptor
from grpc_health.v1 import health_pb2, health_pb2_grpc

from booking.availability.v1 import availability_pb2 as apb
from booking.notification.v1 import notification_pb2 as npb
from booking.reservation.v1 import reservation_pb2 as rpb
from common.grpc_auth import KEY_CACHE_SECONDS
from common.security import process_security
from services.availability.clinic_file import parse_clinic
from tests.conftest import Stack
from tests.unit.clinics import clinic_dict

SERVICES = {
    "availability": apb.DESCRIPTOR.services_by_name["AvailabilityService"],
    "reservation": rpb.DESCRIPTOR.services_by_name["ReservationService"],
    "notification": npb.DESCRIPTOR.services_by_name["NotificationService"],
}
SERVICE_ONLY = {
    "AvailabilityService": {
        "UpsertClinic", "GetTenantCredentials", "ListTenants", "RotateTenantSecret", "IssueApiKey", "ListApiKeys",
        "RevokeApiKey", "AuthenticateApiKey", "IssueFeedToken", "ListFeedTokens", "RevokeFeedToken", "CheckFeedToken",
        "CreateStaffAccount", "ListStaffAccounts", "RemoveStaffAccount", "VerifyStaffPassword",
    },
    "NotificationService": {"EnqueueSms", "RecordDeliveryStatus", "RecordInboundSms", "ListDevTexts"},
    "ReservationService": {"HandlePatientReply", "KeepToolReplies"},
}  # fmt: skip
REFUSED = (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.PERMISSION_DENIED)
METHODS = [(name, method) for name, service in SERVICES.items() for method in service.methods]


def request_for(method: MethodDescriptor, tenant: str) -> Any:
    request = message_factory.GetMessageClass(method.input_type)()
    if "tenant_id" in method.input_type.fields_by_name:
        request.tenant_id = tenant  # type: ignore[attr-defined]
    return request


async def call(
    channel: grpc.aio.Channel, method: MethodDescriptor, request: Any, credential: str | None
) -> grpc.StatusCode:
    path = f"/{method.containing_service.full_name}/{method.name}"
    response = message_factory.GetMessageClass(method.output_type)
    metadata = (("authorization", f"Bearer {credential}"),) if credential is not None else None
    try:
        if method.server_streaming:
            stream = channel.unary_stream(path, request_serializer=lambda m: m.SerializeToString(),
                                          response_deserializer=response.FromString)  # fmt: skip
            async for _ in stream(request, metadata=metadata, timeout=3):
                break
        else:
            unary = channel.unary_unary(path, request_serializer=lambda m: m.SerializeToString(),
                                        response_deserializer=response.FromString)  # fmt: skip
            await unary(request, metadata=metadata, timeout=3)
    except grpc.aio.AioRpcError as error:
        return error.code()
    return grpc.StatusCode.OK


@pytest.fixture
async def raw_channels(stack: Stack) -> AsyncIterator[dict[str, grpc.aio.Channel]]:
    """Plain channels that add no credential of their own."""
    ports = {"availability": stack.availability.port, "reservation": stack.reservation.port,
             "notification": stack.notification.port}  # fmt: skip
    channels = {name: grpc.aio.insecure_channel(f"127.0.0.1:{port}") for name, port in ports.items()}
    yield channels
    for channel in channels.values():
        await channel.close()


@pytest.fixture
async def keys(stack: Stack) -> dict[str, str]:
    """Two clinics with an API key each."""
    issued = {}
    for tenant in ("alpha", "beta"):
        config = parse_clinic(clinic_dict(tenant_id=tenant, secret=f"{tenant}-secret-0123456789"), {})
        await stack.availability_stub.UpsertClinic(apb.UpsertClinicRequest(clinic=config))
        reply = await stack.availability_stub.IssueApiKey(apb.IssueApiKeyRequest(tenant_id=tenant, label="test"))
        issued[tenant] = reply.key
    return issued


def test_every_service_method_is_listed() -> None:
    assert len(METHODS) >= 29
    assert all(m.name for _, m in METHODS)


@pytest.mark.parametrize(("service", "method"), METHODS, ids=[f"{s}.{m.name}" for s, m in METHODS])
async def test_every_rpc_refuses_missing_wrong_and_foreign_credentials(
    service: str, method: MethodDescriptor, raw_channels: dict[str, grpc.aio.Channel], keys: dict[str, str]
) -> None:
    channel = raw_channels[service]
    request = request_for(method, "alpha")
    assert await call(channel, method, request, None) == grpc.StatusCode.UNAUTHENTICATED
    assert await call(channel, method, request, "x" * 40) == grpc.StatusCode.UNAUTHENTICATED
    forged = keys["alpha"][:-1] + ("1" if keys["alpha"].endswith("0") else "0")
    assert await call(channel, method, request, forged) == grpc.StatusCode.UNAUTHENTICATED
    assert await call(channel, method, request, keys["beta"]) == grpc.StatusCode.PERMISSION_DENIED
    own_key = await call(channel, method, request, keys["alpha"])
    if method.name in SERVICE_ONLY.get(method.containing_service.name, set()):
        assert own_key == grpc.StatusCode.PERMISSION_DENIED
    elif "tenant_id" in method.input_type.fields_by_name:
        assert own_key not in REFUSED
    else:
        assert own_key == grpc.StatusCode.PERMISSION_DENIED  # names no tenant: not for a tenant key
    assert await call(channel, method, request, process_security().token) not in REFUSED


async def test_revoked_key_is_refused(
    stack: Stack, raw_channels: dict[str, grpc.aio.Channel], keys: dict[str, str]
) -> None:
    method = SERVICES["availability"].methods_by_name["GetClinic"]
    request = request_for(method, "alpha")
    assert await call(raw_channels["availability"], method, request, keys["alpha"]) == grpc.StatusCode.OK
    listed = await stack.availability_stub.ListApiKeys(apb.ListApiKeysRequest(tenant_id="alpha"))
    assert [k.shown[:9] for k in listed.keys] == ["bk_alpha_"] and keys["alpha"] not in str(listed)
    revoked = await stack.availability_stub.RevokeApiKey(
        apb.RevokeApiKeyRequest(tenant_id="alpha", key_id=listed.keys[0].key_id)
    )
    assert revoked.revoked
    assert await call(raw_channels["availability"], method, request, keys["alpha"]) == grpc.StatusCode.UNAUTHENTICATED
    # The other services ask availability and remember answers briefly: refused within that time.
    elsewhere = SERVICES["reservation"].methods_by_name["GetAppointment"]
    started = time.monotonic()
    while (
        await call(raw_channels["reservation"], elsewhere, request_for(elsewhere, "alpha"), keys["alpha"])
        not in REFUSED
    ):
        assert time.monotonic() - started < KEY_CACHE_SECONDS + 1
        await asyncio.sleep(0.2)


async def test_health_and_reflection_stay_open(raw_channels: dict[str, grpc.aio.Channel]) -> None:
    for channel in raw_channels.values():
        reply = await health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=3)
        assert reply.status == health_pb2.HealthCheckResponse.SERVING


async def test_the_servicer_knows_the_credentials_scope_and_only_unscoped_keys_get_redacted_replies() -> None:
    """current_caller() inside a method, and Access.redact applied only to a key without patient_phones,
    on a real server built by common.grpc_server with one method of its own."""
    from common.grpc_auth import CachedTenantKeys, Grant, current_caller
    from common.grpc_server import Access, create_server

    keys = {"bk_acme_" + "a" * 64: Grant("acme", False), "bk_acme_" + "b" * 64: Grant("acme", True)}

    async def resolve(key: str) -> Grant | None:
        return keys.get(key)

    async def who(request: apb.GetClinicRequest, context: grpc.aio.ServicerContext) -> apb.ListTenantsResponse:
        caller = current_caller()
        assert caller is not None
        return apb.ListTenantsResponse(tenant_ids=[str(caller.tenant), str(caller.patient_phones), "whole"])

    def register(server: grpc.aio.Server) -> None:
        handler = grpc.unary_unary_rpc_method_handler(
            who, request_deserializer=apb.GetClinicRequest.FromString,
            response_serializer=apb.ListTenantsResponse.SerializeToString,
        )  # fmt: skip
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler("test.Who", {"Who": handler}),))

    def redact(reply: Any) -> Any:
        return apb.ListTenantsResponse(tenant_ids=[*reply.tenant_ids[:2], "masked"])

    service = await create_server("127.0.0.1", 0, register, [], Access(CachedTenantKeys(resolve), redact=redact))
    try:
        async with grpc.aio.insecure_channel(f"127.0.0.1:{service.port}") as channel:
            ask = channel.unary_unary(
                "/test.Who/Who", request_serializer=apb.GetClinicRequest.SerializeToString,
                response_deserializer=apb.ListTenantsResponse.FromString,
            )  # fmt: skip
            seen = [
                list(
                    (
                        await ask(apb.GetClinicRequest(tenant_id="acme"), metadata=(("authorization", f"Bearer {c}"),))
                    ).tenant_ids
                )
                for c in (process_security().token, *keys)
            ]
    finally:
        await service.stop(0)
    assert seen == [["None", "False", "whole"], ["acme", "False", "masked"], ["acme", "True", "whole"]]
