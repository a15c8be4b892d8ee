"""gRPC methods of ReservationService (thin: parse, call domain code and repository, build the reply)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import grpc
from google.protobuf.timestamp_pb2 import Timestamp

from booking.availability.v1 import availability_pb2_grpc
from booking.common.v1 import common_pb2
from booking.notification.v1 import notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2 as pb
from booking.reservation.v1 import reservation_pb2_grpc
from services.reservation.repository import ReservationRepository

Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


def timestamp(value: datetime) -> Timestamp:
    stamp = Timestamp()
    stamp.FromDatetime(value.astimezone(UTC))
    return stamp


@dataclass
class ReservationDeps:
    pool: asyncpg.Pool
    availability: availability_pb2_grpc.AvailabilityServiceStub | None = None
    notification: notification_pb2_grpc.NotificationServiceStub | None = None
    clock: Clock = field(default=utc_now)


class ReservationServicer(reservation_pb2_grpc.ReservationServiceServicer):
    """RPCs not overridden here answer UNIMPLEMENTED."""

    def __init__(self, deps: ReservationDeps) -> None:
        self.deps = deps
        self.repository = ReservationRepository(deps.pool)

    async def ListBusy(self, request: pb.ListBusyRequest, context: grpc.aio.ServicerContext) -> pb.ListBusyResponse:
        if not request.tenant_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "tenant_id is required")
        if not request.range.HasField("start") or not request.range.HasField("end"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "range: start and end are required")
        start, end = request.range.start.ToDatetime(UTC), request.range.end.ToDatetime(UTC)
        if end <= start:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "range: end must be after start")
        rows = await self.repository.list_busy(
            request.tenant_id, list(request.provider_ids), start, end, self.deps.clock()
        )
        return pb.ListBusyResponse(
            busy=[
                pb.BusyInterval(
                    provider_id=row.provider_id,
                    range=common_pb2.TimeRange(start=timestamp(row.start), end=timestamp(row.end)),
                )
                for row in rows
            ]
        )
