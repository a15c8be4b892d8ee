"""Probe a gRPC server's standard health service: `python -m common.healthcheck HOST:PORT [SERVICE]`.

Exit 0 when SERVING, 1 otherwise (used by docker compose health checks).
"""

from __future__ import annotations

import os
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from common.config import ConfigError
from common.grpc_client import open_sync_channel
from common.security import GrpcSecurity


def check(target: str, service: str = "", timeout: float = 3.0) -> bool:
    with open_sync_channel(target, GrpcSecurity.from_env(os.environ)) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            reply = stub.Check(health_pb2.HealthCheckRequest(service=service), timeout=timeout)
        except grpc.RpcError as error:
            print(f"{target}: {error.code().name}", file=sys.stderr)
            return False
    serving: bool = reply.status == health_pb2.HealthCheckResponse.SERVING
    print(f"{target}: {health_pb2.HealthCheckResponse.ServingStatus.Name(reply.status)}")
    return serving


def main(argv: list[str]) -> int:
    if not 1 <= len(argv) <= 2:
        print("usage: python -m common.healthcheck HOST:PORT [SERVICE]", file=sys.stderr)
        return 2
    try:
        return 0 if check(argv[0], argv[1] if len(argv) == 2 else "") else 1
    except ConfigError as error:
        print(f"healthcheck: configuration error: {error}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
