"""The Vapi protocol module (pure): parsing every shape, building single-line results."""

from __future__ import annotations

import json
from typing import Any

import pytest

from gateway.vapi import ProtocolError, ToolCall, compact, envelope, parse, result_entry, single_line


def test_tool_call_list_with_object_and_string_arguments() -> None:
    calls = [
        {"id": "a", "function": {"name": "x", "arguments": {"k": 1}}},
        {"id": "b", "function": {"name": "y", "arguments": '{"k": 2}'}},
    ]
    call = {"id": "c", "customer": {"number": "+1"}}
    message = parse({"message": {"type": "tool-calls", "call": call, "toolCallList": calls}})
    assert [(c.id, c.name, c.arguments) for c in message.tool_calls] == [("a", "x", {"k": 1}), ("b", "y", {"k": 2})]
    assert (message.call_id, message.customer_number) == ("c", "+1")


@pytest.mark.parametrize(
    ("arguments", "problem"),
    [("{bad", "not valid JSON"), ("[]", "JSON object"), (5, "must be an object"), ("x" * 9000, "too long")],
)
def test_bad_arguments_mark_only_that_call(arguments: Any, problem: str) -> None:
    message = parse(
        {"message": {"type": "tool-calls", "toolCalls": [{"id": "a", "name": "x", "arguments": arguments}]}}
    )
    assert problem in (message.tool_calls[0].problem or "")


@pytest.mark.parametrize("body", [None, [], {"message": []}, {"message": {"type": "tool-calls", "toolCalls": "x"}}])
def test_malformed_messages(body: Any) -> None:
    with pytest.raises(ProtocolError):
        parse(body)


def test_results_are_single_line_and_in_order() -> None:
    calls = [ToolCall("1", "a", {}), ToolCall("2", "b", {})]
    built = envelope(
        [result_entry(calls[0], result="line\nbreak\r\nhere\u2028x"), result_entry(calls[1], error="bad\ncall")]
    )
    assert built == {
        "results": [
            {"toolCallId": "1", "name": "a", "result": "line break here x"},
            {"toolCallId": "2", "name": "b", "error": "bad call"},
        ]
    }
    assert "\n" not in compact({"speech": "a\nb"}) and json.loads(compact({"speech": "a\nb"}))["speech"] == "a\nb"
    assert len(single_line("x" * 10_000, limit=100)) == 100


def test_a_long_result_stays_valid_json_by_shortening_lists() -> None:
    data = {
        "ok": True,
        "speech": "I have several times.",
        "slots": [{"slot_id": "s" * 300, "n": n} for n in range(100)],
    }
    text = compact(data, limit=8000)
    parsed = json.loads(text)
    assert len(text) <= 8000 and parsed["truncated"] is True and 0 < len(parsed["slots"]) < 100
    assert parsed["slots"][0] == {"slot_id": "s" * 300, "n": 0}  # earliest kept
    assert "\u2028" not in compact({"speech": "a\u2028b"})
