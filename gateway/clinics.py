"""What the gateway needs to know about a clinic (name, zone, phone region, services,
providers), fetched from availability and cached briefly."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import NamedTuple
from zoneinfo import ZoneInfo

from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from common.deadlines import LOOKUP
from common.lru import TtlLru
from gateway import speech

CACHE_SECONDS = 30.0
CACHE_SIZE = 1024


@dataclass(frozen=True)
class ClinicInfo:
    tenant_id: str
    name: str
    timezone: ZoneInfo
    default_region: str
    rules: apb.BookingRules
    services: tuple[Named, ...]
    providers: tuple[Named, ...]
    config: apb.ClinicConfig

    @property
    def language(self) -> str:
        """The clinic's default language, from its locale ("es-US" -> "es"; "" -> English)."""
        return speech.language_of(self.config.locale)

    def find_service(self, text: str) -> Named | None:
        return _match(text, self.services)

    def find_provider(self, text: str) -> Named | None:
        return _match(text, self.providers)


class Named(NamedTuple):
    """A service or a provider: its id, its name, and how the assistant says it."""

    id: str
    name: str
    spoken_name: str


def _norm(text: str) -> str:
    text = re.sub(r"[^a-z0-9 ]", " ", text.lower())
    text = re.sub(r"\b(a|an|the|dr|doctor|appointment|with)\b", " ", text)
    return " ".join(text.split())


def _match(text: str, items: tuple[Named, ...]) -> Named | None:
    """By id, then name, then a unique partial match ("cleaning" -> "Dental cleaning")."""
    if not text.strip():
        return None
    for item in items:
        if text.strip().lower() == item.id:
            return item
    wanted = _norm(text)
    if not wanted:
        return None
    for item in items:
        if wanted in (_norm(item.name), _norm(item.spoken_name), _norm(item.id)):
            return item
    partial = [i for i in items if wanted in _norm(i.name) or wanted in _norm(i.spoken_name) or _norm(i.name) in wanted]
    return partial[0] if len(partial) == 1 else None


class ClinicDirectory:
    def __init__(self, stub: Callable[[], availability_pb2_grpc.AvailabilityServiceStub]) -> None:
        self.stub = stub  # read at call time: channels open when the app starts
        # Bounded: only authenticated tenants reach here, but memory must not grow with them.
        self._cache: TtlLru[str, ClinicInfo] = TtlLru(CACHE_SIZE, CACHE_SECONDS)
        self._locks: TtlLru[str, asyncio.Lock] = TtlLru(CACHE_SIZE, 60.0)

    async def get(self, tenant: str) -> ClinicInfo:
        cached = self._cache.get(tenant)
        if cached is not None:
            return cached
        async with self._locks.get_or_put(tenant, asyncio.Lock):
            cached = self._cache.get(tenant)
            if cached is not None:
                return cached
            stub = self.stub()
            clinic, rules = await asyncio.gather(
                stub.GetClinic(apb.GetClinicRequest(tenant_id=tenant), timeout=LOOKUP),
                stub.GetBookingRules(apb.GetBookingRulesRequest(tenant_id=tenant), timeout=LOOKUP),
            )
            config = clinic.clinic
            info = ClinicInfo(
                tenant_id=tenant,
                name=config.name,
                timezone=ZoneInfo(config.timezone),
                default_region=config.default_region or "US",
                rules=rules.rules,
                services=tuple(Named(s.id, s.name, s.spoken_name or s.name) for s in config.services),
                providers=tuple(Named(p.id, p.name, p.spoken_name or p.name) for p in config.providers),
                config=config,
            )
            self._cache.put(tenant, info)
            return info
