"""gRPC methods of AvailabilityService (thin: parse, call domain code and repository, build the reply)."""

from __future__ import annotations

import asyncio
import os
import time
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime

import asyncpg
import grpc

from booking.availability.v1 import availability_pb2 as pb
from booking.availability.v1 import availability_pb2_grpc
from booking.common.v1 import common_pb2
from booking.reservation.v1 import reservation_pb2, reservation_pb2_grpc
from common.deadlines import SERVICE_TO_SERVICE
from common.grpc_auth import CachedTenantKeys
from common.sealing import SecretBox
from common.timestamps import Clock, from_timestamp, utc_now
from common.timestamps import to_timestamp as timestamp
from services.availability import phrases, search, slot_ids, validation
from services.availability.busy_feed import BusyFeeds, busy_of, horizon_days
from services.availability.clinic import AppointmentType, Clinic, ClinicConfigError, build_clinic
from services.availability.credentials_repository import CredentialRepository
from services.availability.feed_repository import FeedTokenRepository
from services.availability.feed_tokens import FeedTokenRpcs
from services.availability.language import DEFAULT_LOCALE, day_first, language_of
from services.availability.refusals import NOT_A_SLOT_TIME, Refusal
from services.availability.repository import ClinicRepository
from services.availability.slots import Busy, FreeSlot, is_free_slot, providers_free_at
from services.availability.staff_accounts import Passwords, StaffRpcs
from services.availability.staff_repository import StaffRepository
from services.availability.tenant_credentials import CredentialRpcs, LocalTenantKeys, TenantSecrets

# A clinic's configuration is cached per process; a change made through another
# instance is seen after at most this long (a change through this one, at once).
CLINIC_CACHE_SECONDS = 2.0
MAX_LIMIT = 200
DEFAULT_LIMIT = 20

PARTS = {
    pb.PART_OF_DAY_MORNING: phrases.PartOfDay.MORNING,
    pb.PART_OF_DAY_AFTERNOON: phrases.PartOfDay.AFTERNOON,
    pb.PART_OF_DAY_EVENING: phrases.PartOfDay.EVENING,
}
PART_TO_PROTO = {v: k for k, v in PARTS.items()}


@dataclass
class AvailabilityDeps:
    pool: asyncpg.Pool
    # Set after start in tests, where reservation's port is known only later.
    reservation: reservation_pb2_grpc.ReservationServiceStub | None = None
    clock: Clock = field(default=utc_now)
    # Seals tenants' webhook secrets (SECRET_ENCRYPTION_KEY, checked when the service starts).
    box: SecretBox = field(default_factory=lambda: SecretBox.from_env(os.environ))
    # Busy time from memory (busy_feed.py); None: every question goes to reservation's ListBusy.
    busy_feeds: BusyFeeds | None = None


@dataclass(frozen=True)
class _AskedSlot:
    provider_id: str  # "" = any provider free then
    service_id: str
    start: datetime
    duration_minutes: int | None  # known from a slot id only


@dataclass(frozen=True)
class _Cached:
    clinic: Clinic
    slot_key: bytes
    version: int
    loaded_at: float


