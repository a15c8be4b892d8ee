"""The day's schedule from the services: the clinic (availability), its appointments a page at a
time and its live holds and blocked time (reservation), made into a `Day`."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

from aiohttp import web

from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE
from common.timestamps import to_timestamp
from gateway.clinics import ClinicInfo
from gateway.console.day import Day, build_day, day_range
from gateway.state import BACKENDS, CLOCK

SHOWN = [rpb.RESERVATION_STATUS_CONFIRMED, rpb.RESERVATION_STATUS_NO_SHOW, rpb.RESERVATION_STATUS_COMPLETED]
PAGE = 500


def asked_date(request: web.Request, clinic: ClinicInfo) -> date:
    """`?date=YYYY-MM-DD`, else today in the clinic's zone; 400 when malformed."""
    text = request.query.get("date", "")
    if not text:
        return request.app[CLOCK]().astimezone(clinic.timezone).date()
    try:
        if len(text) != 10:  # fromisoformat also takes other forms ("20261123")
            raise ValueError(text)
        return date.fromisoformat(text)
    except ValueError:
        raise web.HTTPBadRequest(text="date: expected YYYY-MM-DD") from None


async def _appointments(request: web.Request, tenant: str, span: C.TimeRange) -> list[rpb.Appointment]:
    stub = request.app[BACKENDS].reservation
    found: list[rpb.Appointment] = []
    token = ""
    while True:
        page = await stub.ListAppointments(
            rpb.ListAppointmentsRequest(tenant_id=tenant, range=span, statuses=SHOWN, page_size=PAGE, page_token=token),
            timeout=GATEWAY_TO_SERVICE,
        )
        found.extend(page.appointments)
        token = page.next_page_token
        if not token:
            return found


async def load_day(request: web.Request, tenant: str, clinic: ClinicInfo, day: date) -> Day:
    start, end = day_range(day, clinic.timezone)
    span = C.TimeRange(start=to_timestamp(start), end=to_timestamp(end))
    live_request = rpb.ListHoldsAndBlocksRequest(tenant_id=tenant, range=span)
    appointments, live = await asyncio.gather(
        _appointments(request, tenant, span),
        request.app[BACKENDS].reservation.ListHoldsAndBlocks(live_request, timeout=GATEWAY_TO_SERVICE),
    )
    now: datetime = request.app[CLOCK]()
    providers = [(p.id, p.name) for p in clinic.providers]
    services = {s.id: s.name for s in clinic.services}
    return build_day(day, clinic.timezone, providers, services, appointments, live, now)
