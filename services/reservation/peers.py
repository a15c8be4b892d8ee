"""Calls from inside a reservation RPC to the other services: availability (slot checks, booking
rules, alternatives, with short caches) and notification (one-time codes, which skip our outbox)."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable
from typing import Protocol, TypeVar

import grpc
from google.protobuf.message import Message

from booking.availability.v1 import availability_pb2, availability_pb2_grpc
from booking.common.v1 import common_pb2 as C
from booking.notification.v1 import notification_pb2, notification_pb2_grpc
from common.deadlines import SERVICE_TO_SERVICE
from common.logs import mask_phone

log = logging.getLogger("services.reservation")
R = TypeVar("R", bound=Message)

RULES_CACHE_SECONDS = 2.0
ALTERNATIVES = 5
ALTERNATIVES_CACHE_SECONDS = 1.0
ALTERNATIVES_FORGOTTEN_SECONDS = 60.0


class Stubs(Protocol):
    """Where the peers' stubs are found at call time (tests wire them after the server starts)."""

    availability: availability_pb2_grpc.AvailabilityServiceStub | None
    notification: notification_pb2_grpc.NotificationServiceStub | None


class Peers:
    def __init__(self, stubs: Stubs) -> None:
        self._stubs = stubs
        self._rules: dict[tuple[str, str], tuple[float, availability_pb2.GetBookingRulesResponse]] = {}
        self._alternatives: dict[tuple[str, str, str], tuple[float, asyncio.Future[list[C.Slot]]]] = {}

    def _availability(self) -> availability_pb2_grpc.AvailabilityServiceStub:
        assert self._stubs.availability is not None, "availability stub not wired"
        return self._stubs.availability

    @staticmethod
    async def _answer(context: grpc.aio.ServicerContext, name: str, call: Awaitable[R]) -> R:
        """The peer's reply; its refusal of our request is passed on, any other fault is UNAVAILABLE."""
        try:
            return await call
        except grpc.aio.AioRpcError as error:
            if error.code() in (grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.NOT_FOUND):
                await context.abort(error.code(), error.details() or "")
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"{name} service unavailable ({error.code().name})")
            raise AssertionError("unreachable") from None

    async def validate(
        self, context: grpc.aio.ServicerContext, request: availability_pb2.ValidateSlotRequest
    ) -> availability_pb2.ValidateSlotResponse:
        call = self._availability().ValidateSlot(request, timeout=SERVICE_TO_SERVICE)
        return await self._answer(context, "availability", call)

    async def find_slots(
        self, context: grpc.aio.ServicerContext, request: availability_pb2.FindSlotsRequest
    ) -> availability_pb2.FindSlotsResponse:
        """Slots, and the days a date phrase means in the clinic's timezone (the waitlist asks for these)."""
        call = self._availability().FindSlots(request, timeout=SERVICE_TO_SERVICE)
        return await self._answer(context, "availability", call)

    async def rules(
        self, context: grpc.aio.ServicerContext, tenant_id: str, service_id: str
    ) -> availability_pb2.GetBookingRulesResponse:
        key = (tenant_id, service_id)
        cached = self._rules.get(key)
        if cached is not None and time.monotonic() - cached[0] < RULES_CACHE_SECONDS:
            return cached[1]
        call = self._availability().GetBookingRules(
            availability_pb2.GetBookingRulesRequest(tenant_id=tenant_id, service_id=service_id),
            timeout=SERVICE_TO_SERVICE,
        )
        reply: availability_pb2.GetBookingRulesResponse = await self._answer(context, "availability", call)
        self._rules[key] = (time.monotonic(), reply)
        return reply

    async def alternatives(self, tenant_id: str, slot: C.Slot) -> list[C.Slot]:
        """Other free slots the same day (best effort: none if availability does not answer).

        Many callers losing the same slot at once share one lookup (for ALTERNATIVES_CACHE_SECONDS):
        suggestions may be a second old, and each is checked again when the caller picks it.
        """
        key = (tenant_id, slot.local_start[:10], slot.service_id)
        cached = self._alternatives.get(key)
        if cached is None or time.monotonic() - cached[0] > ALTERNATIVES_CACHE_SECONDS:
            cached = (time.monotonic(), asyncio.ensure_future(self._find_alternatives(*key)))
            self._alternatives[key] = cached
            for stale in [
                k for k, v in self._alternatives.items() if time.monotonic() - v[0] > ALTERNATIVES_FORGOTTEN_SECONDS
            ]:
                del self._alternatives[stale]
        return [s for s in await asyncio.shield(cached[1]) if s.slot_id != slot.slot_id][:ALTERNATIVES]

    async def _find_alternatives(self, tenant_id: str, day: str, service_id: str) -> list[C.Slot]:
        try:
            reply = await self._availability().FindSlots(
                availability_pb2.FindSlotsRequest(
                    tenant_id=tenant_id, date=day, service_id=service_id, limit=ALTERNATIVES + 1
                ),
                timeout=SERVICE_TO_SERVICE,
            )
        except grpc.aio.AioRpcError:
            return []
        return list(reply.slots or reply.alternatives)

    async def send_code(
        self, tenant_id: str, phone: str, otp_id: str, code: str, language: str = "", clinic_name: str = ""
    ) -> notification_pb2.EnqueueSmsResponse | None:
        """Hand a one-time code to notification (its text starts with the clinic's name, so the
        patient knows who asks); None when it could not be handed over."""
        try:
            stub = self._stubs.notification
            assert stub is not None, "notification stub not wired"
            reply: notification_pb2.EnqueueSmsResponse = await stub.EnqueueSms(
                notification_pb2.EnqueueSmsRequest(
                    tenant_id=tenant_id, to=phone, kind=notification_pb2.MESSAGE_KIND_OTP,
                    dedupe_key=f"otp:{otp_id}", otp_code=code, language=language,
                    appointment=notification_pb2.AppointmentDetails(clinic_name=clinic_name),
                ),
                timeout=SERVICE_TO_SERVICE,
            )  # fmt: skip
        except grpc.aio.AioRpcError as error:
            log.warning(
                "one-time code not handed to notification",
                extra={"phone": mask_phone(phone), "code": error.code().name},
            )
            return None
        return reply
