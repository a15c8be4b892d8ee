"""Gateway configuration from the environment."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field

from common.config import ConfigError, env_address, env_flag, env_float, env_log_level, env_port, env_str
from common.sealing import KEK_VAR, SecretBox
from common.security import GrpcSecurity
from gateway.client_address import Network, parse_networks

DEFAULT_METRICS_PORT = 9100
CONSOLE_KEY_VAR = "CONSOLE_SESSION_KEY"
MIN_CONSOLE_KEY = 32


def checked_console_key(env: Mapping[str, str]) -> str:
    """The console's session key ("" = no console), or ConfigError naming the variable."""
    value = env.get(CONSOLE_KEY_VAR, "")
    if value and len(value.encode()) < MIN_CONSOLE_KEY:
        raise ConfigError(f"{CONSOLE_KEY_VAR} must be at least {MIN_CONSOLE_KEY} bytes (e.g. openssl rand -hex 32)")
    return value


def checked_proxies(env: Mapping[str, str]) -> tuple[Network, ...]:
    try:
        return parse_networks(env.get("TRUSTED_PROXIES", ""))
    except ValueError as bad:
        raise ConfigError(f"TRUSTED_PROXIES: {bad}") from None


def checked_kek(env: Mapping[str, str]) -> str:
    GrpcSecurity.from_env(env)  # the service token (and TLS files) too: a bad one stops the start
    SecretBox.from_env(env)  # raises ConfigError naming the variable when missing or short
    return env[KEK_VAR]


@dataclass(frozen=True)
class GatewayConfig:
    host: str
    port: int
    log_level: str
    availability_addr: str
    reservation_addr: str
    notification_addr: str
    # Largest request body accepted; larger ones get 413.
    max_body_bytes: int
    shutdown_grace_seconds: float
    # Checks X-Twilio-Signature on /twilio/*; without it those endpoints answer 403.
    twilio_auth_token: str = ""
    # The gateway's public URL (Twilio signs the URL it called); default: the request's own URL.
    public_base_url: str = ""
    # `/metrics` is served here (on `host`), never on the public port. 0 = any free port, which is
    # also the default for a config built in code (tests); from the environment it is 9100.
    metrics_port: int = 0
    # The key-encryption key that opens tenants' sealed webhook secrets (SECRET_ENCRYPTION_KEY,
    # the same value availability has). Required; checked when the app is built.
    secret_encryption_key: str = field(default="", repr=False)
    # Tenants whose clinic must be loaded before /ready answers 200 (make run: "demo").
    ready_tenants: tuple[str, ...] = ()
    # GATEWAY_REUSE_PORT=1: bind with SO_REUSEPORT so several gateway replicas share one port
    # (the kernel spreads connections over them; `make run REPLICAS=2` uses it).
    reuse_port: bool = False
    # Encrypts the staff console's session cookies (CONSOLE_SESSION_KEY, >= 32 bytes); "" = no
    # console (its routes are 404). make run keeps one in .data/; docker-compose requires it.
    console_session_key: str = field(default="", repr=False)
    # Networks of the proxies in front of the gateway (TRUSTED_PROXIES, comma-separated CIDRs):
    # behind them the caller's address comes from X-Forwarded-For (gateway/client_address.py).
    trusted_proxies: tuple[Network, ...] = ()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> GatewayConfig:
        env = os.environ if env is None else env
        port = env_port(env, "GATEWAY_PORT", 8080)
        metrics_port = env_port(env, "GATEWAY_METRICS_PORT", DEFAULT_METRICS_PORT)
        if metrics_port and metrics_port == port:
            raise ConfigError(f"GATEWAY_METRICS_PORT={metrics_port} must differ from GATEWAY_PORT")
        return cls(
            host=env_str(env, "BIND_HOST", "127.0.0.1"),
            port=port,
            log_level=env_log_level(env),
            availability_addr=env_address(env, "AVAILABILITY_ADDR", "127.0.0.1:50051"),
            reservation_addr=env_address(env, "RESERVATION_ADDR", "127.0.0.1:50052"),
            notification_addr=env_address(env, "NOTIFICATION_ADDR", "127.0.0.1:50053"),
            max_body_bytes=int(env_float(env, "GATEWAY_MAX_BODY_BYTES", 1_048_576, minimum=1024)),
            shutdown_grace_seconds=env_float(env, "SHUTDOWN_GRACE_SECONDS", 5.0),
            twilio_auth_token=env.get("TWILIO_AUTH_TOKEN", ""),
            public_base_url=env.get("PUBLIC_BASE_URL", ""),
            metrics_port=metrics_port,
            secret_encryption_key=checked_kek(env),
            ready_tenants=tuple(t.strip() for t in env.get("READY_TENANTS", "").split(",") if t.strip()),
            reuse_port=env_flag(env, "GATEWAY_REUSE_PORT"),
            console_session_key=checked_console_key(env),
            trusted_proxies=checked_proxies(env),
        )
