"""The gateway's configuration: the metrics port is validated like every other variable."""

from __future__ import annotations

import pytest

from common.config import ConfigError
from gateway.config import GatewayConfig


def test_metrics_port_defaults_to_9100_and_reads_the_variable() -> None:
    assert GatewayConfig.from_env({}).metrics_port == 9100
    assert GatewayConfig.from_env({"GATEWAY_METRICS_PORT": "0"}).metrics_port == 0
    assert GatewayConfig.from_env({"GATEWAY_METRICS_PORT": "9200", "GATEWAY_PORT": "0"}).metrics_port == 9200


@pytest.mark.parametrize(
    "env",
    [{"GATEWAY_METRICS_PORT": "abc"}, {"GATEWAY_METRICS_PORT": "70000"}, {"GATEWAY_METRICS_PORT": "8080"},
     {"GATEWAY_METRICS_PORT": "9000", "GATEWAY_PORT": "9000"}],
)  # fmt: skip
def test_a_bad_metrics_port_names_the_variable(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="GATEWAY_METRICS_PORT"):
        GatewayConfig.from_env(env)
