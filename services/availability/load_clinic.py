"""`python -m services.availability load-clinic FILE`: validate a clinic file and upsert it over gRPC.

Exit codes: 0 loaded (or unchanged), 1 the file is invalid or the service refused it,
2 bad usage or configuration, 3 the service could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from pathlib import Path

import grpc

from booking.availability.v1 import availability_pb2 as pb
from booking.availability.v1 import availability_pb2_grpc
from common.config import ConfigError, env_address
from common.exits import fail
from common.grpc_client import open_channel
from services.availability.clinic import ClinicConfigError, build_clinic
from services.availability.clinic_file import load_clinic_file


async def upsert(target: str, config: pb.ClinicConfig) -> pb.UpsertClinicResponse:
    async with open_channel(target) as channel:
        stub = availability_pb2_grpc.AvailabilityServiceStub(channel)
        reply: pb.UpsertClinicResponse = await stub.UpsertClinic(
            pb.UpsertClinicRequest(clinic=config), timeout=15, wait_for_ready=True
        )
        return reply


def availability_target(program: str, given: str | None) -> str | None:
    """`--target`, else $AVAILABILITY_ADDR; None (after one line on stderr) when that is malformed."""
    try:
        return given or env_address(os.environ, "AVAILABILITY_ADDR", "127.0.0.1:50051")
    except ConfigError as error:
        print(f"{program}: configuration error: {error}", file=sys.stderr)
        return None


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.availability load-clinic")
    parser.add_argument("file", type=Path, help="clinic file (.yaml, .yml or .json)")
    parser.add_argument("--target", help="availability address host:port (default: $AVAILABILITY_ADDR)")
    args = parser.parse_args(argv)
    target = availability_target("load-clinic", args.target)
    if target is None:
        return 2
    try:
        config = load_clinic_file(args.file, os.environ)
        build_clinic(config)  # the service checks again; this gives the file's paths offline
    except ClinicConfigError as error:
        print(f"load-clinic: {args.file} is invalid:", file=sys.stderr)
        for line in error.errors:
            print(f"  {line}", file=sys.stderr)
        return 1
    try:
        reply = asyncio.run(upsert(target, config))
    except ConfigError as error:  # INTERNAL_API_TOKEN or TLS settings
        return fail("load-clinic", f"configuration error: {error}", 2)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            return fail("load-clinic", f"refused: {error.details()}", 1)
        return fail("load-clinic", f"availability at {target} did not answer: {error.code().name}", 3)
    state = "updated" if reply.changed else "unchanged"
    print(f"load-clinic: clinic {config.tenant_id!r} {state} (version {reply.version})")
    return 0