class AvailabilityServicer(
    CredentialRpcs, FeedTokenRpcs, StaffRpcs, availability_pb2_grpc.AvailabilityServiceServicer
):
    def __init__(self, deps: AvailabilityDeps) -> None:
        self.deps = deps
        self.repository = ClinicRepository(deps.pool)
        credentials = CredentialRepository(deps.pool)
        self.secrets = TenantSecrets(credentials, deps.box, deps.clock)
        self.tenant_keys = LocalTenantKeys(credentials)
        self.key_cache = CachedTenantKeys(self.tenant_keys.grant_of)  # what this server's interceptor asks
        self.feed_tokens, self.feed_clock = FeedTokenRepository(deps.pool), deps.clock
        self.staff = StaffRepository(deps.pool)
        self.passwords = Passwords()
        self._cache: dict[str, _Cached] = {}
        self._locks: dict[str, asyncio.Lock] = {}

    # --- helpers ---------------------------------------------------------------------------
    async def _clinic(self, tenant_id: str, context: grpc.aio.ServicerContext) -> _Cached:
        if not tenant_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "tenant_id is required")
        cached = self._cache.get(tenant_id)
        if cached is not None and time.monotonic() - cached.loaded_at < CLINIC_CACHE_SECONDS:
            return cached
        lock = self._locks.setdefault(tenant_id, asyncio.Lock())
        async with lock:  # one load per tenant at a time, not one per request
            cached = self._cache.get(tenant_id)
            if cached is not None and time.monotonic() - cached.loaded_at < CLINIC_CACHE_SECONDS:
                return cached
            if cached is not None and await self.repository.version(tenant_id) == cached.version:
                # Unchanged: keep the built clinic and what was derived from it (slots.day_candidates).
                cached = replace(cached, loaded_at=time.monotonic())
                self._cache[tenant_id] = cached
                return cached
            stored = await self.repository.get(tenant_id)
            if stored is None:
                await context.abort(grpc.StatusCode.NOT_FOUND, f"tenant_id: no clinic {tenant_id!r}")
                raise AssertionError("unreachable")
            clinic = build_clinic(stored.config, stored=True)
            cached = _Cached(clinic, stored.slot_key, stored.version, time.monotonic())
            self._cache[tenant_id] = cached
            return cached

    @staticmethod
    async def _service(clinic: Clinic, service_id: str, context: grpc.aio.ServicerContext) -> AppointmentType:
        service = clinic.service(service_id)
        if service is None:
            known = ", ".join(clinic.services)
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"service_id: unknown service {service_id!r} (known: {known})"
            )
            raise AssertionError("unreachable")
        return service

    @staticmethod
    def _slot(cached: _Cached, slot: FreeSlot) -> common_pb2.Slot:
        clinic = cached.clinic
        service = clinic.services[slot.service_id]
        provider = clinic.providers[slot.provider_id]
        ref = slot_ids.SlotRef(
            clinic.tenant_id, slot.provider_id, slot.service_id, slot.start, int(service.duration.total_seconds() // 60)
        )
        return common_pb2.Slot(
            slot_id=slot_ids.encode(ref, cached.slot_key),
            provider_id=slot.provider_id,
            service_id=slot.service_id,
            start=timestamp(slot.start),
            end=timestamp(slot.end),
            timezone=str(clinic.timezone.key),
            local_start=slot.start.astimezone(clinic.timezone).strftime("%Y-%m-%dT%H:%M"),
            provider_spoken_name=provider.spoken_name,
            service_spoken_name=service.spoken_name,
        )

    async def _busy(
        self, cached: _Cached, providers: list[str], start: datetime, end: datetime, context: grpc.aio.ServicerContext
    ) -> dict[str, list[Busy]]:
        """Busy time from memory when this clinic's feed is ready (busy_feed.py), else from ListBusy."""
        feeds, tenant_id = self.deps.busy_feeds, cached.clinic.tenant_id
        known = None if feeds is None else feeds.busy(tenant_id, providers, start, end, horizon_days(cached.clinic))
        if known is not None:
            return known
        stub = self.deps.reservation
        if stub is None:
            await context.abort(grpc.StatusCode.UNAVAILABLE, "reservation service is not configured")
            raise AssertionError("unreachable")
        busy_range = common_pb2.TimeRange(start=timestamp(start), end=timestamp(end))
        request = reservation_pb2.ListBusyRequest(tenant_id=tenant_id, provider_ids=providers, range=busy_range)
        try:
            # Never outlive the caller's own deadline (ValidateSlot is called from inside CreateHold).
            remaining = context.time_remaining()
            timeout = SERVICE_TO_SERVICE if remaining is None else min(SERVICE_TO_SERVICE, remaining)
            reply = await stub.ListBusy(request, timeout=timeout)
        except grpc.aio.AioRpcError as error:
            # Offering slots without knowing what is taken would promise times we can't keep.
            await context.abort(grpc.StatusCode.UNAVAILABLE, f"reservation service unavailable ({error.code().name})")
            raise AssertionError("unreachable") from None
        return busy_of(reply)

    # --- configuration ---------------------------------------------------------------------
    async def UpsertClinic(
        self, request: pb.UpsertClinicRequest, context: grpc.aio.ServicerContext
    ) -> pb.UpsertClinicResponse:
        try:
            clinic = build_clinic(request.clinic)
        except ClinicConfigError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "; ".join(error.errors)[:4000])
            raise AssertionError("unreachable") from None
        config = pb.ClinicConfig()
        config.CopyFrom(request.clinic)
        config.locale = clinic.locale  # stored as GetClinic shows it: canonical, the default filled in
        secret, config.secret = config.secret, ""  # the secret is stored sealed, never with the config
        changed, version = await self.repository.upsert(config)
        secret_changed = await self.secrets.ensure(config.tenant_id, secret)
        self._cache.pop(config.tenant_id, None)
        return pb.UpsertClinicResponse(changed=changed or secret_changed, version=version)

    async def GetClinic(self, request: pb.GetClinicRequest, context: grpc.aio.ServicerContext) -> pb.GetClinicResponse:
        if not request.tenant_id:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "tenant_id is required")
        stored = await self.repository.get(request.tenant_id)
        if stored is None:
            await context.abort(grpc.StatusCode.NOT_FOUND, f"tenant_id: no clinic {request.tenant_id!r}")
            raise AssertionError("unreachable")
        config = pb.ClinicConfig()
        config.CopyFrom(stored.config)
        config.secret = ""  # never stored; cleared again in case
        config.locale = config.locale or DEFAULT_LOCALE  # clinics stored before locales existed
        return pb.GetClinicResponse(clinic=config, version=stored.version)

    async def ListProviders(
        self, request: pb.ListProvidersRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListProvidersResponse:
        stored = await self.GetClinic(pb.GetClinicRequest(tenant_id=request.tenant_id), context)
        return pb.ListProvidersResponse(providers=stored.clinic.providers)

    async def ListServices(
        self, request: pb.ListServicesRequest, context: grpc.aio.ServicerContext
    ) -> pb.ListServicesResponse:
        stored = await self.GetClinic(pb.GetClinicRequest(tenant_id=request.tenant_id), context)
        return pb.ListServicesResponse(services=stored.clinic.services)

    async def GetBookingRules(
        self, request: pb.GetBookingRulesRequest, context: grpc.aio.ServicerContext
    ) -> pb.GetBookingRulesResponse:
        cached = await self._clinic(request.tenant_id, context)
        clinic = cached.clinic
        rules = clinic.rules
        if request.service_id:
            rules = (await self._service(clinic, request.service_id, context)).rules
        return pb.GetBookingRulesResponse(
            rules=rules.to_proto(),
            clinic_name=clinic.name,
            timezone=str(clinic.timezone.key),
            default_region=clinic.default_region,
            sms_countries=list(clinic.sms_countries),
        )

    # --- slots -----------------------------------------------------------------------------
    async def FindSlots(self, request: pb.FindSlotsRequest, context: grpc.aio.ServicerContext) -> pb.FindSlotsResponse:
        cached = await self._clinic(request.tenant_id, context)
        clinic = cached.clinic
        service = await self._service(clinic, request.service_id, context)
        if request.provider_id and request.provider_id not in clinic.providers:
            await context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"provider_id: unknown provider {request.provider_id!r}"
            )
        if request.limit < 0:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "limit: must not be negative")
        now = self.deps.clock()
        try:
            wanted = await _wanted_days(request, clinic, now.astimezone(clinic.timezone), context)
        except phrases.DateMismatch as mismatch:  # "Tuesday the 4th", a Wednesday: ask which one
            return _date_mismatch(clinic, mismatch)
        part = PARTS.get(request.part_of_day) or (wanted.part_of_day if wanted else None)
        the_plan = search.plan(clinic, service, wanted, now)
        asked = search.Search(
            clinic,
            service,
            now,
            provider_ids=(request.provider_id,) if request.provider_id else service.provider_ids,
            part=part,
            near=_near(clinic, wanted) if the_plan.refusal is None else None,
            limit=min(request.limit or DEFAULT_LIMIT, MAX_LIMIT),
            after=wanted.after if wanted else None,
            before=wanted.before if wanted else None,
        )
        slots = await self._requested_slots(cached, asked, the_plan, context)
        alternatives: list[FreeSlot] = []
        if not slots:  # a second, rarer round trip: only when the asked-for days are full
            busy = await self._busy(cached, list(asked.provider_ids), *the_plan.alternatives_range(clinic), context)
            alternatives = search.alternative_slots(asked, the_plan, busy)
        reply = pb.FindSlotsResponse(
            slots=[self._slot(cached, s) for s in slots],
            alternatives=[self._slot(cached, s) for s in alternatives],
            from_date=the_plan.first_day.isoformat(),
            to_date=the_plan.last_day.isoformat(),
            timezone=str(clinic.timezone.key),
            part_of_day=PART_TO_PROTO.get(part, pb.PART_OF_DAY_UNSPECIFIED) if part else pb.PART_OF_DAY_UNSPECIFIED,
        )
        if the_plan.refusal is not None:
            reply.failure.CopyFrom(_failure(the_plan.refusal))
        if asked.near is not None:
            reply.asked_time.CopyFrom(timestamp(asked.near))
        return reply

    async def _requested_slots(
        self, cached: _Cached, asked: search.Search, the_plan: search.Plan, context: grpc.aio.ServicerContext
    ) -> list[FreeSlot]:
        if the_plan.refusal is not None:
            return []
        slots: list[FreeSlot] = []
        # The first day usually fills the answer: fetch its busy time alone, the rest only if needed.
        for chunk in search.chunks(the_plan):
            busy = await self._busy(cached, list(asked.provider_ids), *chunk.requested_range(asked.clinic), context)
            slots += search.requested_slots(asked, chunk, busy, asked.limit - len(slots))
            if len(slots) >= asked.limit:
                break
        return slots

    async def ValidateSlot(
        self, request: pb.ValidateSlotRequest, context: grpc.aio.ServicerContext
    ) -> pb.ValidateSlotResponse:
        cached = await self._clinic(request.tenant_id, context)
        clinic = cached.clinic
        asked = await self._asked_slot(request, cached, context)
        service = clinic.service(asked.service_id)
        now = self.deps.clock()
        start = asked.start
        refusal = validation.check_time(clinic, service, asked.provider_id, start, asked.duration_minutes, now)
        if refusal is not None:
            return _refuse(refusal)
        assert service is not None  # check_time refuses an unknown service
        provider_id = asked.provider_id
        if not provider_id:
            # Any provider: the first in clinic order who works then and is not busy (one ListBusy call).
            working = providers_free_at(clinic, service, start, now)
            taken = validation.occupied(service, start)
            busy = await self._busy(cached, working, *taken, context) if working else {}
            provider_id, refusal = validation.first_free(working, busy, taken)
            if refusal is not None:
                return _refuse(refusal)
        elif not is_free_slot(clinic, service, provider_id, start, now):
            return _refuse(NOT_A_SLOT_TIME)
        slot = FreeSlot(provider_id, service.service_id, start, start + service.duration)
        occupied_start, occupied_end = validation.occupied(service, start)
        return pb.ValidateSlotResponse(
            bookable=True,
            slot=self._slot(cached, slot),
            occupied=common_pb2.TimeRange(start=timestamp(occupied_start), end=timestamp(occupied_end)),
            rules=service.rules.to_proto(),
        )

    @staticmethod
    async def _asked_slot(
        request: pb.ValidateSlotRequest, cached: _Cached, context: grpc.aio.ServicerContext
    ) -> _AskedSlot:
        if request.slot_id:
            try:
                ref = slot_ids.decode(request.slot_id, cached.slot_key, cached.clinic.tenant_id)
            except slot_ids.SlotIdError as error:
                await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"slot_id: {error}")
                raise AssertionError("unreachable") from None
            return _AskedSlot(ref.provider_id, ref.service_id, ref.start, ref.duration_minutes)
        if not request.HasField("start"):
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "start: required without slot_id")
        try:
            start = from_timestamp(request.start)
        except OverflowError:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "start: out of range")
            raise AssertionError("unreachable") from None
        return _AskedSlot(request.provider_id, request.service_id, start, None)


