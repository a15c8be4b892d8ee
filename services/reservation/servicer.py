"""gRPC methods of ReservationService (thin: parse, call domain code and repository, build the reply)."""

from __future__ import annotations

import asyncpg

from booking.reservation.v1 import reservation_pb2_grpc


class ReservationServicer(reservation_pb2_grpc.ReservationServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED."""

    def __init__(self, pool: asyncpg.Pool) -> None:
        self.pool = pool
