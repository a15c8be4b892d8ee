"""Per-tenant API keys for a clinic's own systems. Pure: no I/O.

A key reads `bk_<tenant>_<64 hex>`: the tenant is visible (so a server knows which tenant's keys
to look in, and operators can tell keys apart) and 256 random bits make it unguessable. Only its
SHA-256 is stored — enough for a random key of that length (nothing to brute-force), and unlike a
password hash it costs nothing per request.
"""

from __future__ import annotations

import hashlib
import re
import secrets

PREFIX = "bk_"
KEY = re.compile(r"^bk_([a-z0-9][a-z0-9-]{0,62})_([0-9a-f]{64})$")


def new_key(tenant_id: str) -> str:
    return f"{PREFIX}{tenant_id}_{secrets.token_hex(32)}"


def tenant_of(key: str) -> str | None:
    """The tenant a well-formed key names (not yet proof it is valid), else None."""
    match = KEY.match(key)
    return match.group(1) if match else None


def digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def shown(key: str) -> str:
    """What listings show of a key: enough to recognise it, useless to use."""
    return key[: len(PREFIX)] + key[len(PREFIX) :].rsplit("_", 1)[0] + "_" + key.rsplit("_", 1)[1][:6] + "…"
