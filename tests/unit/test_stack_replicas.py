"""`make run REPLICAS=N`: ports, addresses and metrics ports of each replica (no process started)."""

from __future__ import annotations

import pytest

from devkit.stack import assign_ports, replica_count, replica_env


def test_each_service_replica_gets_its_own_port_and_the_gateways_share_one() -> None:
    env = {"AVAILABILITY_PORT": "0", "RESERVATION_PORT": "0", "NOTIFICATION_PORT": "0", "GATEWAY_PORT": "0"}
    ports = assign_ports(env, 3)
    assert len(set(ports["reservation"])) == 3
    assert env["RESERVATION_ADDR"] == ",".join(f"127.0.0.1:{port}" for port in ports["reservation"])
    assert len(set(ports["gateway"])) == 1 and env["GATEWAY_REUSE_PORT"] == "1"


def test_one_replica_keeps_the_configured_ports() -> None:
    env: dict[str, str] = {}
    ports = assign_ports(env, 1)
    assert ports["availability"] == [50051] and env["AVAILABILITY_ADDR"] == "127.0.0.1:50051"
    assert "GATEWAY_REUSE_PORT" not in env


def test_replicas_serve_metrics_on_ports_ten_apart_unless_any_port_was_asked() -> None:
    assert replica_env({}, "reservation", "RESERVATION_PORT", 6000, 1)["RESERVATION_METRICS_PORT"] == "9112"
    assert replica_env({}, "gateway", "GATEWAY_PORT", 8080, 0)["GATEWAY_METRICS_PORT"] == "9100"
    any_port = {"GATEWAY_METRICS_PORT": "0"}
    assert replica_env(any_port, "gateway", "GATEWAY_PORT", 8080, 2)["GATEWAY_METRICS_PORT"] == "0"


@pytest.mark.parametrize(("raw", "count"), [("", 1), ("2", 2), ("8", 8)])
def test_replica_count(raw: str, count: int) -> None:
    assert replica_count({"REPLICAS": raw}) == count


@pytest.mark.parametrize("raw", ["0", "9", "two", "-1"])
def test_a_bad_replica_count_is_named(raw: str) -> None:
    with pytest.raises(ValueError, match="REPLICAS"):
        replica_count({"REPLICAS": raw})
