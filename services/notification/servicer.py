"""gRPC methods of NotificationService (thin: parse, call domain code and repository, build the reply)."""

from __future__ import annotations

import logging
import re

import asyncpg
import grpc

from booking.common.v1 import common_pb2
from booking.notification.v1 import notification_pb2 as pb
from booking.notification.v1 import notification_pb2_grpc
from booking.reservation.v1 import reservation_pb2
from common.db import Connection
from common.grpc_errors import e164, invalid
from common.timestamps import from_timestamp
from common.timestamps import to_timestamp as timestamp
from services.notification import templates
from services.notification.replies import ReplyRelay
from services.notification.repository import MessageRow, NotificationRepository
from services.notification.senders import LocalSender

KINDS = {
    pb.MESSAGE_KIND_OTP: "OTP",
    pb.MESSAGE_KIND_CONFIRMATION: "CONFIRMATION",
    pb.MESSAGE_KIND_CANCELLATION: "CANCELLATION",
    pb.MESSAGE_KIND_REMINDER: "REMINDER",
    pb.MESSAGE_KIND_RESCHEDULE: "RESCHEDULE",
    pb.MESSAGE_KIND_WAITLIST_OFFER: "WAITLIST_OFFER",
    pb.MESSAGE_KIND_WAITLIST_OFFER_EXPIRED: "WAITLIST_OFFER_EXPIRED",
    pb.MESSAGE_KIND_REPLY_HELP: "REPLY_HELP",
    pb.MESSAGE_KIND_CANCEL_REFUSED: "CANCEL_REFUSED",
    pb.MESSAGE_KIND_ATTENDANCE_CONFIRMED: "ATTENDANCE_CONFIRMED",
}
KIND_TO_PROTO = {v: k for k, v in KINDS.items()}
STATUSES = {
    "QUEUED": pb.MESSAGE_STATUS_QUEUED,
    "SENT": pb.MESSAGE_STATUS_SENT,
    "DELIVERED": pb.MESSAGE_STATUS_DELIVERED,
    "UNDELIVERED": pb.MESSAGE_STATUS_UNDELIVERED,
    "FAILED": pb.MESSAGE_STATUS_FAILED,
    "SUPPRESSED": pb.MESSAGE_STATUS_SUPPRESSED,
}
STATUS_NAMES = {v: k for k, v in STATUSES.items()}
# Twilio's MessageStatus values -> ours ("queued", "accepted", "sending" say nothing new).
TWILIO_STATUS = {"sent": "SENT", "delivered": "DELIVERED", "undelivered": "UNDELIVERED", "failed": "FAILED"}
STOP_WORDS = {"stop", "stopall", "unsubscribe", "cancel", "end", "quit", "optout", "revoke"}
START_WORDS = {"start", "unstop", "yes"}
HELP_WORDS = {"help", "info"}
# Carrier keywords that are also answers to a reminder: after their carrier meaning (CANCEL opts
# out, YES opts in, as Twilio does) they still reach the clinic as a reply.
REPLY_KEYWORDS = {"cancel", "yes"}
log = logging.getLogger("services.notification")
MAX_BODY = 1600


def message_of(row: MessageRow) -> pb.Message:
    body = row.body
    if row.kind == "OTP":
        body = re.sub(r"\d{4,8}", lambda m: "*" * len(m.group(0)), body)  # support staff never see codes
    return pb.Message(
        message_id=row.message_id,
        tenant_id=row.tenant_id,
        dedupe_key=row.dedupe_key,
        kind=KIND_TO_PROTO.get(row.kind, pb.MESSAGE_KIND_UNSPECIFIED),
        to=row.to_phone,
        body=body,
        status=STATUSES[row.status],
        attempts=row.attempts,
        provider_sid=row.provider_sid,
        error_code=row.error_code,
        created_at=timestamp(row.created_at),
        updated_at=timestamp(row.updated_at),
        segments=row.segments,
    )


async def tenant_and_phone(
    request: pb.OptOutRequest | pb.OptInRequest | pb.GetOptOutRequest, context: grpc.aio.ServicerContext
) -> tuple[str, str]:
    """The tenant and the E.164 phone an opt-out request is about (INVALID_ARGUMENT otherwise)."""
    if not request.tenant_id:
        await invalid(context, "tenant_id is required")
    return request.tenant_id, await e164(context, "phone", request.phone)


