"""The transient assistant returned to Vapi's `assistant-request`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.clinics import ClinicInfo
from gateway.prompts import booking_prompt
from gateway.tool_definitions import vapi_tools

SERVER_MESSAGES = ["tool-calls", "end-of-call-report", "status-update"]


def assistant_reply(clinic: ClinicInfo, server_url: str, now: datetime) -> dict[str, Any]:
    return {
        "assistant": {
            "name": f"{clinic.name} receptionist"[:40],
            "firstMessage": f"Thank you for calling {clinic.name}. How can I help you today?",
            "model": {
                "provider": "openai",
                "model": "gpt-4o",
                "messages": [{"role": "system", "content": booking_prompt(clinic, now)}],
                "tools": vapi_tools(server_url),
            },
            "serverMessages": SERVER_MESSAGES,
            "server": {"url": server_url, "timeoutSeconds": 20},
        }
    }
