"""The Vapi server-message protocol. Pure: no I/O.

Reads every shape Vapi (and LLMs) produce: `message.toolCallList`, else `message.toolCalls`,
else `message.toolWithToolCallList[].toolCall`; the legacy `function-call`; each call's name
from `function.name` or `name`; arguments from `function.arguments`, `arguments` or
`parameters`, as an object or a JSON string. Builds the `results` envelope: one entry per
call, in order, `toolCallId` echoed exactly, single-line strings.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

MAX_ARGUMENT_CHARS = 8_000  # an argument string longer than this is not a real tool call
MAX_RESULT_CHARS = 8_000
_LINE_BREAKS = re.compile(r"[\r\n\u2028\u2029\x85]+")


class ProtocolError(ValueError):
    """The message itself is malformed (answered with 400)."""


@dataclass(frozen=True)
class ToolCall:
    id: str
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
    return value if isinstance(value, str) else ""


def parse_arguments(value: Any) -> tuple[dict[str, Any], str | None]:
    """Arguments as an object, or (empty, problem)."""
    if value is None or value == "":
        return {}, None
    if isinstance(value, dict):
        return value, None
    if isinstance(value, str):
        if len(value) > MAX_ARGUMENT_CHARS:
            return {}, "arguments are too long"
        try:
            parsed = json.loads(value)
        except json.JSONDecodeError:
            return {}, "arguments are not valid JSON"
        if isinstance(parsed, dict):
            return parsed, None
        return {}, "arguments must be a JSON object"
    return {}, "arguments must be an object"


def _tool_call(item: Any, index: int) -> ToolCall:
    entry = _dict(item)
    function = _dict(entry.get("function"))
    call_id = entry.get("id")
    name = _text(function.get("name")) or _text(entry.get("name"))
    raw_args = next(
        (v for v in (function.get("arguments"), entry.get("arguments"), entry.get("parameters")) if v is not None),
        None,
    )
    arguments, problem = parse_arguments(raw_args)
    if not isinstance(call_id, (str, int)) or isinstance(call_id, bool) or call_id == "":
        return ToolCall(f"missing-id-{index}", name, {}, "tool call has no id")
    if not name:
        return ToolCall(str(call_id), "", {}, "tool call has no function name")
    if len(json.dumps(arguments, default=str)) > MAX_ARGUMENT_CHARS:
        return ToolCall(str(call_id), name, {}, "arguments are too long")
    return ToolCall(str(call_id), name, arguments, problem)


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
        items = _tool_call_items(message)
        return ServerMessage(**{**parsed.__dict__, "tool_calls": [_tool_call(i, n) for n, i in enumerate(items)]})
    if kind == "function-call":
        function = _dict(message.get("functionCall"))
        arguments, problem = parse_arguments(function.get("parameters", function.get("arguments")))
        name = _text(function.get("name"))
        legacy = ToolCall("function-call", name, arguments, problem or (None if name else "function call has no name"))
        return ServerMessage(**{**parsed.__dict__, "tool_calls": [legacy], "legacy_function_call": True})
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
