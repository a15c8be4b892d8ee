"""What the staff console's day view needs beyond ListAppointments: the live holds (with when
they run out) and the blocked time of a range. Mixed into the servicer like ScheduleRpcs."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as pb
from common.grpc_errors import invalid
from common.timestamps import to_timestamp as timestamp
from services.reservation.checks import require
from services.reservation.convert import hold_of
from services.reservation.repository import Reservation
from services.reservation.schedule import Context, time_range
from services.reservation.schedule_repository import ScheduleRepository

if TYPE_CHECKING:
    from services.reservation.servicer import ReservationDeps

MAX_RANGE = timedelta(days=31)
# A day of a busy clinic holds far fewer; the bound keeps one reply small whatever is asked.
MAX_ROWS = 2000


def block_of(row: Reservation, actor: str, reason: str) -> pb.BlockedTime:
    return pb.BlockedTime(
        block_id=row.reservation_id, provider_id=row.provider_id,
        range=C.TimeRange(start=timestamp(row.starts_at), end=timestamp(row.ends_at)),
        action=pb.StaffAction(actor=actor, reason=reason),
    )  # fmt: skip


class LiveScheduleRpcs:
    deps: ReservationDeps

    @property
    def schedule(self) -> ScheduleRepository:
        raise NotImplementedError  # ScheduleRpcs' (earlier in the servicer's bases)

    async def ListHoldsAndBlocks(
        self, request: pb.ListHoldsAndBlocksRequest, context: Context
    ) -> pb.ListHoldsAndBlocksResponse:
        await require(context, tenant_id=request.tenant_id)
        start, end = await time_range(context, request.range)
        if end - start > MAX_RANGE:
            await invalid(context, f"range: at most {MAX_RANGE.days} days")
        now = self.deps.clock()
        rows = await self.schedule.holds_and_blocks(
            request.tenant_id, start, end, sorted(set(request.provider_ids)), now, MAX_ROWS
        )
        reply = pb.ListHoldsAndBlocksResponse()
        for row, actor, reason in rows:
            if row.status == "BLOCKED":
                reply.blocks.append(block_of(row, actor, reason))
            else:
                hold = hold_of(row, now)
                hold.patient.phone = ""  # the console shows who, not how to reach them
                reply.holds.append(hold)
        return reply
