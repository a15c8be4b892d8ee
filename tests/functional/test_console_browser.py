"""The staff console in a real headless Chromium (Debian's `chromium`, driven by Playwright's
Python API; never `playwright install`): sign in, see a booking made through /vapi/demo appear
live without a reload, cancel it from the console, and a new caller is offered the time again."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
if not os.path.exists(CHROMIUM):
    pytest.skip("browser tests skipped: no Chromium at /usr/bin/chromium (apt-get install chromium)",
                allow_module_level=True)  # fmt: skip
playwright_api = pytest.importorskip("playwright.async_api", reason="browser tests skipped: playwright not installed")

from playwright.async_api import Browser, async_playwright, expect  # noqa: E402

from tests.conftest import Clock, GatewayClient, Stack  # noqa: E402
from tests.functional.console_client import EMAIL, PASSWORD, console_gateway  # noqa: E402
from tests.functional.test_console import TUESDAY, book_by_phone  # noqa: E402
from tests.functional.vapi_client import call_tool  # noqa: E402

LIVE_WITHIN_MS = 1000


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as driver:
        args = ["--lang=en-US", *(["--no-sandbox"] if os.geteuid() == 0 else [])]
        chromium = await driver.chromium.launch(executable_path=CHROMIUM, headless=True, args=args)
        yield chromium
        await chromium.close()


async def sign_in_page(browser: Browser, client: GatewayClient) -> Any:
    page = await browser.new_page()
    await page.goto(str(client.make_url("/console/demo/login")))
    await page.get_by_label("Email").fill(EMAIL)
    await page.get_by_label("Password").fill(PASSWORD)
    await page.get_by_role("button", name="Sign in").click()
    await page.wait_for_url("**/console/demo/")
    await page.goto(str(client.make_url(f"/console/demo/?date={TUESDAY}")))
    await expect(page.get_by_role("heading", name="Dr. Amy Lee")).to_be_visible()
    return page


@pytest.mark.timeout(120)
async def test_a_phone_booking_appears_live_and_a_cancel_from_the_console_frees_the_time(
    stack: Stack, clock: Clock, browser: Browser
) -> None:
    async with console_gateway(stack, clock) as client:
        page = await sign_in_page(browser, client)
        grid = page.locator("#grid")
        await expect(grid.get_by_text("Ada Lovelace", exact=True)).to_have_count(0)
        await page.wait_for_timeout(300)  # the page's event stream is open

        slot = await book_by_phone(client)
        booked_at = time.monotonic()
        await expect(grid.get_by_text("Ada Lovelace", exact=True)).to_be_visible(timeout=LIVE_WITHIN_MS)
        seen_after = time.monotonic() - booked_at
        print(f"booking visible in the console {seen_after * 1000:.0f} ms after confirm_booking returned")
        assert seen_after < LIVE_WITHIN_MS / 1000

        item = grid.locator(f'[data-id="{slot["appointment_id"]}"]')
        await item.locator("summary").click()
        await item.locator("form.cancel").get_by_label("Reason").fill("patient called back")
        await item.get_by_role("button", name="Cancel appointment").click()
        await expect(page.get_by_role("status").filter(has_text="Cancelled.")).to_be_visible()
        await expect(grid.get_by_text("Ada Lovelace", exact=True)).to_have_count(0)

        again = await call_tool(client, "check_availability", {"date": "Tuesday", "service": "video consultation"},
                                call_id="call-new-caller", caller="+12125550199")  # fmt: skip
        assert slot["start"] in [s["start"] for s in again["slots"]]


async def tab_to(page: Any, name: str) -> None:
    """Tab until the field named `name` has focus (Tab also steps through a time field's parts)."""
    for _ in range(5):
        await page.keyboard.press("Tab")
        if await page.evaluate("document.activeElement.name") == name:
            return
    raise AssertionError(f"Tab never reached {name!r}")


@pytest.mark.timeout(120)
async def test_the_console_is_usable_with_the_keyboard_alone(stack: Stack, clock: Clock, browser: Browser) -> None:
    async with console_gateway(stack, clock) as client:
        page = await browser.new_page()
        await page.goto(str(client.make_url("/console/demo/login")))
        await page.keyboard.type(EMAIL)  # the email field has focus when the page opens
        await page.keyboard.press("Tab")
        await page.keyboard.type(PASSWORD)
        await page.keyboard.press("Enter")
        await page.wait_for_url("**/console/demo/")
        block = page.locator("form.block")
        await block.get_by_label("From").focus()
        await page.keyboard.type("1000A")  # hh mm AM/PM, as Chromium shows time fields in en-US
        await tab_to(page, "end")
        await page.keyboard.type("1100A")
        await tab_to(page, "reason")
        await page.keyboard.type("team meeting")
        assert [await block.get_by_label(n).input_value() for n in ("From", "To")] == ["10:00", "11:00"]
        await page.keyboard.press("Enter")
        await expect(page.get_by_role("status").filter(has_text="Time blocked.")).to_be_visible()
        await expect(page.locator("#grid").get_by_text("team meeting")).to_be_visible()
