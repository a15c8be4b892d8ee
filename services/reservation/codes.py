"""SendOtp and VerifyOtp: one-time codes texted to a phone and checked against their salted hash."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import datetime

import grpc

from booking.availability.v1 import availability_pb2
from booking.reservation.v1 import reservation_pb2 as pb
from common.db import Connection
from common.deadlines import SERVICE_TO_SERVICE
from common.grpc_errors import e164, invalid
from common.timestamps import Clock
from common.timestamps import to_timestamp as timestamp
from services.reservation import otp, policy, text_limits
from services.reservation.checks import language, require
from services.reservation.convert import failure
from services.reservation.idempotency import check_key, once
from services.reservation.otp_repository import SEND_OTP, OtpRepository
from services.reservation.peers import Peers
from services.reservation.policy import Refusal
from services.reservation.repository import Reservation, ReservationRepository

MAX_CODE_LENGTH = 32
NO_PHONE_ON_APPOINTMENT = Refusal("INVALID_PHONE", "no_phone_on_appointment")
# A repeat of a send still in flight waits for its outcome (the hand-off takes at most
# SERVICE_TO_SERVICE), polling this often, this long, before it answers SEND_FAILED.
WAIT_STEP_SECONDS = 0.02
WAIT_SECONDS = SERVICE_TO_SERVICE * 1.5
DEFAULT_CODES_PER_HOUR = 60  # availability always answers the clinic's value; this is a guard
Rules = availability_pb2.GetBookingRulesResponse


@dataclass(frozen=True)
class Written:
    """What the send transaction did: an answer, and (when a new code was written) what to text."""

    reply: pb.SendOtpResponse
    phone: str = ""
    otp_id: str = ""
    code: str = ""


IN_FLIGHT = Written(pb.SendOtpResponse())  # the same key is being sent by another request


def _tail(phone: str) -> str:
    return phone[-2:]


async def verified_number(conn: Connection, row: Reservation, spoken_allowed: bool, now: datetime) -> str:
    """The number verified by code in the hold's call that the hold may be booked under ("" = none):
    the hold's own, or (when the clinic lets a spoken number receive codes) the one verified instead."""
    since = policy.verified_since(now)
    phone = row.patient_phone
    hold_verified = bool(phone) and await OtpRepository.verified(conn, row.tenant_id, phone, row.call_id, since)
    in_call = ""
    if not hold_verified and spoken_allowed:
        in_call = next(iter(await OtpRepository.verified_phones(conn, row.tenant_id, row.call_id, since)), "")
    booked = text_limits.booking_phone(phone, hold_verified, spoken_allowed, in_call)
    return booked if hold_verified or (in_call and booked == in_call) else ""