async def _wanted_days(
    request: pb.FindSlotsRequest, clinic: Clinic, local_now: datetime, context: grpc.aio.ServicerContext
) -> phrases.DateRequest | None:
    """The days asked for (None: no date given), or INVALID_ARGUMENT naming the unreadable field."""
    language = language_of(request.language or clinic.locale)
    if language is None:
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"language: {request.language!r} is not en or es")
        raise AssertionError("unreachable")
    reading = phrases.Reading(language, day_first(clinic.locale, language))
    try:
        if request.from_date:
            first = phrases.resolve(request.from_date, local_now, reading)
            last = phrases.resolve(request.to_date, local_now, reading) if request.to_date else first
            return replace(first, end=max(first.end, last.end), at=None, in_past=first.in_past and last.in_past)
        if request.date:
            return phrases.resolve(request.date, local_now, reading)
    except phrases.DateMismatch:
        raise
    except phrases.PhraseError as error:
        field_name = "from_date" if request.from_date else "date"
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, f"{field_name}: {error}")
    return None


def _near(clinic: Clinic, wanted: phrases.DateRequest | None) -> datetime | None:
    """The time asked for ("at 3 pm"), UTC; only asked for days inside the booking window."""
    if wanted is None or wanted.at is None:
        return None
    return datetime.combine(wanted.start, wanted.at, tzinfo=clinic.timezone).astimezone(UTC)


def _date_mismatch(clinic: Clinic, mismatch: phrases.DateMismatch) -> pb.FindSlotsResponse:
    """DATE_MISMATCH: reason = the weekday said, from_date = to_date = the date said."""
    said = mismatch.day.isoformat()
    reply = pb.FindSlotsResponse(from_date=said, to_date=said, timezone=str(clinic.timezone.key))
    reply.failure.CopyFrom(_failure(Refusal("DATE_MISMATCH", phrases.WEEKDAY_NAMES[mismatch.said_weekday])))
    return reply


def _failure(refusal: Refusal) -> common_pb2.Failure:
    # The contract's cause and reason only: the gateway's speech layer words them.
    return common_pb2.Failure(
        cause=common_pb2.FailureCause.Value(f"FAILURE_CAUSE_{refusal.cause}"), reason=refusal.reason
    )


def _refuse(refusal: Refusal) -> pb.ValidateSlotResponse:
    return pb.ValidateSlotResponse(bookable=False, failure=_failure(refusal))
