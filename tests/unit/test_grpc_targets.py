"""`*_ADDR` values: one address, a list of replicas, a DNS name; the service config for a list."""

from __future__ import annotations

import json

import pytest

from common.config import ConfigError, env_address
from common.grpc_targets import IDEMPOTENT, channel_target, service_config, split_addresses


def test_one_address_is_used_as_given() -> None:
    assert channel_target("reservation:50052") == "reservation:50052"
    assert service_config("reservation:50052") is None


def test_a_list_becomes_an_address_list_balanced_round_robin_over_healthy_replicas() -> None:
    value = "127.0.0.1:50051, 127.0.0.2:50061"
    assert channel_target(value) == "ipv4:127.0.0.1:50051,127.0.0.2:50061"
    config = json.loads(service_config(value) or "{}")
    assert config["loadBalancingConfig"] == [{"round_robin": {}}]
    assert config["healthCheckConfig"] == {"serviceName": ""}


def test_host_names_in_a_list_are_resolved_and_ipv6_gets_its_own_scheme() -> None:
    assert channel_target("localhost:1,127.0.0.1:2").startswith("ipv4:127.0.0.1:1,")
    assert channel_target("[::1]:1,[::1]:2") == "ipv6:[::1]:1,[::1]:2"


def test_a_dns_name_is_balanced_over_its_addresses() -> None:
    assert channel_target("dns:///reservation.booking.svc:50052") == "dns:///reservation.booking.svc:50052"
    assert service_config("dns:///reservation.booking.svc:50052") is not None


def test_only_rpcs_safe_to_repeat_are_retried() -> None:
    config = json.loads(service_config("a:1,b:2") or "{}")
    (method_config,) = config["methodConfig"]
    retried = {(name["service"].rsplit(".", 1)[-1], name["method"]) for name in method_config["name"]}
    assert ("AvailabilityService", "FindSlots") in retried
    for never in ("CreateHold", "ConfirmHold", "SendOtp", "VerifyOtp", "CancelAppointment", "EnqueueSms"):
        assert not any(method == never for _, method in retried)
    assert method_config["retryPolicy"]["retryableStatusCodes"] == ["UNAVAILABLE"]
    assert all(names for names in IDEMPOTENT.values())


@pytest.mark.parametrize("bad", ["a:1,", "a:1,b", "a:1,,b:2", "a:0,b:2", ":1,b:2"])
def test_a_bad_part_of_a_list_is_named(bad: str) -> None:
    with pytest.raises(ValueError):
        split_addresses(bad)
    with pytest.raises(ConfigError, match="RESERVATION_ADDR"):
        env_address({"RESERVATION_ADDR": bad}, "RESERVATION_ADDR", "x:1")


def test_env_accepts_lists_and_dns_names() -> None:
    assert env_address({"X_ADDR": "a:1,b:2"}, "X_ADDR", "d:1") == "a:1,b:2"
    assert env_address({"X_ADDR": "dns:///svc:1"}, "X_ADDR", "d:1") == "dns:///svc:1"
