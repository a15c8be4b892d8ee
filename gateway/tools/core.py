"""What every tool shares: its context, its result, and the ways a result says no."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Generic, TypeVar

from booking.common.v1 import common_pb2 as cpb
from gateway import speech
from gateway.clinics import ClinicInfo
from gateway.state import Backends
from gateway.vapi import compact


@dataclass(frozen=True)
class ToolContext:
    tenant: str
    clinic: ClinicInfo
    backends: Backends
    call_id: str
    caller_number: str  # E.164 from the call, "" when unknown
    tool_call_id: str
    now: datetime
    language: str = "en"  # of speech and of the texts this call causes (gateway.speech.language_of)

    @property
    def idempotency_key(self) -> str:
        # A tool-call id is only unique within its call (some models number them "call_0", ...):
        # scoped by the call, another call's id never replays this one's stored reply.
        if not self.tool_call_id:
            return ""
        scope = f"{self.call_id}:" if self.call_id else ""
        return f"{self.tenant}:{scope}{self.tool_call_id}"

    @property
    def today(self) -> date:
        return self.now.astimezone(self.clinic.timezone).date()

    def say(self, key: str, **values: object) -> str:
        return speech.say(key, self.language, **values)


@dataclass(frozen=True)
class ToolResult:
    ok: bool
    speech: str
    data: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> str:
        return compact({"ok": self.ok, "speech": self.speech, **self.data})


def refuse(sentence: str, cause: str, **data: Any) -> ToolResult:
    return ToolResult(False, sentence, {"cause": cause, **data})


def unavailable(language: str = "en") -> ToolResult:
    """The answer when a backend could not be reached in time: nothing to do but try again."""
    return refuse(speech.say("unavailable", language), "BACKEND_UNAVAILABLE")


def cause_name(failure: cpb.Failure) -> str:
    return cpb.FailureCause.Name(failure.cause).removeprefix("FAILURE_CAUSE_")


def refused(ctx: ToolContext, failure: cpb.Failure, tool: str, **data: Any) -> ToolResult:
    """A service's refusal, worded by the speech table (Failure.message is never read)."""
    cause = cause_name(failure)
    sentence = speech.failure(cause, failure.reason, tool, failure.limit, ctx.language)
    return refuse(sentence, cause, **data)


Parsed = TypeVar("Parsed")
Reply = TypeVar("Reply")


@dataclass(frozen=True)
class Tool(Generic[Parsed, Reply]):
    """A tool in three steps: read the arguments (pure; a ToolResult is a refusal), make the
    backend call, word the reply (pure)."""

    parse: Callable[[ToolContext, dict[str, Any]], Parsed | ToolResult]
    call: Callable[[ToolContext, Parsed], Awaitable[Reply]]
    word: Callable[[ToolContext, Parsed, Reply], ToolResult]

    async def __call__(self, ctx: ToolContext, args: dict[str, Any]) -> ToolResult:
        parsed = self.parse(ctx, args)
        if isinstance(parsed, ToolResult):
            return parsed
        return self.word(ctx, parsed, await self.call(ctx, parsed))
