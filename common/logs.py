"""Structured JSON logs to stdout, with the request id of the current call.

The request id lives in a contextvar set by the gRPC server interceptor (from the
`x-request-id` metadata) or by the gateway, and is sent on every outbound gRPC call. When
tracing is on (common/tracing.py) each line also carries `trace_id` and `span_id`, and a request
id made inside a trace is its trace id: one id finds the call's log lines and its trace.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import json
import logging
import sys
import uuid
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

request_id_var: contextvars.ContextVar[str] = contextvars.ContextVar("request_id", default="")

REQUEST_ID_HEADER = "x-request-id"

# Attributes every LogRecord has; anything else passed via `extra=` is emitted as a field.
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


# The current (trace id, span id) as hex, or None; set only when tracing is on.
TraceIds = Callable[[], tuple[str, str] | None]
_trace_ids: TraceIds | None = None


def use_trace_ids(current: TraceIds) -> None:
    global _trace_ids  # noqa: PLW0603 - set once at start, by common/tracing.py
    _trace_ids = current


def new_request_id() -> str:
    """The current trace's id when tracing is on (same 32 hex digits), else a random one."""
    ids = _trace_ids() if _trace_ids is not None else None
    return ids[0] if ids else uuid.uuid4().hex


class JsonFormatter(logging.Formatter):
    def __init__(self, service: str) -> None:
        super().__init__()
        self.service = service

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "service": self.service,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        ids = _trace_ids() if _trace_ids is not None else None
        if ids:
            entry["trace_id"], entry["span_id"] = ids
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


class CoalescingStreamHandler(logging.StreamHandler):  # type: ignore[type-arg]
    """Lines logged while the event loop runs one round of callbacks go out together in one write
    when that round ends: under load, a system call (and a wake-up of whatever reads the stream)
    per round instead of per line — the access lines were a tenth of a service's CPU. A line is
    never held past the loop round that logged it; without a running loop (start-up, other
    threads, exit) it is written at once, after any still waiting."""

    def __init__(self, stream: Any) -> None:
        super().__init__(stream)
        self._waiting: list[str] = []
        self._flushing_on: asyncio.AbstractEventLoop | None = None

    def emit(self, record: logging.LogRecord) -> None:  # called under self.lock (Handler.handle)
        try:
            self._waiting.append(self.format(record) + self.terminator)
        except Exception:  # logging never raises into the caller
            self.handleError(record)
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._write_waiting()
            return
        if self._flushing_on is not loop:
            self._flushing_on = loop
            loop.call_soon(self._end_of_round, loop)

    def _end_of_round(self, loop: asyncio.AbstractEventLoop) -> None:
        with self.lock:  # type: ignore[union-attr]
            if self._flushing_on is loop:
                self._flushing_on = None
            self._write_waiting()

    def _write_waiting(self) -> None:
        if not self._waiting:
            return
        text = "".join(self._waiting)
        self._waiting.clear()
        with contextlib.suppress(OSError, ValueError):  # a closed or broken stdout must not stop the service
            self.stream.write(text)
            self.stream.flush()

    def flush(self) -> None:
        with self.lock:  # type: ignore[union-attr]
            self._write_waiting()
        super().flush()


def configure_logging(service: str, level: str = "INFO") -> None:
    handler = CoalescingStreamHandler(sys.stdout)
    handler.setFormatter(JsonFormatter(service))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # asyncpg/grpc/aiohttp are chatty at INFO about internals callers don't need.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    # The twilio library logs every API request at INFO, line by line (URL, headers): noise, and
    # a tenth of the notification service's CPU under load.
    logging.getLogger("twilio").setLevel(logging.WARNING)


def mask_phone(phone: str) -> str:
    """Keep only the last two digits: logs never carry a full phone number."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) <= 2:
        return "*" * len(digits)
    return "*" * (len(digits) - 2) + "".join(digits[-2:])


def detached_task(work: Coroutine[Any, Any, None], *, name: str) -> asyncio.Task[None]:
    """A long-lived task that belongs to no request. A task copies the context it is created in, so
    one started lazily while serving a request (a clinic's feed, a console's stream) would otherwise
    carry that request's id in its log lines and its trace for its whole life."""
    return asyncio.get_running_loop().create_task(work, name=name, context=contextvars.Context())
