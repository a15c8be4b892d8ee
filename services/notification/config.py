"""Twilio settings for the notification service, from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlparse

from common.config import ConfigError


@dataclass(frozen=True)
class TwilioConfig:
    account_sid: str
    auth_token: str
    from_number: str
    messaging_service_sid: str
    api_base_url: str
    status_callback_url: str

    @property
    def enabled(self) -> bool:
        return bool(self.account_sid)

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> TwilioConfig:
        env = os.environ if env is None else env
        values = {
            name: env.get(f"TWILIO_{name.upper()}", "").strip()
            for name in (
                "account_sid", "auth_token", "from_number", "messaging_service_sid", "api_base_url",
                "status_callback_url",
            )
        }  # fmt: skip
        config = cls(**values)
        if config.account_sid or config.auth_token:
            if not config.account_sid.startswith("AC"):
                raise ConfigError("TWILIO_ACCOUNT_SID must start with AC")
            if not config.auth_token:
                raise ConfigError("TWILIO_AUTH_TOKEN is required with TWILIO_ACCOUNT_SID")
            if not config.from_number and not config.messaging_service_sid:
                raise ConfigError("TWILIO_FROM_NUMBER (or TWILIO_MESSAGING_SERVICE_SID) is required with Twilio")
            if config.from_number and not config.from_number.startswith("+"):
                raise ConfigError("TWILIO_FROM_NUMBER must be an E.164 number such as +12125550100")
        for name in ("api_base_url", "status_callback_url"):
            value = getattr(config, name)
            if value and urlparse(value).scheme not in ("http", "https"):
                raise ConfigError(f"TWILIO_{name.upper()} must be an http(s) URL")
        return config
