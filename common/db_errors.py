"""One line instead of a traceback when the database cannot be used at start.

A wrong DATABASE_URL used to end a service, `migrate` or `purge` with an asyncpg traceback; the
operator needs only where it tried to connect (host and port, never the password) and why.
"""

from __future__ import annotations

from urllib.parse import urlsplit

import asyncpg

# What connecting and the first statements raise: refused/unknown host/timeout (OSError, incl.
# TimeoutError), a malformed DSN (InterfaceError), bad credentials or a missing database (PostgresError).
DATABASE_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError)
DEFAULT_PORT = 5432


def database_address(dsn: str) -> str:
    """`host:port` of a PostgreSQL URL (the first host of a list; the socket directory for
    `?host=/path`), without the user name or password."""
    parts = urlsplit(dsn)
    location = parts.netloc.rpartition("@")[2].split(",")[0]
    if not location:
        query_host = next((v for k, _, v in (p.partition("=") for p in parts.query.split("&")) if k == "host"), "")
        location = query_host or "localhost"
    if ":" not in location.rpartition("]")[2]:
        location = f"{location}:{DEFAULT_PORT}"
    return location


def describe(dsn: str, error: BaseException) -> str:
    """e.g. `database at db.internal:5432 unreachable: ConnectionRefusedError: [Errno 111] …`."""
    detail = (str(error) or type(error).__name__).splitlines()[0]
    return f"database at {database_address(dsn)} unreachable: {type(error).__name__}: {detail}"
