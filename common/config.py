"""Configuration from environment variables, validated at start.

A bad value stops the process with exit code 2 and one line naming the variable.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import NoReturn, TypeVar
from urllib.parse import urlparse

from common.grpc_targets import split_addresses

T = TypeVar("T")
N = TypeVar("N", int, float)

LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


class ConfigError(ValueError):
    """A configuration variable is missing or malformed; the message names it."""


def env_str(env: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = env.get(name)
    if value is None or value == "":
        if default is None:
            raise ConfigError(f"{name} is required but not set")
        return default
    return value


def _env_number(env: Mapping[str, str], name: str, default: N, parse: Callable[[str], N], kind: str) -> N:
    raw = env.get(name)
    if raw is None or raw == "":
        return default
    try:
        return parse(raw)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} is not {kind}") from None


def _at_least(env: Mapping[str, str], name: str, value: N, minimum: N, what: str) -> N:
    if value < minimum:
        raise ConfigError(f"{name}={env[name]!r} must be at least {what}")
    return value


def env_port(env: Mapping[str, str], name: str, default: int) -> int:
    port = _env_number(env, name, default, int, "a port number")
    if not 0 <= port <= 65535:
        raise ConfigError(f"{name}={env[name]!r} is not a port number (0-65535)")
    return port


def env_float(env: Mapping[str, str], name: str, default: float, *, minimum: float = 0.0) -> float:
    return _at_least(env, name, _env_number(env, name, default, float, "a number"), minimum, str(minimum))


def env_address(env: Mapping[str, str], name: str, default: str) -> str:
    """A gRPC target: "host:port", several separated by commas, or "dns:///name:port"."""
    value = env_str(env, name, default)
    try:
        split_addresses(value)
    except ValueError as bad:
        raise ConfigError(f"{name}={value!r}: {bad} (want host:port[,host:port...])") from None
    return value


def env_flag(env: Mapping[str, str], name: str) -> bool:
    """"1"/"true"/"yes" → True, ""/"0"/"false"/"no"/unset → False; anything else is an error."""
    value = env.get(name, "").strip().lower()
    if value in ("", "0", "false", "no"):
        return False
    if value in ("1", "true", "yes"):
        return True
    raise ConfigError(f"{name}={env[name]!r} must be 1 or 0")


def env_database_url(env: Mapping[str, str], name: str = "DATABASE_URL") -> str:
    value = env_str(env, name)
    parsed = urlparse(value)
    if parsed.scheme not in ("postgres", "postgresql") or not parsed.hostname:
        raise ConfigError(f"{name} must be a postgresql:// URL with a host")
    return value


def env_log_level(env: Mapping[str, str], name: str = "LOG_LEVEL") -> str:
    value = env_str(env, name, "INFO").upper()
    if value not in LOG_LEVELS:
        raise ConfigError(f"{name}={value!r} must be one of {', '.join(LOG_LEVELS)}")
    return value


def env_days(env: Mapping[str, str], name: str, default: int, *, minimum: int = 1) -> int:
    """A whole number of days, at least `minimum`."""
    days = _env_number(env, name, default, int, "a whole number of days")
    return _at_least(env, name, days, minimum, f"{minimum} day{'s' if minimum > 1 else ''}")


@dataclass(frozen=True)
class RetentionConfig:
    """How many days patient data is kept (services/*/retention.py purge what is older).

    Each window is at least a day: Vapi repeats a tool call within minutes, a verified code counts
    for the rest of the call, and a relayed outbox row is only ever read again by a person."""

    idempotency_days: int = 7
    otp_days: int = 1
    outbox_days: int = 7
    message_body_days: int = 30
    message_days: int = 365

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionConfig:
        env = os.environ if env is None else env
        return cls(
            idempotency_days=env_days(env, "IDEMPOTENCY_RETENTION_DAYS", cls.idempotency_days),
            otp_days=env_days(env, "OTP_RETENTION_DAYS", cls.otp_days),
            outbox_days=env_days(env, "OUTBOX_RETENTION_DAYS", cls.outbox_days),
            message_body_days=env_days(env, "MESSAGE_BODY_RETENTION_DAYS", cls.message_body_days),
            message_days=env_days(env, "MESSAGE_RETENTION_DAYS", cls.message_days),
        )

    @classmethod
    def everything(cls, days: int) -> RetentionConfig:
        """One window for every table (the purge command's --days)."""
        return cls(days, days, days, days, days)


@dataclass(frozen=True)
class ServiceConfig:
    """What every gRPC service process needs."""

    name: str
    host: str
    port: int
    database_url: str
    log_level: str
    availability_addr: str
    reservation_addr: str
    notification_addr: str
    shutdown_grace_seconds: float
    db_pool_size: int
    retention: RetentionConfig = field(default_factory=RetentionConfig)

    @classmethod
    def from_env(
        cls, name: str, port_var: str, default_port: int, env: Mapping[str, str] | None = None
    ) -> ServiceConfig:
        env = os.environ if env is None else env
        from common.security import GrpcSecurity  # common.security imports this module

        GrpcSecurity.from_env(env)  # the service token and TLS files: a bad one stops the start
        return cls(
            name=name,
            host=env_str(env, "BIND_HOST", "127.0.0.1"),
            port=env_port(env, port_var, default_port),
            database_url=env_database_url(env),
            log_level=env_log_level(env),
            availability_addr=env_address(env, "AVAILABILITY_ADDR", "127.0.0.1:50051"),
            reservation_addr=env_address(env, "RESERVATION_ADDR", "127.0.0.1:50052"),
            notification_addr=env_address(env, "NOTIFICATION_ADDR", "127.0.0.1:50053"),
            shutdown_grace_seconds=env_float(env, "SHUTDOWN_GRACE_SECONDS", 5.0),
            db_pool_size=int(env_float(env, "DB_POOL_SIZE", 20, minimum=2)),
            retention=RetentionConfig.from_env(env),
        )


def exit_on_config_error(program: str, error: ConfigError) -> NoReturn:
    print(f"{program}: configuration error: {error}", file=sys.stderr)
    raise SystemExit(2)


def load_or_exit(program: str, load: Callable[[], T]) -> T:
    """Run a config loader; on ConfigError print one line and exit 2."""
    try:
        return load()
    except ConfigError as error:
        exit_on_config_error(program, error)
