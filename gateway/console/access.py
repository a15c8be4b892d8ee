"""Who may see a console page: the session cookie (sessions.py), the account still existing with
the password the session was signed in with (removed staff, and sessions from before a new
password, are refused within ACCOUNTS_SECONDS), CSRF tokens on every form, and the headers every
console response carries."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass, field

import grpc
from aiohttp import web

from booking.availability.v1 import availability_pb2 as apb
from common.deadlines import LOOKUP
from common.lru import TtlLru
from gateway.console.limits import SignInLimits
from gateway.console.live import LiveSchedule
from gateway.console.sessions import LOGIN_FORM_SECONDS, Session, SessionBox
from gateway.state import BACKENDS

TENANT = re.compile(r"[a-z0-9][a-z0-9-]{0,62}")
SESSION_COOKIE = "console_session"
LOGIN_COOKIE = "console_login"
ACCOUNTS_SECONDS = 5.0
MAX_FIELD = 1024
HEADERS = {
    "Content-Security-Policy": "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
    "img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
    "X-Frame-Options": "DENY",
}


@dataclass
class Console:
    box: SessionBox
    live: LiveSchedule
    limits: SignInLimits = field(default_factory=SignInLimits)
    # tenant -> {email: session stamp}
    accounts: TtlLru[str, dict[str, str]] = field(default_factory=lambda: TtlLru(1024, ACCOUNTS_SECONDS))


CONSOLE = web.AppKey("console", Console)


def base(tenant: str) -> str:
    return f"/console/{tenant}"


def tenant_of(request: web.Request) -> str:
    tenant = request.match_info["tenant"]
    if not TENANT.fullmatch(tenant):
        raise web.HTTPNotFound()
    return tenant


def is_https(request: web.Request) -> bool:
    return request.secure or request.headers.get("X-Forwarded-Proto", "").lower() == "https"


def set_cookie(response: web.StreamResponse, request: web.Request, name: str, value: str, max_age: int) -> None:
    response.set_cookie(
        name, value, max_age=max_age, path=f"{base(tenant_of(request))}/", httponly=True, samesite="Strict",
        secure=is_https(request),
    )  # fmt: skip


def clear_cookie(response: web.StreamResponse, request: web.Request, name: str) -> None:
    set_cookie(response, request, name, "", 0)


async def account_stamps(request: web.Request, tenant: str) -> dict[str, str]:
    """The clinic's accounts and their session stamps, as availability had them at most
    ACCOUNTS_SECONDS ago."""
    console = request.app[CONSOLE]
    known = console.accounts.get(tenant)
    if known is None:
        try:
            reply = await request.app[BACKENDS].availability.ListStaffAccounts(
                apb.ListStaffAccountsRequest(tenant_id=tenant), timeout=LOOKUP
            )
        except grpc.aio.AioRpcError:
            raise web.HTTPServiceUnavailable(headers=HEADERS) from None
        known = {a.email: a.session_stamp for a in reply.accounts}
        console.accounts.put(tenant, known)
    return known


async def account_current(request: web.Request, session: Session) -> bool:
    """Whether the session's account still exists with the password it was signed in with."""
    stamp = (await account_stamps(request, session.tenant)).get(session.email, "")
    return bool(stamp) and secrets.compare_digest(stamp.encode(), session.stamp.encode())


async def signed_in(request: web.Request) -> Session | None:
    tenant = tenant_of(request)
    session = request.app[CONSOLE].box.open(tenant, request.cookies.get(SESSION_COOKIE, ""))
    if session is None or not await account_current(request, session):
        return None
    return session


async def page_session(request: web.Request) -> Session:
    """A page asked without a session goes to the sign-in page."""
    session = await signed_in(request)
    if session is None:
        raise web.HTTPSeeOther(f"{base(tenant_of(request))}/login", headers=HEADERS)
    return session


async def api_session(request: web.Request) -> Session:
    """A fragment or the event stream without a session: 401 (the script reloads the page)."""
    session = await signed_in(request)
    if session is None:
        raise web.HTTPUnauthorized(headers=HEADERS)
    return session


async def form_of(request: web.Request, session: Session) -> dict[str, str]:
    """The posted form, once its CSRF token matches the session's (403 otherwise)."""
    posted = await request.post()
    values = {k: v.strip()[:MAX_FIELD] for k, v in posted.items() if isinstance(v, str)}
    if not session.csrf_ok(values.get("csrf", "")):
        raise web.HTTPForbidden(text="invalid form token", headers=HEADERS)
    return values


def new_login_nonce() -> str:
    return secrets.token_urlsafe(24)


LOGIN_COOKIE_SECONDS = LOGIN_FORM_SECONDS
