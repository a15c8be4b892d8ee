"""SendOtp and VerifyOtp: one-time codes texted to a phone and checked against their salted hash."""

from __future__ import annotations

import grpc

from booking.reservation.v1 import reservation_pb2 as pb
from common.db import Connection
from common.grpc_errors import e164, invalid
from common.timestamps import Clock
from common.timestamps import to_timestamp as timestamp
from services.reservation import otp, policy
from services.reservation.checks import require
from services.reservation.convert import failure
from services.reservation.idempotency import once
from services.reservation.otp_repository import OtpRepository
from services.reservation.peers import Peers
from services.reservation.repository import ReservationRepository

MAX_CODE_LENGTH = 32


class OneTimeCodes:
    def __init__(self, repository: ReservationRepository, peers: Peers, clock: Clock) -> None:
        self.repository = repository
        self.codes = OtpRepository()
        self.peers = peers
        self.clock = clock

    async def send(self, request: pb.SendOtpRequest, context: grpc.aio.ServicerContext) -> pb.SendOtpResponse:
        await require(context, tenant_id=request.tenant_id, phone=request.phone)
        phone = await e164(context, "phone", request.phone)
        now = self.clock()
        code, salt = otp.new_code(), otp.new_salt()
        written = ""  # the new code's id, once this request (not a repeat of it) has written one

        async def work(conn: Connection) -> pb.SendOtpResponse:
            nonlocal written
            await self.repository.lock_key(conn, request.tenant_id, "otp", phone)
            recent = await self.codes.count_recent_codes(conn, request.tenant_id, phone, policy.send_window_start(now))
            refusal = policy.send_refusal(recent)
            if refusal is not None:
                return pb.SendOtpResponse(failure=failure(refusal))
            expires_at = policy.code_expiry(now)
            written = await self.codes.insert_code(
                conn, request.tenant_id, phone, request.call_id, otp.digest(code, salt), salt, now, expires_at
            )
            return pb.SendOtpResponse(sent=True, expires_at=timestamp(expires_at))

        # A retried tool call must not text a second code: only a reply that wrote a code is kept.
        reply = await once(
            self.repository, context, "SendOtp", request.tenant_id, request.idempotency_key, pb.SendOtpResponse,
            work, keep=lambda r: r.sent,
        )  # fmt: skip
        if not reply.sent or not written:
            return reply  # refused, or a repeat of a request already served
        # The code travels straight to notification, never through our outbox (which would keep
        # it in clear). If it cannot be handed over, the code is void and the caller may ask again.
        otp_id = written
        enqueued = await self.peers.send_code(request.tenant_id, phone, otp_id, code)
        if enqueued is None or enqueued.HasField("failure"):
            await self.repository.transaction(lambda conn: self.codes.supersede_code(conn, request.tenant_id, otp_id))
            if enqueued is not None:
                return pb.SendOtpResponse(failure=enqueued.failure)
            return pb.SendOtpResponse(failure=failure(policy.SEND_FAILED))
        return reply

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

        return await self.repository.transaction(work)