class OneTimeCodes:
    def __init__(self, repository: ReservationRepository, peers: Peers, clock: Clock) -> None:
        self.repository = repository
        self.codes = OtpRepository()
        self.peers = peers
        self.clock = clock

    async def send(self, request: pb.SendOtpRequest, context: grpc.aio.ServicerContext) -> pb.SendOtpResponse:
        await require(context, tenant_id=request.tenant_id)
        if not request.phone and not request.appointment_id:
            await invalid(context, "phone (or appointment_id) is required")
        phone = "" if request.appointment_id else await e164(context, "phone", request.phone)
        request.language = await language(context, "language", request.language)
        await check_key(context, request.idempotency_key)
        rules = await self.peers.rules(context, request.tenant_id, "")
        written = await self._write_once(request, context, phone, rules)
        if not written.otp_id:
            return written.reply  # refused, a repeat of a request already served, or still in flight
        return await self._hand_off(request, written, rules.clinic_name)

    async def _write_once(
        self, request: pb.SendOtpRequest, context: grpc.aio.ServicerContext, phone: str, rules: Rules
    ) -> Written:
        """Write a code under the limits, once per idempotency key; a repeat of a send in flight waits."""
        waited = 0.0
        while True:
            try:
                written = await self.repository.transaction(lambda conn: self._write(conn, request, phone, rules))
            except ValueError as error:
                await invalid(context, f"idempotency_key: {error}")
            if written is not IN_FLIGHT:
                return written
            if waited >= WAIT_SECONDS:
                return Written(pb.SendOtpResponse(failure=failure(policy.SEND_FAILED)))
            await asyncio.sleep(WAIT_STEP_SECONDS)
            waited += WAIT_STEP_SECONDS

    async def _write(self, conn: Connection, request: pb.SendOtpRequest, phone: str, rules: Rules) -> Written:
        tenant_id, key, now = request.tenant_id, request.idempotency_key, self.clock()
        if key:
            state = await self.codes.claim_key(conn, tenant_id, key)
            if state is not None and state.method != SEND_OTP:
                raise ValueError(f"idempotency_key was already used for {state.method}")
            if state is not None and not state.pending:
                return Written(pb.SendOtpResponse.FromString(state.response))
            if state is not None and not state.abandoned:
                return IN_FLIGHT
        if request.appointment_id:
            found = await self._appointment_phone(conn, tenant_id, request.appointment_id)
            if isinstance(found, Refusal):
                return Written(pb.SendOtpResponse(failure=failure(found)))
            phone = found
        refusal = text_limits.phone_refusal(phone, list(rules.sms_countries), rules.default_region)
        if refusal is None:
            refusal = await self._over_limit(conn, tenant_id, phone, request.call_id, now)
        if refusal is not None:
            return Written(pb.SendOtpResponse(failure=failure(refusal)))
        clinic = rules.rules
        budget = clinic.max_codes_per_hour if clinic.HasField("max_codes_per_hour") else DEFAULT_CODES_PER_HOUR
        code, salt, expires_at = otp.new_code(), otp.new_salt(), policy.code_expiry(now)
        # The clinic's lock last, and only around this: its sends wait for each other one round trip.
        spent, otp_id = await self.codes.insert_within_budget(
            conn, tenant_id, phone, request.call_id, otp.digest(code, salt), salt, now, expires_at,
            budget, text_limits.budget_window_start(now), key,
        )  # fmt: skip
        if otp_id is None:  # the clinic's budget is spent
            spent_refusal = text_limits.budget_refusal(spent, budget)
            assert spent_refusal is not None
            return Written(pb.SendOtpResponse(failure=failure(spent_refusal)))
        reply = pb.SendOtpResponse(sent=True, expires_at=timestamp(expires_at), phone_tail=_tail(phone))
        return Written(reply, phone, otp_id, code)

    async def _appointment_phone(self, conn: Connection, tenant_id: str, appointment_id: str) -> str | Refusal:
        row = await self.repository.get(conn, tenant_id, appointment_id)
        if row is None or row.status not in policy.APPOINTMENT_STATUSES:
            return policy.APPOINTMENT_NOT_FOUND
        return row.patient_phone or NO_PHONE_ON_APPOINTMENT

    async def _over_limit(
        self, conn: Connection, tenant_id: str, phone: str, call_id: str, now: datetime
    ) -> Refusal | None:
        """Count under the call's and the phone's locks (always in this order, and before the
        clinic's, so concurrent sends never wait for each other in a circle) and apply their limits."""
        call_lock = [(tenant_id, "otp-call", call_id)] if call_id else []
        counts = await self.codes.lock_and_count(
            conn, [*call_lock, (tenant_id, "otp", phone)], tenant_id, phone, call_id, policy.send_window_start(now)
        )
        return text_limits.send_refusal(phone, call_id, counts)

    async def _hand_off(self, request: pb.SendOtpRequest, written: Written, clinic_name: str) -> pb.SendOtpResponse:
        """The code travels straight to notification, never through our outbox (which would keep
        it in clear). Only once notification took it is the reply kept for the key: if it cannot
        be handed over, the code is void and a repeat (or a new request) may ask again."""
        tenant_id, key = request.tenant_id, request.idempotency_key
        enqueued = await self.peers.send_code(
            tenant_id, written.phone, written.otp_id, written.code, request.language, clinic_name
        )
        taken = enqueued is not None and not enqueued.HasField("failure")
        if taken:
            if key:  # one statement: no transaction around it
                await self.codes.settle_key(self.repository.pool, tenant_id, key, written.reply.SerializeToString())
            return written.reply

        async def void(conn: Connection) -> None:
            await self.codes.void_code(conn, tenant_id, written.otp_id)
            if key:
                await self.codes.settle_key(conn, tenant_id, key, None)

        await self.repository.transaction(void)
        if enqueued is not None:
            return pb.SendOtpResponse(failure=enqueued.failure)
        return pb.SendOtpResponse(failure=failure(policy.SEND_FAILED))

    async def verify(self, request: pb.VerifyOtpRequest, context: grpc.aio.ServicerContext) -> pb.VerifyOtpResponse:
        await require(context, tenant_id=request.tenant_id, code=request.code)
        if not request.phone and not request.call_id:
            await invalid(context, "phone (or call_id) is required")
        phone = await e164(context, "phone", request.phone) if request.phone else ""
        if len(request.code) > MAX_CODE_LENGTH:
            await invalid(context, "code: too long")
        now = self.clock()

        async def work(conn: Connection) -> pb.VerifyOtpResponse:
            current = await self.codes.current_code(conn, request.tenant_id, phone, request.call_id)
            if current is None:
                return pb.VerifyOtpResponse(failure=failure(policy.NO_CURRENT_CODE))
            refusal = policy.checkable(current.verified_at, current.expires_at, current.attempts, now)
            if refusal is not None:
                return pb.VerifyOtpResponse(failure=failure(refusal))
            right = otp.matches(request.code, current.salt, current.code_hash)
            await self.codes.record_check(conn, request.tenant_id, current.otp_id, now if right else None)
            check = policy.check_result(right, current.attempts)
            if check.refusal is not None:
                return pb.VerifyOtpResponse(attempts_left=check.attempts_left, failure=failure(check.refusal))
            return pb.VerifyOtpResponse(verified=True, attempts_left=check.attempts_left)

        # A repeat (a Vapi retry on another gateway replica) gets the first answer: no second attempt.
        key = request.idempotency_key
        return await once(self.repository, context, "VerifyOtp", request.tenant_id, key, pb.VerifyOtpResponse, work)
