"""The Vapi server-message protocol. Pure: no I/O.

Reads every shape Vapi (and LLMs) produce: `message.toolCallList`, else `message.toolCalls`,
else `message.toolWithToolCallList[].toolCall`; the legacy `function-call`; each call's name
from `function.name` or `name`; arguments from `function.arguments`, `arguments` or
`parameters`, as an object or a JSON string. Builds the `results` envelope: one entry per
call, in order, `toolCallId` echoed exactly, single-line strings.

Every limit is per call: a call over a limit is answered with an `error` entry, the others run.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

from gateway.intake import BadJson, clean, clean_text, decode

MAX_ARGUMENT_CHARS = 8_000  # an argument string longer than this is not a real tool call
MAX_RESULT_CHARS = 8_000
MAX_TOOL_CALLS = 16  # per message; Vapi's models ask for a few at most
MAX_ID_CHARS = 128
MAX_NAME_CHARS = 64
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85]+")


class ProtocolError(ValueError):
    """The message itself is malformed (answered with 400)."""


@dataclass(frozen=True)
class ToolCall:
    id: str  # "" only for a legacy function-call without a call id: never cached, no idempotency key
    name: str
    arguments: dict[str, Any]
    # Set when this one call is malformed; it is answered with `error`, the others still run.
    problem: str | None = None


@dataclass(frozen=True)
class ServerMessage:
    type: str
    tool_calls: list[ToolCall] = field(default_factory=list)
    call_id: str = ""
    customer_number: str = ""
    status: str = ""
    legacy_function_call: bool = False
    raw: dict[str, Any] = field(default_factory=dict)


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _text(value: Any) -> str:
    return clean_text(value) if isinstance(value, str) else ""


def parse_arguments(value: Any) -> tuple[dict[str, Any], str | None]:
    """Arguments as an object with clean strings, or (empty, problem)."""
    if value is None or value == "":
        return {}, None
    if isinstance(value, str):
        if len(value) > MAX_ARGUMENT_CHARS:
            return {}, "arguments are too long"
        try:
            value = decode(value)
        except BadJson:
            return {}, "arguments are not valid JSON"
        if not isinstance(value, dict):
            return {}, "arguments must be a JSON object"
    if not isinstance(value, dict):
        return {}, "arguments must be an object"
    arguments: dict[str, Any] = clean(value)
    if len(json.dumps(arguments, default=str)) > MAX_ARGUMENT_CHARS:
        return {}, "arguments are too long"
    return arguments, None


def _call_id(value: Any) -> str | None:
    """The id as Vapi sent it (echoed exactly), or None if it cannot be one."""
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value)
    return text if text and clean_text(text) == text else None


def _tool_call(item: Any, index: int) -> ToolCall:
    entry = _dict(item)
    function = _dict(entry.get("function"))
    call_id = _call_id(entry.get("id"))
    name = _text(function.get("name")) or _text(entry.get("name"))
    raw_args = next(
        (v for v in (function.get("arguments"), entry.get("arguments"), entry.get("parameters")) if v is not None),
        None,
    )
    if call_id is None:
        return ToolCall(f"missing-id-{index}", name[:MAX_NAME_CHARS], {}, "tool call has no id")
    if len(call_id) > MAX_ID_CHARS:
        return ToolCall(call_id, name[:MAX_NAME_CHARS], {}, f"tool call id is longer than {MAX_ID_CHARS}")
    if not name:
        return ToolCall(call_id, "", {}, "tool call has no function name")
    if len(name) > MAX_NAME_CHARS:
        return ToolCall(call_id, name[:MAX_NAME_CHARS], {}, f"function name is longer than {MAX_NAME_CHARS}")
    if index >= MAX_TOOL_CALLS:
        return ToolCall(call_id, name, {}, f"more than {MAX_TOOL_CALLS} tool calls in one message")
    arguments, problem = parse_arguments(raw_args)
    return ToolCall(call_id, name, arguments, problem)


def legacy_call_id(call_id: str, name: str, arguments: dict[str, Any]) -> str:
    """A `function-call` carries no id: derive one from the call and what it asks, so a retry of the
    same request dedupes and nothing is shared across calls. No call id: no id (never shared)."""
    if not call_id:
        return ""
    canonical = json.dumps([call_id, name, arguments], sort_keys=True, separators=(",", ":"), default=str)
    return "function-call-" + hashlib.sha256(canonical.encode()).hexdigest()[:32]


def _legacy_call(message: dict[str, Any], call_id: str) -> ToolCall:
    function = _dict(message.get("functionCall"))
    name = _text(function.get("name"))
    arguments, problem = parse_arguments(function.get("parameters", function.get("arguments")))
    if not name:
        problem = problem or "function call has no name"
    elif len(name) > MAX_NAME_CHARS:
        name, problem = name[:MAX_NAME_CHARS], f"function name is longer than {MAX_NAME_CHARS}"
    return ToolCall(legacy_call_id(call_id, name, arguments), name, arguments, problem)


def parse(body: Any) -> ServerMessage:
    """Parse a Vapi server request body (already JSON-decoded)."""
    if not isinstance(body, dict) or not isinstance(body.get("message"), dict):
        raise ProtocolError("body must be an object with a `message` object")
    message: dict[str, Any] = body["message"]
    kind = _text(message.get("type"))
    call = _dict(message.get("call"))
    customer = _dict(call.get("customer")) or _dict(message.get("customer"))
    parsed = ServerMessage(
        type=kind,
        call_id=_text(call.get("id")),
        customer_number=_text(customer.get("number")),
        status=_text(message.get("status")),
        raw=message,
    )
    if kind == "tool-calls":
        calls = [_tool_call(item, n) for n, item in enumerate(_tool_call_items(message))]
        return dataclasses.replace(parsed, tool_calls=calls)
    if kind == "function-call":
        legacy = _legacy_call(message, parsed.call_id)
        return dataclasses.replace(parsed, tool_calls=[legacy], legacy_function_call=True)
    return parsed


def _tool_call_items(message: dict[str, Any]) -> list[Any]:
    for key in ("toolCallList", "toolCalls"):
        value = message.get(key)
        if value is not None:
            if not isinstance(value, list):
                raise ProtocolError(f"`{key}` must be a list")
            return value
    wrapped = message.get("toolWithToolCallList")
    if wrapped is not None:
        if not isinstance(wrapped, list):
            raise ProtocolError("`toolWithToolCallList` must be a list")
        return [_dict(w).get("toolCall") for w in wrapped]
    return []


def single_line(text: str, limit: int = MAX_RESULT_CHARS) -> str:
    """Vapi drops a result containing a line break."""
    cleaned = _LINE_BREAKS.sub(" ", text)
    return cleaned if len(cleaned) <= limit else cleaned[: limit - 1] + "…"


def compact(data: dict[str, Any], limit: int = MAX_RESULT_CHARS) -> str:
    """Compact single-line JSON, at most `limit` characters: long lists are shortened (and
    `truncated` set) rather than the text cut, so the result always stays valid JSON."""
    data = dict(data)
    while True:
        # json.dumps escapes \n and \r; U+2028 and friends stay raw, so make them spaces too.
        text = _LINE_BREAKS.sub(" ", json.dumps(data, separators=(",", ":"), ensure_ascii=False, default=str))
        lists = [k for k, v in data.items() if isinstance(v, list) and v]
        if len(text) <= limit or not lists:
            return text
        longest = max(lists, key=lambda k: len(json.dumps(data[k], default=str)))
        data[longest] = data[longest][: len(data[longest]) // 2]
        data["truncated"] = True


def result_entry(call: ToolCall, *, result: str | None = None, error: str | None = None) -> dict[str, str]:
    entry = {"toolCallId": call.id, "name": call.name}
    if error is not None:
        entry["error"] = single_line(error)
    else:
        entry["result"] = single_line(result or "")
    return entry


def envelope(entries: list[dict[str, str]]) -> dict[str, Any]:
    return {"results": entries}
