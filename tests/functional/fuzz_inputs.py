"""A seeded generator of hostile HTTP requests for the gateway's edge: Vapi shapes (SPEC §8) with
wrong types in every field, nested and huge JSON, odd unicode, broken bytes, and odd header values.
Seeded, so a failure names a seed and an index that reproduce it."""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from gateway.tools import TOOLS

ODD_TEXT = [
    "", " ", "tomorrow", "next tuesday", "2026-02-30", "+12125550142", "12", "s1.x.y", "\n\r", "🙂", "' OR 1=1 --",
    "\u2028", "\u202e\u0645\u0631\u062d\u0628\u0627", "\u200b\ufeff", "\x00\x01\x7f\x9f", "e\u0301" * 50, "ǅ" * 3,
    "\U0010ffff", "\ud800", "\udfff\ud800", "%s%n{0}", "../../etc/passwd", "null", "1e999", "9" * 50, "a" * 300,
]  # fmt: skip
ODD_NUMBERS: list[Any] = [0, -1, 2**31, 2**63, 10**40, -(10**100), 1.5, -0.0, 1e308, 5e-324, True, False]
ODD_HEADER_TEXT = [
    "", " ", "²", "٣٤٥", "9" * 400, "é" * 64, "sha256=" + "a" * 64, "a" * 64, "Bearer", "bearer  x", "\u2028",
    "\t", "🙂", "x" * 9000, "-1", "1e3", "0x10", "null",
]  # fmt: skip
FIELDS = [
    "type", "toolCallList", "toolCalls", "toolWithToolCallList", "functionCall", "call", "customer", "status",
    "timestamp", "phoneNumber", "assistant",
]  # fmt: skip
TYPES = ["tool-calls", "function-call", "status-update", "end-of-call-report", "speech-update", "", "TOOL-CALLS"]
PATHS = [
    "/vapi/demo", "/vapi/demo", "/vapi/demo", "/vapi/Demo", "/vapi/" + "a" * 70, "/vapi/d%C3%A9mo",
    "/api/vapi/tools/calendar/check?tenant=demo", "/api/vapi/tools/booking/reserve-atomic",
    "/api/vapi/tools/booking/send-otp?tenant=demo", "/api/vapi/tools/booking/verify-otp?tenant=%FF",
    "/api/vapi/tools/booking/send-confirmation?tenant=demo&tenant=x", "/twilio/status", "/twilio/inbound",
]  # fmt: skip


@dataclass(frozen=True)
class Probe:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def __repr__(self) -> str:  # a failure message stays readable
        return f"Probe({self.method} {self.path[:120]} headers={self.headers!r:.300} body={self.body[:300]!r})"


