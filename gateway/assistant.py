"""The transient assistant returned to Vapi's `assistant-request`."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from gateway.clinics import ClinicInfo
from gateway.prompts import booking_prompt
from gateway.speech import say
from gateway.tool_definitions import SERVER_MESSAGES, SERVER_TIMEOUT_SECONDS, vapi_tools

# A Spanish-speaking clinic's callers switch between Spanish and English: a transcriber that hears both.
TRANSCRIBERS: dict[str, dict[str, Any]] = {
    "es": {"transcriber": {"provider": "deepgram", "model": "nova-3", "language": "multi"}},
}


def assistant_reply(clinic: ClinicInfo, server_url: str, now: datetime) -> dict[str, Any]:
    return {
        "assistant": {
            "name": f"{clinic.name} receptionist"[:40],
            "firstMessage": say("greeting", clinic.language, clinic=clinic.name),
            "model": {
                "provider": "openai",
                "model": "gpt-4o",
                "messages": [{"role": "system", "content": booking_prompt(clinic, now)}],
                "tools": vapi_tools(server_url, clinic.language),
            },
            "serverMessages": list(SERVER_MESSAGES),
            "server": {"url": server_url, "timeoutSeconds": SERVER_TIMEOUT_SECONDS},
            **TRANSCRIBERS.get(clinic.language, {}),
        }
    }
