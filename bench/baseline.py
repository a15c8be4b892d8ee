"""The bare-stack limit: one aiohttp process answering the same `check_availability` and
`reserve_slot` Vapi bodies with the same domain code and SQL, straight to asyncpg, no gRPC hops.

    DATABASE_URL=... BASELINE_PORT=0 python -m bench.baseline
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

from bench.common import serve_until_stopped
from common.db import create_pool
from common.logs import configure_logging
from gateway.auth import secret_matches
from services.availability import phrases, search, slot_ids
from services.availability.clinic import build_clinic
from services.availability.repository import ClinicRepository
from services.availability.slots import Busy, is_free_slot

log = logging.getLogger("bench.baseline")


# The bench clinic's secret (bench/e2e.py); the bare baseline keeps it in memory, the gateway sealed.
SECRET = os.environ.get("BENCH_TENANT_SECRET", "bench-secret-0123456789")


async def serve() -> None:
    pool = await create_pool(os.environ["DATABASE_URL"], max_size=20)
    repo = ClinicRepository(pool)
    clinics: dict[str, Any] = {}

    async def clinic_of(tenant: str) -> Any:
        if tenant not in clinics:
            stored = await repo.get(tenant)
            assert stored is not None
            clinics[tenant] = (build_clinic(stored.config, stored=True), stored.slot_key, "")
        return clinics[tenant]

    async def check(tenant: str, args: dict[str, Any]) -> dict[str, Any]:
        clinic, key, _ = await clinic_of(tenant)
        service = clinic.service("")
        now = datetime.now(UTC)
        wanted = phrases.resolve(args["from"], now.astimezone(clinic.timezone)) if args.get("from") else None
        if wanted and args.get("to"):
            end = phrases.resolve(args["to"], now.astimezone(clinic.timezone))
            wanted = phrases.DateRequest(wanted.start, end.end)
        plan = search.plan(clinic, service, wanted, now)
        range_start, range_end = plan.requested_range(clinic)
        rows = await pool.fetch(
            "SELECT provider_id, lower(occupied) s, upper(occupied) e FROM reservation.reservations WHERE tenant_id = $1 "
            "AND occupied && tstzrange($2, $3) AND (status = 'CONFIRMED' OR (status = 'HELD' AND hold_expires_at > $4))",
            tenant, range_start, range_end, now,
        )  # fmt: skip
        busy: dict[str, list[Busy]] = {}
        for r in rows:
            busy.setdefault(r["provider_id"], []).append(Busy(r["s"], r["e"]))
        slots = search.requested_slots(search.Search(clinic, service, now), plan, busy, int(args.get("limit", 10)))
        minutes = int(service.duration.total_seconds() // 60)
        return {
            "ok": True,
            "speech": f"I have {len(slots)} times.",
            "slots": [
                {"slot_id": slot_ids.encode(slot_ids.SlotRef(tenant, s.provider_id, s.service_id, s.start, minutes), key),
                 "start": s.start.isoformat()}
                for s in slots
            ],
        }  # fmt: skip

    async def reserve(tenant: str, args: dict[str, Any], call_id: str) -> dict[str, Any]:
        clinic, key, _ = await clinic_of(tenant)
        ref = slot_ids.decode(args["slot_id"], key, tenant)
        service = clinic.services[ref.service_id]
        now = datetime.now(UTC)
        if not is_free_slot(clinic, service, ref.provider_id, ref.start, now):
            return {"ok": False, "cause": "SLOT_UNAVAILABLE"}
        end_at = ref.start + service.duration
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(
                "SELECT pg_advisory_xact_lock(hashtextextended($1, 0))", f"{tenant}\x1fprovider\x1f{ref.provider_id}"
            )
            await conn.execute(
                "UPDATE reservation.reservations SET status = 'RELEASED' WHERE tenant_id = $1 AND call_id = $2 AND status = 'HELD'",
                tenant, call_id,
            )  # fmt: skip
            try:
                async with conn.transaction():
                    hold_id = await conn.fetchval(
                        """
                        INSERT INTO reservation.reservations (tenant_id, provider_id, service_id, starts_at, ends_at,
                            occupied, timezone, status, call_id, hold_expires_at)
                        VALUES ($1, $2, $3, $4, $5, tstzrange($6, $7), $8, 'HELD', $9, $10) RETURNING reservation_id
                        """,
                        tenant, ref.provider_id, ref.service_id, ref.start, end_at, ref.start - service.buffer_before,
                        end_at + service.buffer_after, clinic.timezone.key, call_id, now + timedelta(minutes=10),
                    )  # fmt: skip
            except Exception:  # the exclusion constraint said no
                return {"ok": False, "cause": "SLOT_UNAVAILABLE"}
        return {"ok": True, "hold_id": str(hold_id), "speech": "Held."}

    async def vapi(request: web.Request) -> web.Response:
        tenant = request.match_info["tenant"]
        raw = await request.read()
        await clinic_of(tenant)
        if not secret_matches(request.headers.get("Authorization", "")[7:], [SECRET]):
            raise web.HTTPUnauthorized()
        message = json.loads(raw)["message"]
        results = []
        for call in message["toolCallList"]:
            name, args = call["function"]["name"], call["function"]["arguments"]
            if name == "check_availability":
                result = await check(tenant, args)
            else:
                result = await reserve(tenant, args, message["call"]["id"])
            results.append({"toolCallId": call["id"], "name": name, "result": json.dumps(result)})
        return web.json_response({"results": results})

    app = web.Application()
    app.router.add_post("/vapi/{tenant}", vapi)
    await serve_until_stopped(app, "BASELINE_PORT", log)
    await pool.close()


if __name__ == "__main__":
    configure_logging("baseline", "INFO")
    asyncio.run(serve())
