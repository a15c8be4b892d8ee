"""Every deadline of one tool call, per hop, derived from Vapi's tool timeout.

An inner deadline is always shorter than the one around it, so the innermost hop fails first and
each layer still has time to word an answer: Vapi (20 s) > gateway tool (4.5 s) > gateway → service
call (2.2 s) > service → service call (1.0 s).
Background work (relays, start-up) has its own, longer budget: nobody is waiting on the phone.
"""

from __future__ import annotations

VAPI_TOOL_TIMEOUT = 20.0  # Vapi's default per-tool timeout (server.timeoutSeconds)
TOOL = 4.5  # the gateway's whole answer to one tool call
GATEWAY_TO_SERVICE = 2.2  # one gateway → service RPC; a tool makes at most two in sequence
SERVICE_TO_SERVICE = 1.0  # a service asking another inside an RPC (reservation → availability)
LOOKUP = 1.5  # the gateway's clinic/credential look-ups (before the tool deadline starts)
READY_PROBE = 1.0  # /ready asks every backend's health
WEBHOOK_FORWARD = 3.0  # Twilio callbacks forwarded to notification (Twilio waits 15 s)
REPLY_FORWARD = 2.0  # a patient's text reply, notification → reservation (inside WEBHOOK_FORWARD)
RELAY_DELIVERY = 5.0  # outbox relay → notification EnqueueSms (background)
CLIENT_DEFAULT = 3.0  # any RPC made without an explicit deadline (CLIs, tests)

assert SERVICE_TO_SERVICE * 2 < GATEWAY_TO_SERVICE, "a service's own calls must fit in the gateway's"
assert GATEWAY_TO_SERVICE * 2 < TOOL, "two sequential RPCs must fit in one tool call"
assert TOOL < VAPI_TOOL_TIMEOUT / 2, "the tool answers well inside Vapi's timeout"
assert SERVICE_TO_SERVICE < REPLY_FORWARD < WEBHOOK_FORWARD, "a reply's hops fit in the webhook's deadline"
