"""The console's forms that change the schedule: book a walk-in, cancel, move, block and free
time. Each is a staff operation in reservation with actor "console:<email>" and the form's
reason, under the form's idempotency key; then back to the day with a notice."""

from __future__ import annotations

import uuid
from datetime import date, datetime, time
from typing import Any

import grpc
from aiohttp import web

from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as rpb
from common.deadlines import TOOL
from common.phones import to_e164
from common.timestamps import to_timestamp
from gateway.clinics import ClinicInfo
from gateway.console.access import HEADERS, base, form_of, page_session
from gateway.console.day import local
from gateway.console.routes import clinic_or_404
from gateway.console.sessions import Session
from gateway.state import BACKENDS

ACTION_SECONDS = TOOL  # a staff operation validates with availability and writes: as long as a tool call


def bad(field: str, problem: str) -> web.HTTPBadRequest:
    return web.HTTPBadRequest(text=f"{field}: {problem}", headers=HEADERS)


def _date(values: dict[str, str], name: str = "date") -> date:
    try:
        return date.fromisoformat(values.get(name, ""))
    except ValueError:
        raise bad(name, "expected YYYY-MM-DD") from None


def _time(values: dict[str, str], name: str) -> time:
    text = values.get(name, "")
    try:
        if len(text) != 5:
            raise ValueError(text)
        return time.fromisoformat(text)
    except ValueError:
        raise bad(name, "expected HH:MM") from None


def _choice(values: dict[str, str], name: str, allowed: set[str]) -> str:
    value = values.get(name, "")
    if value not in allowed:
        raise bad(name, "not one of this clinic's")
    return value


def _uuid(value: str, name: str) -> str:
    try:
        return str(uuid.UUID(value))
    except ValueError:
        raise bad(name, "not an id") from None


def _key(session: Session, values: dict[str, str], action: str) -> str:
    """The form's nonce as idempotency key, scoped to this person and action."""
    return f"console:{session.email}:{action}:{values.get('nonce', '')[:64]}" if values.get("nonce") else ""


def _back(session: Session, values: dict[str, str], notice: str) -> web.HTTPSeeOther:
    try:
        day = date.fromisoformat(values.get("back", "")).isoformat()
    except ValueError:
        day = ""
    query = f"?date={day}&notice={notice}" if day else f"?notice={notice}"
    return web.HTTPSeeOther(f"{base(session.tenant)}/{query}", headers=HEADERS)


def _outcome(failure: C.Failure, done: str) -> str:
    return done if failure.cause == C.FAILURE_CAUSE_UNSPECIFIED else f"refused:{C.FailureCause.Name(failure.cause)}"


async def _start(request: web.Request) -> tuple[Session, dict[str, str], ClinicInfo]:
    session = await page_session(request)
    values = await form_of(request, session)
    return session, values, await clinic_or_404(request, session.tenant)


def _staff(session: Session, values: dict[str, str]) -> rpb.StaffAction:
    return rpb.StaffAction(actor=session.actor, reason=values.get("reason", "")[:200])


async def _call(method: Any, message: Any) -> Any:
    try:
        return await method(message, timeout=ACTION_SECONDS)
    except grpc.aio.AioRpcError as error:
        if error.code() == grpc.StatusCode.INVALID_ARGUMENT:
            raise web.HTTPBadRequest(text=error.details() or "invalid", headers=HEADERS) from None
        raise web.HTTPServiceUnavailable(headers=HEADERS) from None


async def book(request: web.Request) -> web.Response:
    session, values, clinic = await _start(request)
    provider = _choice(values, "provider", {p.id for p in clinic.providers})
    service = _choice(values, "service", {s.id for s in clinic.services})
    start = local(_date(values), _time(values, "time"), clinic.timezone)
    name = values.get("name", "")[:200]
    if not name:
        raise bad("name", "required")
    phone = to_e164(values["phone"], clinic.default_region) if values.get("phone") else ""
    if phone is None:
        raise bad("phone", "not a phone number")
    reply = await _call(request.app[BACKENDS].reservation.StaffBook, rpb.StaffBookRequest(
        tenant_id=session.tenant, provider_id=provider, service_id=service, start=to_timestamp(start),
        patient=rpb.Patient(name=name, phone=phone), action=_staff(session, values),
        idempotency_key=_key(session, values, "book"),
    ))  # fmt: skip
    raise _back(session, values, _outcome(reply.failure, "booked"))


async def cancel(request: web.Request) -> web.Response:
    session, values, _ = await _start(request)
    appointment = _uuid(request.match_info["id"], "appointment")
    reply = await _call(request.app[BACKENDS].reservation.StaffCancel, rpb.StaffCancelRequest(
        tenant_id=session.tenant, appointment_id=appointment, action=_staff(session, values),
        idempotency_key=_key(session, values, f"cancel:{appointment}"),
    ))  # fmt: skip
    raise _back(session, values, _outcome(reply.failure, "cancelled"))


async def move(request: web.Request) -> web.Response:
    session, values, clinic = await _start(request)
    appointment = _uuid(request.match_info["id"], "appointment")
    provider = _choice(values, "provider", {p.id for p in clinic.providers})
    start = local(_date(values), _time(values, "time"), clinic.timezone)
    reply = await _call(request.app[BACKENDS].reservation.StaffMove, rpb.StaffMoveRequest(
        tenant_id=session.tenant, appointment_id=appointment, start=to_timestamp(start), provider_id=provider,
        action=_staff(session, values), idempotency_key=_key(session, values, f"move:{appointment}"),
    ))  # fmt: skip
    raise _back(session, values, _outcome(reply.failure, "moved"))


async def block(request: web.Request) -> web.Response:
    session, values, clinic = await _start(request)
    provider = _choice(values, "provider", {p.id for p in clinic.providers})
    day = _date(values)
    start: datetime = local(day, _time(values, "start"), clinic.timezone)
    end: datetime = local(day, _time(values, "end"), clinic.timezone)
    if end <= start:
        raise bad("end", "must be after the start")
    span = C.TimeRange(start=to_timestamp(start), end=to_timestamp(end))
    reply = await _call(request.app[BACKENDS].reservation.BlockTime, rpb.BlockTimeRequest(
        tenant_id=session.tenant, provider_id=provider, range=span, action=_staff(session, values),
        idempotency_key=_key(session, values, "block"),
    ))  # fmt: skip
    raise _back(session, values, _outcome(reply.failure, "blocked"))


async def unblock(request: web.Request) -> web.Response:
    session, values, _ = await _start(request)
    block_id = _uuid(request.match_info["id"], "block")
    reply = await _call(request.app[BACKENDS].reservation.UnblockTime, rpb.UnblockTimeRequest(
        tenant_id=session.tenant, block_id=block_id, action=_staff(session, values),
    ))  # fmt: skip
    raise _back(session, values, "unblocked" if reply.unblocked else "refused:FAILURE_CAUSE_NOT_FOUND")
