"""The console's pages: sign-in and sign-out, the day view and its grid fragment, and the live
event stream (server-sent events). Actions (forms that change the schedule) are in actions.py."""

from __future__ import annotations

import asyncio
import json
import logging
import uuid

import grpc
from aiohttp import web

from booking.availability.v1 import availability_pb2 as apb
from booking.reservation.v1 import reservation_pb2 as rpb
from common.timestamps import from_timestamp
from gateway.client_address import client_address
from gateway.clinics import ClinicInfo
from gateway.console import words
from gateway.console.access import (
    CONSOLE,
    HEADERS,
    LOGIN_COOKIE,
    LOGIN_COOKIE_SECONDS,
    SESSION_COOKIE,
    account_current,
    account_stamps,
    api_session,
    base,
    clear_cookie,
    form_of,
    new_login_nonce,
    page_session,
    set_cookie,
    tenant_of,
)  # fmt: skip
from gateway.console.grid import grid
from gateway.console.pages import day_page, login_page
from gateway.console.schedule import asked_date, load_day
from gateway.console.sessions import Session
from gateway.state import BACKENDS, CLINICS, CONFIG

log = logging.getLogger("gateway.console")
HEARTBEAT_SECONDS = 15.0
VERIFY_SECONDS = 10.0  # argon2 takes ~0.1 s; queued behind others on a busy machine, more


def html(text: str, status: int = 200) -> web.Response:
    return web.Response(text=text, status=status, content_type="text/html", headers=HEADERS)


async def clinic_or_404(request: web.Request, tenant: str) -> ClinicInfo:
    try:
        return await request.app[CLINICS].get(tenant)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.NOT_FOUND:
            raise web.HTTPNotFound(headers=HEADERS) from None
        raise web.HTTPServiceUnavailable(headers=HEADERS) from None


async def _login_form(
    request: web.Request, tenant: str, email: str = "", error: str = "", status: int = 200
) -> web.Response:
    clinic = await clinic_or_404(request, tenant)
    nonce = new_login_nonce()
    token = request.app[CONSOLE].box.login_token(tenant, nonce)
    response = html(login_page(clinic.name, base(tenant), token, email, error), status)
    set_cookie(response, request, LOGIN_COOKIE, nonce, LOGIN_COOKIE_SECONDS)
    return response


async def login_get(request: web.Request) -> web.Response:
    return await _login_form(request, tenant_of(request))


async def _verify(request: web.Request, tenant: str, email: str, password: str) -> bool:
    reply = await request.app[BACKENDS].availability.VerifyStaffPassword(
        apb.VerifyStaffPasswordRequest(tenant_id=tenant, email=email, password=password), timeout=VERIFY_SECONDS
    )
    return bool(reply.verified)


async def login_post(request: web.Request) -> web.Response:
    tenant = tenant_of(request)
    console = request.app[CONSOLE]
    posted = await request.post()
    values = {k: v for k, v in posted.items() if isinstance(v, str)}
    if not console.box.login_token_ok(tenant, request.cookies.get(LOGIN_COOKIE, ""), values.get("csrf", "")):
        raise web.HTTPForbidden(text="invalid form token", headers=HEADERS)
    email = values.get("email", "").strip().lower()[:254]
    caller = client_address(
        request.remote or "", request.headers.get("X-Forwarded-For", ""), request.app[CONFIG].trusted_proxies
    )
    if not console.limits.allowed(tenant, email, caller):
        log.warning("console sign-in limited", extra={"tenant": tenant})
        return await _login_form(request, tenant, email, words.SIGN_IN_LIMITED, 429)
    try:
        ok = await _verify(request, tenant, email, values.get("password", ""))
    except grpc.aio.AioRpcError:
        console.limits.unchecked(tenant, email)
        return await _login_form(request, tenant, email, words.SIGN_IN_UNAVAILABLE, 503)
    if not ok:
        console.limits.failed(tenant, email)
        log.info("console sign-in refused", extra={"tenant": tenant})
        return await _login_form(request, tenant, email, words.SIGN_IN_FAILED, 401)
    console.limits.succeeded(tenant, email)
    console.accounts.pop(tenant)  # an account added a moment ago is known at once
    stamp = (await account_stamps(request, tenant)).get(email, "")
    session = console.box.new(tenant, email, stamp)
    log.info("console sign-in", extra={"tenant": tenant})
    response = web.HTTPSeeOther(f"{base(tenant)}/", headers=HEADERS)
    lifetime = int(session.expires_at - console.box.now())
    set_cookie(response, request, SESSION_COOKIE, console.box.seal(session), lifetime)
    clear_cookie(response, request, LOGIN_COOKIE)
    raise response


async def logout(request: web.Request) -> web.Response:
    session = await api_session(request)
    await form_of(request, session)
    response = web.HTTPSeeOther(f"{base(session.tenant)}/login", headers=HEADERS)
    clear_cookie(response, request, SESSION_COOKIE)
    raise response


async def day(request: web.Request) -> web.Response:
    session = await page_session(request)
    clinic = await clinic_or_404(request, session.tenant)
    shown = await load_day(request, session.tenant, clinic, asked_date(request, clinic))
    services = [(s.id, s.name) for s in clinic.services]
    notice = words.notice(request.query.get("notice", ""))
    text = day_page(clinic.name, base(session.tenant), shown, session.email, session.csrf, str(uuid.uuid4()),
                    services, notice)  # fmt: skip
    return html(text)


async def grid_part(request: web.Request) -> web.Response:
    session = await api_session(request)
    clinic = await clinic_or_404(request, session.tenant)
    shown = await load_day(request, session.tenant, clinic, asked_date(request, clinic))
    return html(grid(shown, base(session.tenant), session.csrf, str(uuid.uuid4())))


def event_of(change: rpb.ScheduleChange) -> bytes:
    """Which time changed, not who: the page fetches what it shows through its own session."""
    data = json.dumps({
        "kind": rpb.ScheduleChangeKind.Name(change.kind).removeprefix("SCHEDULE_CHANGE_KIND_").lower(),
        "provider_id": change.provider_id, "start": from_timestamp(change.range.start).isoformat(),
    })  # fmt: skip
    return f"id: {change.cursor}\nevent: change\ndata: {data}\n\n".encode()


async def _still_signed_in(request: web.Request, session: Session) -> bool:
    try:
        return await account_current(request, session)
    except web.HTTPException:
        return False  # cannot be told just now: the page reconnects and is asked again


async def events(request: web.Request) -> web.StreamResponse:
    session = await api_session(request)
    console = request.app[CONSOLE]
    response = web.StreamResponse(headers={**HEADERS, "Content-Type": "text/event-stream", "X-Accel-Buffering": "no"})
    async with console.live.subscribe(session.tenant) as changes:
        await response.prepare(request)
        await response.write(b"retry: 1000\n\n")
        remaining = max(0.0, session.expires_at - console.box.now())
        try:
            async with asyncio.timeout(remaining):  # the stream ends with the session
                while True:
                    try:
                        change = await asyncio.wait_for(changes.get(), HEARTBEAT_SECONDS)
                    except TimeoutError:
                        if not await _still_signed_in(request, session):
                            break  # the account was removed or given a new password
                        await response.write(b": still here\n\n")
                        continue
                    if change is None or not await _still_signed_in(request, session):
                        break
                    await response.write(event_of(change))
        except (TimeoutError, ConnectionResetError):
            pass
    return response


async def to_day(request: web.Request) -> web.Response:
    raise web.HTTPPermanentRedirect(f"{base(tenant_of(request))}/")
