"""Helpers to use the staff console over HTTP like a browser would (cookies, form tokens)."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from booking.availability.v1 import availability_pb2 as apb
from tests.conftest import Clock, GatewayClient, Stack
from tests.functional.vapi_client import gateway_client, load_demo

CONSOLE_KEY = "console-session-key-for-tests-0123456789abcdef"
EMAIL = "anna@demo.test"
PASSWORD = "correct horse battery staple"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def add_staff(stack: Stack, tenant: str = "demo", email: str = EMAIL, password: str = PASSWORD) -> None:
    await stack.availability_stub.CreateStaffAccount(
        apb.CreateStaffAccountRequest(tenant_id=tenant, email=email, password=password)
    )


@asynccontextmanager
async def console_gateway(stack: Stack, clock: Clock, **config: Any) -> AsyncIterator[GatewayClient]:
    """The demo clinic with one staff account, and a gateway with the console on."""
    await load_demo(stack, clock)
    await add_staff(stack)
    async with gateway_client(stack, clock, console_session_key=CONSOLE_KEY, **config) as client:
        yield client


def form_token(page: str) -> str:
    found = CSRF.search(page)
    assert found, page[:500]
    return found.group(1)


async def sign_in(
    client: GatewayClient, tenant: str = "demo", email: str = EMAIL, password: str = PASSWORD, **headers: str
) -> Any:
    """The sign-in page, then its form posted (the reply, redirects not followed)."""
    page = await client.get(f"/console/{tenant}/login")
    assert page.status == 200
    token = form_token(await page.text())
    return await client.post(
        f"/console/{tenant}/login", data={"csrf": token, "email": email, "password": password},
        allow_redirects=False, headers=headers,
    )  # fmt: skip


async def day_page(client: GatewayClient, date: str = "2026-11-24", tenant: str = "demo") -> str:
    reply = await client.get(f"/console/{tenant}/?date={date}", allow_redirects=False)
    assert reply.status == 200, reply.status
    return await reply.text()
