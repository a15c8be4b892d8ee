"""Checks of a request's shape shared by every method (a malformed request is INVALID_ARGUMENT)."""

from __future__ import annotations

import re

import grpc

from common.grpc_errors import invalid

LANGUAGE = re.compile(r"[a-z]{2}")


async def require(context: grpc.aio.ServicerContext, **fields: str) -> None:
    """Abort naming the first empty field, in the order given."""
    for name, value in fields.items():
        if not value:
            await invalid(context, f"{name} is required")


async def language(context: grpc.aio.ServicerContext, field: str, value: str) -> str:
    """A language of texts: "" (the default) or a two-letter code; "es-US" is read as "es"."""
    code = value.strip().lower().replace("_", "-").split("-", 1)[0]
    if code and not LANGUAGE.fullmatch(code):
        await invalid(context, f"{field}: {value[:20]!r} is not a language code such as 'en' or 'es'")
    return code
