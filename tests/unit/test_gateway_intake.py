"""The edge's pure input handling (gateway/intake.py) and the protocol's per-call limits."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from gateway.intake import MAX_DEPTH, BadJson, clean, clean_text, decode, nesting_depth, request_id
from gateway.vapi import MAX_TOOL_CALLS, legacy_call_id, parse


def test_nesting_is_counted_outside_strings_only() -> None:
    assert nesting_depth('[[{"a": "[[[[{{"}]]') == 3
    assert nesting_depth('["\\"[[["]') == 1


@pytest.mark.parametrize(
    "raw",
    [b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), b"[" * 200_000, b"\xff", b"{", b"1e400", b"-Infinity",
     b"NaN", b"1" * 41, b""],
)  # fmt: skip
def test_what_is_refused(raw: bytes) -> None:
    with pytest.raises(BadJson):
        decode(raw)


def test_what_is_accepted() -> None:
    deep = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert decode(deep) is not None
    assert decode(b'{"a": [1, -2.5e3, "\\ud800"]}') == {"a": [1, -2500.0, "\ud800"]}


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers(-(10**30), 10**30) | st.text(),
        lambda c: st.lists(c) | st.dictionaries(st.text(), c),
        max_leaves=20,
    )
)
def test_any_ordinary_json_decodes_to_itself(value: Any) -> None:
    assert decode(json.dumps(value)) == value


def test_cleaning_drops_lone_surrogates_and_controls_but_keeps_text() -> None:
    assert clean_text("a\ud800b\x00c\x7fd\x9fé🙂\t") == "abcdé🙂\t"
    assert clean({"k\udc80": ["v\x01", 1, None]}) == {"k": ["v", 1, None]}
    assert clean_text("ok").encode("utf-8") == b"ok"


@pytest.mark.parametrize(("header", "kept"), [("abc-1.2:3", True), ("é", False), ("a b", False), ("x" * 65, False)])
def test_request_ids(header: str, kept: bool) -> None:
    assert (request_id(header) == header) is kept


def calls(*items: Any) -> list[Any]:
    return parse({"message": {"type": "tool-calls", "toolCallList": list(items)}}).tool_calls


def test_per_call_limits() -> None:
    ok = {"function": {"name": "x", "arguments": {"a": "b\ud800"}}}
    parsed = calls(*({"id": str(n), **ok} for n in range(MAX_TOOL_CALLS + 2)))
    assert [c.problem is None for c in parsed] == [True] * MAX_TOOL_CALLS + [False, False]
    assert parsed[0].arguments == {"a": "b"}
    long_id, exact_id, long_name, bad_id = calls(
        {"id": "i" * 129, **ok}, {"id": "i" * 128, **ok}, {"id": "n", "name": "n" * 65}, {"id": "a\ud800", **ok}
    )
    assert long_id.problem and long_id.id == "i" * 129
    assert exact_id.problem is None
    assert long_name.problem and long_name.name == "n" * 64
    assert bad_id.problem and bad_id.id == "missing-id-3"


def legacy(call: dict[str, Any] | None, name: str, parameters: Any) -> str:
    message: dict[str, Any] = {"type": "function-call", "functionCall": {"name": name, "parameters": parameters}}
    if call is not None:
        message["call"] = call
    return parse({"message": message}).tool_calls[0].id


def test_legacy_function_call_ids_are_per_call_and_per_request() -> None:
    one = legacy({"id": "c1"}, "check_availability", {"date": "tomorrow", "service": "x"})
    assert one == legacy({"id": "c1"}, "check_availability", '{"service": "x", "date": "tomorrow"}')  # a retry
    assert one != legacy({"id": "c2"}, "check_availability", {"date": "tomorrow", "service": "x"})
    assert one != legacy({"id": "c1"}, "check_availability", {"date": "friday", "service": "x"})
    assert one != legacy({"id": "c1"}, "find_appointments", {"date": "tomorrow", "service": "x"})
    assert legacy(None, "check_availability", {}) == "" == legacy_call_id("", "x", {})
    assert len(one) <= 128
