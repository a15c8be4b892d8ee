"""The gateway's configuration: the metrics port is validated like every other variable."""

from __future__ import annotations

import pytest

from common.config import ConfigError
from gateway.config import GatewayConfig

# What every gateway needs besides the variables a test is about.
REQUIRED = {"INTERNAL_API_TOKEN": "t" * 32, "SECRET_ENCRYPTION_KEY": "k" * 32}


def test_metrics_port_defaults_to_9100_and_reads_the_variable() -> None:
    assert GatewayConfig.from_env(REQUIRED).metrics_port == 9100
    assert GatewayConfig.from_env({**REQUIRED, "GATEWAY_METRICS_PORT": "0"}).metrics_port == 0
    both = {**REQUIRED, "GATEWAY_METRICS_PORT": "9200", "GATEWAY_PORT": "0"}
    assert GatewayConfig.from_env(both).metrics_port == 9200


@pytest.mark.parametrize(
    ("env", "variable"),
    [({"INTERNAL_API_TOKEN": "t" * 32}, "SECRET_ENCRYPTION_KEY"),
     ({"SECRET_ENCRYPTION_KEY": "k" * 32}, "INTERNAL_API_TOKEN"),
     ({**REQUIRED, "SECRET_ENCRYPTION_KEY": "short"}, "SECRET_ENCRYPTION_KEY"),
     ({**REQUIRED, "INTERNAL_API_TOKEN": "short"}, "INTERNAL_API_TOKEN")],
)  # fmt: skip
def test_missing_or_weak_secrets_name_the_variable(env: dict[str, str], variable: str) -> None:
    with pytest.raises(ConfigError, match=variable):
        GatewayConfig.from_env(env)


@pytest.mark.parametrize(
    "env",
    [{"GATEWAY_METRICS_PORT": "abc"}, {"GATEWAY_METRICS_PORT": "70000"}, {"GATEWAY_METRICS_PORT": "8080"},
     {"GATEWAY_METRICS_PORT": "9000", "GATEWAY_PORT": "9000"}],
)  # fmt: skip
def test_a_bad_metrics_port_names_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_METRICS_PORT"):
        GatewayConfig.from_env({**REQUIRED, **env})
