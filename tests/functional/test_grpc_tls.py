"""Optional TLS and mTLS on the gRPC servers and clients (GRPC_TLS_CERT, GRPC_TLS_KEY,
GRPC_TLS_CLIENT_CA), with certificates made for the test."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import grpc
import pytest

from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.grpc_client import open_channel
from common.security import GrpcSecurity, TlsFiles, process_security
from services.availability.server import create_server
from services.availability.servicer import AvailabilityDeps
from tests.tls_certs import Authority


def security(**files: Path | None) -> GrpcSecurity:
    env = {"INTERNAL_API_TOKEN": process_security().token}
    names = {"cert": "GRPC_TLS_CERT", "key": "GRPC_TLS_KEY", "client_ca": "GRPC_TLS_CLIENT_CA",
             "server_ca": "GRPC_TLS_SERVER_CA"}  # fmt: skip
    env.update({names[k]: str(v) for k, v in files.items() if v is not None})
    return GrpcSecurity.from_env(env)


async def get_clinic(target: str, client: GrpcSecurity) -> grpc.StatusCode:
    channel = open_channel(target, security=client)
    try:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        await stub.GetClinic(apb.GetClinicRequest(tenant_id="nobody"), timeout=3)
    except grpc.aio.AioRpcError as error:
        return error.code()
    finally:
        await channel.close()
    return grpc.StatusCode.OK


@pytest.fixture
def authority(tmp_path: Path) -> Authority:
    return Authority(tmp_path)


async def test_tls_round_trip_and_plaintext_refused(authority: Authority, pool: asyncpg.Pool) -> None:
    server_cert = authority.issue("server", server=True)
    server = await create_server(
        "127.0.0.1", 0, AvailabilityDeps(pool=pool), security=security(cert=server_cert.cert, key=server_cert.key)
    )
    target = f"127.0.0.1:{server.port}"
    try:
        # NOT_FOUND means the call got through TLS and authentication to the servicer.
        assert await get_clinic(target, security(server_ca=authority.pem)) == grpc.StatusCode.NOT_FOUND
        assert await get_clinic(target, security()) == grpc.StatusCode.UNAVAILABLE  # plaintext client
        other = Authority(authority.folder, name="other-ca")
        assert await get_clinic(target, security(server_ca=other.pem)) == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)


async def test_mtls_requires_a_client_certificate_from_the_ca(authority: Authority, pool: asyncpg.Pool) -> None:
    server_cert = authority.issue("server", server=True)
    client_cert = authority.issue("client", server=False)
    server = await create_server(
        "127.0.0.1", 0, AvailabilityDeps(pool=pool),
        security=security(cert=server_cert.cert, key=server_cert.key, client_ca=authority.pem),
    )  # fmt: skip
    target = f"127.0.0.1:{server.port}"
    try:
        with_cert = security(cert=client_cert.cert, key=client_cert.key, client_ca=authority.pem)
        assert await get_clinic(target, with_cert) == grpc.StatusCode.NOT_FOUND
        assert await get_clinic(target, security(server_ca=authority.pem)) == grpc.StatusCode.UNAVAILABLE
        stranger_ca = Authority(authority.folder, name="stranger-ca")
        stranger = stranger_ca.issue("stranger", server=False)
        forged = security(cert=stranger.cert, key=stranger.key, server_ca=authority.pem)
        assert await get_clinic(target, forged) == grpc.StatusCode.UNAVAILABLE
    finally:
        await server.stop(0)


def test_tls_settings_are_validated(tmp_path: Path) -> None:
    from common.config import ConfigError

    with pytest.raises(ConfigError, match="GRPC_TLS_CERT"):
        GrpcSecurity.from_env({"INTERNAL_API_TOKEN": "t" * 32, "GRPC_TLS_CERT": str(tmp_path / "missing.pem")})
    (tmp_path / "x.pem").write_text("not a certificate")
    with pytest.raises(ConfigError, match="GRPC_TLS_CLIENT_CA"):
        GrpcSecurity.from_env({"INTERNAL_API_TOKEN": "t" * 32, "GRPC_TLS_CLIENT_CA": str(tmp_path / "x.pem")})
    with pytest.raises(ConfigError, match="INTERNAL_API_TOKEN"):
        GrpcSecurity.from_env({"INTERNAL_API_TOKEN": "short"})
    assert TlsFiles().client_uses_tls is False
