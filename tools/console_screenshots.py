"""Screenshots of the staff console for the README, generated (never hand-made):

    .venv/bin/python -m tools.console_screenshots        # writes docs/console-*.png

Starts the four processes against a fresh database (embedded PostgreSQL unless DATABASE_URL is
set), loads the demo clinic, adds a staff account, seeds next Monday with appointments, a hold
and blocked time, then signs in with Debian's Chromium (Playwright's Python API) and saves the
sign-in page, the day view and an appointment's change form."""

from __future__ import annotations

import asyncio
import os
import sys
from datetime import date, datetime, time, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from bench.common import bench_database
from booking.availability.v1 import availability_pb2 as apb
from booking.availability.v1 import availability_pb2_grpc
from booking.common.v1 import common_pb2 as C
from booking.reservation.v1 import reservation_pb2 as rpb
from booking.reservation.v1 import reservation_pb2_grpc
from common.grpc_client import open_channel
from common.timestamps import to_timestamp
from devkit.processes import ROOT
from devkit.real_stack import RealStack
from services.availability.clinic_file import load_clinic_file

DOCS = ROOT / "docs"
CHROMIUM = "/usr/bin/chromium"
EMAIL, PASSWORD = "frontdesk@demo.example", "screenshots-only-password"
NY = ZoneInfo("America/New_York")
DESK = rpb.StaffAction(actor="console:frontdesk@demo.example", reason="seeded for the screenshots")
# (provider, service, hour, minute, patient)
BOOKINGS = [
    ("dr-lee", "cleaning", 9, 0, "Ada Lovelace"), ("dr-lee", "checkup", 10, 30, "Alan Turing"),
    ("dr-lee", "cleaning", 14, 0, "Grace Hopper"), ("dr-patel", "checkup", 10, 0, "Katherine Johnson"),
    ("dr-patel", "checkup", 15, 0, "Edsger Dijkstra"), ("dr-okafor", "consult", 14, 30, "Barbara Liskov"),
    ("dr-okafor", "consult", 16, 0, "Donald Knuth"),
]  # fmt: skip


def next_monday(today: date) -> date:
    return today + timedelta(days=(7 - today.weekday()) % 7 or 7)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    return datetime.combine(day, time(hour, minute), NY)


async def seed(stack: RealStack, day: date) -> None:
    async with open_channel(stack.env["AVAILABILITY_ADDR"]) as channel:
        availability = availability_pb2_grpc.AvailabilityServiceStub(channel)
        secret = {"DEMO_TENANT_SECRET": "screenshots-secret-0123456789"}
        clinic = load_clinic_file(ROOT / "clinics" / "demo.yaml", secret)
        await availability.UpsertClinic(apb.UpsertClinicRequest(clinic=clinic))
        await availability.CreateStaffAccount(
            apb.CreateStaffAccountRequest(tenant_id="demo", email=EMAIL, password=PASSWORD, replace=True)
        )
    async with open_channel(stack.env["RESERVATION_ADDR"]) as channel:
        reservation = reservation_pb2_grpc.ReservationServiceStub(channel)
        for provider, service, hour, minute, name in BOOKINGS:
            await reservation.StaffBook(rpb.StaffBookRequest(
                tenant_id="demo", provider_id=provider, service_id=service, start=to_timestamp(at(day, hour, minute)),
                patient=rpb.Patient(name=name), action=DESK, idempotency_key=f"shot-{name}",
            ))  # fmt: skip
        await reservation.CreateHold(rpb.CreateHoldRequest(
            tenant_id="demo", provider_id="dr-patel", service_id="cleaning", start=to_timestamp(at(day, 16, 0)),
            call_id="screenshot-call", patient=rpb.Patient(name="Margaret Hamilton"),
        ))  # fmt: skip
        span = C.TimeRange(start=to_timestamp(at(day, 12, 0)), end=to_timestamp(at(day, 13, 0)))
        await reservation.BlockTime(rpb.BlockTimeRequest(
            tenant_id="demo", provider_id="dr-okafor", action=rpb.StaffAction(actor=DESK.actor, reason="Team meeting"),
            range=span,
        ))  # fmt: skip


async def shoot(url: str, day: date) -> list[Path]:
    from playwright.async_api import async_playwright

    saved = [DOCS / "console-login.png", DOCS / "console-day.png", DOCS / "console-change.png"]
    async with async_playwright() as driver:
        args = ["--lang=en-US", *(["--no-sandbox"] if os.geteuid() == 0 else [])]
        browser = await driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        page = await browser.new_page(viewport={"width": 1280, "height": 900})
        await page.goto(f"{url}/console/demo/login")
        await page.get_by_label("Email").fill(EMAIL)
        await page.screenshot(path=saved[0])
        await page.get_by_label("Password").fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()
        await page.wait_for_url("**/console/demo/")
        await page.goto(f"{url}/console/demo/?date={day.isoformat()}")
        await page.get_by_text("Ada Lovelace", exact=True).wait_for()
        await page.wait_for_timeout(500)
        await page.screenshot(path=saved[1], full_page=True)
        await page.locator(".item.appointment summary").first.click()
        await page.screenshot(path=saved[2])
        await browser.close()
    return saved


async def main() -> int:
    day = next_monday(datetime.now(NY).date())
    async with bench_database() as database_url:
        stack = RealStack.configure(database_url, {"CONSOLE_SESSION_KEY": os.environ["CONSOLE_SESSION_KEY"]})
        await stack.start_all()
        try:
            await seed(stack, day)
            for path in await shoot(stack.gateway_url, day):
                print(f"wrote {path.relative_to(ROOT)}")
        finally:
            await stack.stop_all()
    return 0


if __name__ == "__main__":
    if not os.path.exists(CHROMIUM):
        print(f"console_screenshots: needs Chromium at {CHROMIUM} (apt-get install chromium)", file=sys.stderr)
        sys.exit(2)
    sys.exit(asyncio.run(main()))
