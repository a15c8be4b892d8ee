"""`GET /ics/{tenant}/{provider}.ics?token=…`: a provider's calendar feed (SPEC §10), for Google
Calendar, Outlook and Apple Calendar to subscribe to.

The token is checked by availability (which owns it, constant-time there); answers are kept here
for FEED_TOKEN_CACHE_SECONDS, so a revoked token stops working within that long. A missing token is
401; a wrong, revoked, or another provider's or tenant's token, and a made-up tenant or provider,
are all the same bare 404: nothing tells which part was wrong. The appointments come from
reservation's ListAppointments (every page, PAST_DAYS back to the end of the booking horizon) and
are rendered by gateway/ics.py."""

from __future__ import annotations

import hashlib
import logging
import re
from datetime import datetime, timedelta

import grpc
from aiohttp import web

from booking.availability.v1 import availability_pb2 as apb
from booking.common.v1 import common_pb2 as cpb
from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import GATEWAY_TO_SERVICE, LOOKUP
from common.lru import TtlLru
from common.timestamps import from_timestamp, to_timestamp
from gateway import ics
from gateway.clinics import ClinicInfo
from gateway.state import AUTH, BACKENDS, CLINICS, CLOCK

log = logging.getLogger("gateway.feeds")
SLUG = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
MAX_TOKEN_LENGTH = 128
FEED_TOKEN_CACHE_SECONDS = 1.0
FEED_TOKEN_CACHE_SIZE = 4096
PAST_DAYS = 30
PAGE_SIZE = 500
MAX_PAGES = 40  # 20 000 events: far more than one provider's horizon holds; bounds one request's work
CACHE_CONTROL = "private, max-age=300"  # patient data may be in it: never kept by a shared cache
LISTED = [
    rpb.RESERVATION_STATUS_CONFIRMED, rpb.RESERVATION_STATUS_NO_SHOW, rpb.RESERVATION_STATUS_COMPLETED,
    rpb.RESERVATION_STATUS_BLOCKED,
]  # fmt: skip


class FeedTokens:
    """Feed token checks, remembered briefly (valid or not) and boundedly."""

    def __init__(self) -> None:
        self._known: TtlLru[str, bool] = TtlLru(FEED_TOKEN_CACHE_SIZE, FEED_TOKEN_CACHE_SECONDS)

    async def valid(self, app: web.Application, tenant: str, provider: str, token: str) -> bool:
        if not (SLUG.fullmatch(tenant) and SLUG.fullmatch(provider)) or len(token) > MAX_TOKEN_LENGTH:
            return False
        if not await app[AUTH].tenants.exists(tenant):
            return False  # a made-up tenant name costs no look-up
        key = hashlib.sha256("\x1f".join((tenant, provider, token)).encode("utf-8", "surrogateescape")).hexdigest()
        known = self._known.get(key)
        if known is None:
            asked = apb.CheckFeedTokenRequest(tenant_id=tenant, provider_id=provider, token=token)
            known = (await app[BACKENDS].availability.CheckFeedToken(asked, timeout=LOOKUP)).valid
            self._known.put(key, known)
        return known


FEED_TOKENS = web.AppKey("feed_tokens", FeedTokens)


async def appointments(
    app: web.Application, tenant: str, provider: str, start: datetime, end: datetime
) -> list[rpb.Appointment]:
    """Every listed appointment and block of the provider overlapping [start, end), page by page."""
    found: list[rpb.Appointment] = []
    request = rpb.ListAppointmentsRequest(
        tenant_id=tenant, range=cpb.TimeRange(start=to_timestamp(start), end=to_timestamp(end)),
        provider_ids=[provider], statuses=LISTED, page_size=PAGE_SIZE,
    )  # fmt: skip
    for _ in range(MAX_PAGES):
        page = await app[BACKENDS].reservation.ListAppointments(request, timeout=GATEWAY_TO_SERVICE)
        found.extend(page.appointments)
        if not page.next_page_token:
            return found
        request.page_token = page.next_page_token
    log.warning("calendar feed cut at its page limit", extra={"tenant": tenant, "provider": provider})
    return found


def feed_of(
    clinic: ClinicInfo, provider: str, listed: list[rpb.Appointment], start: datetime, end: datetime
) -> ics.Feed:
    services = {s.id: s.name for s in clinic.services}
    provider_name = next((p.name for p in clinic.providers if p.id == provider), provider)
    with_patient = clinic.config.calendar_feeds.patient_names
    events = [
        ics.FeedEvent(
            reservation_id=a.appointment_id, start=from_timestamp(a.slot.start), end=from_timestamp(a.slot.end),
            summary="" if a.status == rpb.RESERVATION_STATUS_BLOCKED else ics.summary(
                services.get(a.slot.service_id) or a.slot.service_spoken_name or a.slot.service_id,
                a.patient.name, with_patient,
            ),
        )
        for a in listed
    ]  # fmt: skip
    return ics.Feed(
        tenant_id=clinic.tenant_id, calendar_name=f"{clinic.name} – {provider_name}", zone=clinic.timezone,
        first_day=start.astimezone(clinic.timezone).date(), last_day=end.astimezone(clinic.timezone).date(),
        events=events,
    )  # fmt: skip


async def calendar_feed(request: web.Request) -> web.StreamResponse:
    app = request.app
    tenant, provider = request.match_info["tenant"], request.match_info["provider"]
    token = request.query.get("token", "")
    if not token:
        raise web.HTTPUnauthorized()
    try:
        if not await app[FEED_TOKENS].valid(app, tenant, provider, token):
            raise web.HTTPNotFound()
        clinic = await app[CLINICS].get(tenant)
        now = app[CLOCK]()
        start = now - timedelta(days=PAST_DAYS)
        end = now + timedelta(days=clinic.rules.max_days_ahead + 1)
        listed = await appointments(app, tenant, provider, start, end)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            raise web.HTTPNotFound() from None
        log.warning("calendar feed unavailable", extra={"code": error.code().name})
        raise web.HTTPServiceUnavailable() from None
    body = ics.render(feed_of(clinic, provider, listed, start, end), now)
    tag = ics.etag(body)
    headers = {"ETag": tag, "Cache-Control": CACHE_CONTROL}
    if ics.matches(request.headers.get("If-None-Match", ""), tag):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, content_type="text/calendar", charset="utf-8", headers=headers)


def add_routes(app: web.Application) -> None:
    app[FEED_TOKENS] = FeedTokens()
    app.router.add_get("/ics/{tenant}/{provider}.ics", calendar_feed)