class NotificationServicer(notification_pb2_grpc.NotificationServiceServicer):
    def __init__(self, pool: asyncpg.Pool, local: LocalSender | None = None, replies: ReplyRelay | None = None) -> None:
        self.pool = pool
        self.repository = NotificationRepository(pool)
        self.local = local  # the local sender, whose inbox ListDevTexts shows; None with Twilio
        # Where patients' replies go (services/notification/replies.py); by default nowhere.
        self.replies = replies or ReplyRelay(pool, lambda: None)

    async def ListDevTexts(
        self, request: pb.ListDevTextsRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListDevTextsResponse:
        if self.local is None:
            await context.abort(grpc.StatusCode.FAILED_PRECONDITION, "a real SMS sender is configured")
            raise AssertionError("unreachable")
        texts = self.local.texts(max(request.limit, 0))
        return pb.ListDevTextsResponse(
            texts=[
                pb.DevText(to=t.to, body=t.body, provider_sid=t.provider_sid, sent_at=timestamp(t.sent_at))
                for t in texts
            ]
        )

    async def EnqueueSms(
        self, request: pb.EnqueueSmsRequest, context: grpc.aio.ServicerContext
    ) -> pb.EnqueueSmsResponse:
        for name in ("tenant_id", "to", "dedupe_key"):
            if not getattr(request, name):
                await invalid(context, f"{name} is required")
        to = await e164(context, "to", request.to)
        kind = KINDS.get(request.kind, "OTHER")
        if request.body:
            body = request.body
        elif kind == "OTHER":
            await invalid(context, "body is required when kind is not set")
        elif kind == "OTP":
            if not re.fullmatch(r"\d{4,8}", request.otp_code):
                await invalid(context, "otp_code: 4 to 8 digits are required")
            body = templates.render(
                "OTP", request.appointment.clinic_name, code=request.otp_code, language=request.language
            )
        else:
            details = request.appointment
            if not details.HasField("start") or not details.timezone:
                await invalid(context, "appointment: start and timezone are required")
            body = templates.render(
                kind, details.clinic_name, service=details.service_name, provider=details.provider_name,
                start=from_timestamp(details.start), timezone=details.timezone,
                minutes=details.reply_within_minutes, language=request.language,
            )  # fmt: skip
        if len(body) > MAX_BODY:
            await invalid(context, f"body: longer than {MAX_BODY} characters")
        row, created = await self.repository.enqueue(
            request.tenant_id, request.dedupe_key, kind, to, body, templates.segments(body).count
        )
        reply = pb.EnqueueSmsResponse(message_id=row.message_id, created=created, status=STATUSES[row.status])
        if row.status == "SUPPRESSED":
            # A cause only: the gateway's speech layer words it.
            reply.failure.CopyFrom(common_pb2.Failure(cause=common_pb2.FAILURE_CAUSE_PHONE_OPTED_OUT))
        return reply

    async def GetMessage(
        self, request: pb.GetMessageRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetMessageResponse:
        row = await self.repository.get(request.tenant_id, request.message_id)
        if row is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, "message_id: no such message")
            raise AssertionError("unreachable")
        return pb.GetMessageResponse(message=message_of(row))

    async def ListMessages(
        self, request: pb.ListMessagesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListMessagesResponse:
        if not request.tenant_id:
            await invalid(context, "tenant_id is required")
        to = await e164(context, "to", request.to) if request.to else ""
        if request.limit < 0:
            await invalid(context, "limit: must not be negative")
        rows = await self.repository.list_messages(
            request.tenant_id, to, STATUS_NAMES.get(request.status, ""), min(request.limit or 50, 500)
        )
        return pb.ListMessagesResponse(messages=[message_of(r) for r in rows])

    async def OptOut(self, request: pb.OptOutRequest, context: grpc.aio.ServicerContext) -> pb.OptOutResponse:
        return pb.OptOutResponse(changed=await self._set_opt_out(request, context, opted_out=True))

    async def OptIn(self, request: pb.OptInRequest, context: grpc.aio.ServicerContext) -> pb.OptInResponse:
        return pb.OptInResponse(changed=await self._set_opt_out(request, context, opted_out=False))

    async def GetOptOut(self, request: pb.GetOptOutRequest, context: grpc.aio.ServicerContext) -> pb.GetOptOutResponse:
        tenant_id, phone = await tenant_and_phone(request, context)
        opted_out, since = await self.repository.opt_out_state(tenant_id, phone)
        reply = pb.GetOptOutResponse(opted_out=opted_out)
        if since is not None:
            reply.since.CopyFrom(timestamp(since))
        return reply

    async def _set_opt_out(
        self, request: pb.OptOutRequest | pb.OptInRequest, context: grpc.aio.ServicerContext, *, opted_out: bool
    ) -> bool:
        tenant_id, phone = await tenant_and_phone(request, context)
        return await self.repository.set_opt_out(tenant_id, phone, opted_out, request.source)

    async def RecordDeliveryStatus(
        self, request: pb.RecordDeliveryStatusRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordDeliveryStatusResponse:
        if not request.provider_sid:
            await invalid(context, "provider_sid is required")
        ours = TWILIO_STATUS.get(request.status.lower())
        if ours is None:
            row_status = await self.repository.record_status(request.provider_sid, "QUEUED", "")
        else:
            row_status = await self.repository.record_status(request.provider_sid, ours, request.error_code)
        if row_status is None:
            return pb.RecordDeliveryStatusResponse(found=False)
        return pb.RecordDeliveryStatusResponse(found=True, status=STATUSES[row_status])

    async def RecordInboundSms(
        self, request: pb.RecordInboundSmsRequest, context: grpc.aio.ServicerContext
    ) -> pb.RecordInboundSmsResponse:
        sender = await e164(context, "from", getattr(request, "from"))
        word = request.body.strip().lower().rstrip(".!")
        if word in HELP_WORDS:
            return pb.RecordInboundSmsResponse(action=pb.INBOUND_ACTION_HELP)  # Twilio answers HELP itself
        # The carrier keyword's effect and the reply to forward commit together: neither is lost.
        async with self.pool.acquire() as conn, conn.transaction():
            action = await self._carrier_keyword(conn, request.tenant_id, sender, word)
            if action != pb.INBOUND_ACTION_UNSPECIFIED and word not in REPLY_KEYWORDS:
                return pb.RecordInboundSmsResponse(action=action)
            reply = await self._reply_of(conn, request, sender)
            recorded = None if reply is None else await self.replies.record(conn, reply)
        # Answered whatever reservation's state: a reply it could not take now is forwarded later.
        if reply is not None and (recorded is None or await self.replies.forward(recorded)):
            action = action or pb.INBOUND_ACTION_REPLY
        return pb.RecordInboundSmsResponse(action=action)

    async def _carrier_keyword(
        self, conn: Connection, tenant_id: str, sender: str, word: str
    ) -> pb.InboundAction.ValueType:
        """STOP words opt the sender out, START words back in (for the clinic named, else every clinic
        that texted them), as the carrier does."""
        if word in STOP_WORDS:
            opted_out, action = True, pb.INBOUND_ACTION_OPTED_OUT
        elif word in START_WORDS:
            opted_out, action = False, pb.INBOUND_ACTION_OPTED_IN
        else:
            return pb.INBOUND_ACTION_UNSPECIFIED
        tenants = [tenant_id] if tenant_id else await self.repository.tenants_messaging(sender, conn)
        for tenant in tenants:
            await self.repository.set_opt_out(tenant, sender, opted_out, f"inbound {word.upper()}", conn)
        return action

    async def _reply_of(
        self, conn: Connection, request: pb.RecordInboundSmsRequest, sender: str
    ) -> reservation_pb2.HandlePatientReplyRequest | None:
        """The reply for the clinic named, else the one whose text asking for a reply reached the
        sender last; None when there is nobody to hand it to."""
        tenant_id = request.tenant_id or await self.repository.latest_tenant_messaging(sender, conn)
        if self.replies.reservation() is None or not tenant_id:
            return None
        return reservation_pb2.HandlePatientReplyRequest(
            tenant_id=tenant_id, phone=sender, body=request.body[:MAX_BODY], message_sid=request.message_sid
        )