class Generator:
    def __init__(self, seed: int, secret: str, tenant: str = "demo") -> None:
        self.rng = random.Random(seed)
        self.secret = secret
        self.tenant = tenant

    # --- JSON values ------------------------------------------------------------------------------
    def scalar(self) -> Any:
        pick = self.rng.random()
        if pick < 0.45:
            return self.rng.choice(ODD_TEXT)
        if pick < 0.8:
            return self.rng.choice(ODD_NUMBERS)
        return None

    def value(self, depth: int = 0) -> Any:
        pick = self.rng.random()
        if depth > 3 or pick < 0.6:
            return self.scalar()
        if pick < 0.8:
            return [self.value(depth + 1) for _ in range(self.rng.randrange(4))]
        return {self.rng.choice([*FIELDS, *ODD_TEXT[:12]]): self.value(depth + 1) for _ in range(self.rng.randrange(4))}

    def maybe(self, good: Any) -> Any:
        """The right value most of the time, a wrong type or odd value otherwise."""
        return good if self.rng.random() < 0.7 else self.value()

    def arguments(self) -> Any:
        names = ["date", "from", "to", "service", "provider", "slot_id", "phone", "code", "hold_id", "limit"]
        args = {self.rng.choice(names): self.value() for _ in range(self.rng.randrange(5))}
        pick = self.rng.random()
        if pick < 0.5:
            return args
        if pick < 0.8:
            return json.dumps(args)
        return self.value()

    def tool_call(self) -> Any:
        # Mostly tools that answer without a backend, so the run stays fast; some real ones.
        name = self.rng.choice(sorted(TOOLS)) if self.rng.random() < 0.1 else self.rng.choice(["nope", "", "x" * 70])
        function = {"name": self.maybe(name), "arguments": self.arguments()}
        call = {"id": self.maybe(f"t{self.rng.randrange(10**6)}"), "type": self.maybe("function")}
        shape = self.rng.random()
        if shape < 0.6:
            return {**call, "function": self.maybe(function)}
        if shape < 0.8:
            return {
                **call,
                "name": function["name"],
                self.rng.choice(["arguments", "parameters"]): function["arguments"],
            }
        return self.value()

    def message(self) -> dict[str, Any]:
        kind = self.rng.choice(TYPES)
        message: dict[str, Any] = {
            "type": self.maybe(kind),
            "timestamp": self.maybe(int(time.time() * 1000)),
            "call": self.maybe(
                {"id": self.maybe("call-fuzz"), "customer": self.maybe({"number": self.maybe("+12125550142")})}
            ),
        }
        calls = [self.tool_call() for _ in range(self.rng.choice([0, 1, 1, 2, 3, 17]))]
        key = self.rng.choice(["toolCallList", "toolCalls", "toolWithToolCallList"])
        if key == "toolWithToolCallList":
            calls = [{"type": "function", "toolCall": c} for c in calls]
        message[key] = self.maybe(calls)
        if kind == "function-call":
            message["functionCall"] = self.maybe(
                {"name": self.maybe("check_availability"), "parameters": self.arguments()}
            )
        for _ in range(self.rng.randrange(3)):
            message[self.rng.choice(FIELDS)] = self.value()
        return {"message": self.maybe(message)}

    # --- bodies as bytes ----------------------------------------------------------------------------
    def body(self) -> bytes:
        text = json.dumps(self.message())
        pick = self.rng.random()
        mutations: list[Callable[[str], str | bytes]] = [
            lambda t: "[" * self.rng.choice([60, 64, 65, 1000, 50_000]) + "]" * self.rng.choice([0, 65, 1000]),
            lambda t: '{"message": ' * self.rng.choice([63, 64, 100]) + "{}" + "}" * 100,
            lambda t: t[: self.rng.randrange(len(t) + 1)],
            lambda t: t.replace("1", self.rng.choice(["1e999", "9" * 5000, "NaN", "-Infinity", "1.0e-400"]), 1),
            lambda t: t.replace('"tomorrow"', '"\\ud800\\u0000"'),
            lambda t: t.encode() + b"\xff\xfe",
            lambda t: b"\xef\xbb\xbf" + t.encode(),
            lambda t: "",
            lambda t: json.dumps(self.value()),
        ]
        if pick < 0.6:
            return text.encode()
        mutated = self.rng.choice(mutations)(text)
        return mutated if isinstance(mutated, bytes) else mutated.encode("utf-8", "surrogatepass")

    def headers(self, body: bytes) -> dict[str, str]:
        content_types = [*["application/json"] * 4, "text/plain", "", "é", "multipart/form-data",
                         "multipart/form-data; boundary=x", "application/x-www-form-urlencoded; charset=nonesuch",
                         "application/x-www-form-urlencoded"]  # fmt: skip
        headers = {"Content-Type": self.rng.choice(content_types)}
        auth = self.rng.random()
        if auth < 0.6:
            headers["Authorization"] = f"Bearer {self.secret}"
        elif auth < 0.7:
            headers["X-Vapi-Secret"] = self.rng.choice([self.secret, *ODD_HEADER_TEXT])
        elif auth < 0.85:
            headers["X-Timestamp"] = self.rng.choice([str(int(time.time())), *ODD_HEADER_TEXT])
            headers["X-Signature"] = self.rng.choice(ODD_HEADER_TEXT)
        else:
            headers["Authorization"] = self.rng.choice(ODD_HEADER_TEXT)
        if self.rng.random() < 0.3:
            headers["X-Request-Id"] = self.rng.choice(ODD_HEADER_TEXT)
        if self.rng.random() < 0.2:
            headers["X-Twilio-Signature"] = self.rng.choice(ODD_HEADER_TEXT)
        return headers

    def probe(self) -> Probe:
        body = self.body()
        path = (
            self.rng.choice(PATHS).replace("/demo", f"/{self.tenant}").replace("tenant=demo", f"tenant={self.tenant}")
        )
        if self.rng.random() < 0.03:
            return Probe("GET", self.rng.choice(["/health", "/ready", "/metrics", "/vapi/demo"]), {}, b"")
        return Probe("POST", path, self.headers(body), body)

    def probes(self, count: int) -> Iterator[Probe]:
        for _ in range(count):
            yield self.probe()


def check_reply(probe: Probe, status: int, text: str) -> None:
    """No 5xx; a 200 from a Vapi route is JSON whose results are single-line strings."""
    assert status < 500, (probe, status, text[:300])
    if status != 200 or not (probe.path.startswith("/vapi/") or probe.path.startswith("/api/vapi/")):
        return
    parsed = json.loads(text)
    assert isinstance(parsed, dict), (probe, text[:300])
    for entry in parsed.get("results", []):
        value = entry.get("result", entry.get("error"))
        assert isinstance(value, str) and "\n" not in value and "\r" not in value, (probe, entry)
        if "result" in entry:
            result = json.loads(entry["result"])
            assert isinstance(result["ok"], bool) and isinstance(result["speech"], str) and result["speech"]
    for key in ("result",):
        if key in parsed:
            assert isinstance(parsed[key], str) and "\n" not in parsed[key], (probe, parsed)
