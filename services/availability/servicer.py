"""gRPC methods of AvailabilityService (thin: parse, call domain code and repository, build the reply)."""

from __future__ import annotations

import asyncpg

from booking.availability.v1 import availability_pb2_grpc


class AvailabilityServicer(availability_pb2_grpc.AvailabilityServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
