"""The caller's address for the console's sign-in limit, with and without trusted proxies."""

from __future__ import annotations

import pytest

from common.config import ConfigError
from gateway.client_address import client_address, parse_networks
from gateway.config import checked_proxies

PROXIES = parse_networks("10.0.0.0/8, 192.168.1.7")


def test_without_trusted_proxies_the_header_is_ignored() -> None:
    assert client_address("203.0.113.9", "198.51.100.1", ()) == "203.0.113.9"


def test_a_request_not_from_a_trusted_proxy_keeps_its_peer_address() -> None:
    assert client_address("203.0.113.9", "198.51.100.1", PROXIES) == "203.0.113.9"


def test_behind_proxies_the_nearest_untrusted_hop_is_the_caller_and_forged_entries_are_skipped() -> None:
    # The caller forged "1.2.3.4" in front; the ingress (10.1.1.1) appended the real address.
    assert client_address("10.0.0.5", "1.2.3.4, 198.51.100.1, 10.1.1.1", PROXIES) == "198.51.100.1"
    assert client_address("192.168.1.7", "198.51.100.2", PROXIES) == "198.51.100.2"


def test_only_proxies_in_the_chain_gives_the_first_hop_and_no_header_the_peer() -> None:
    assert client_address("10.0.0.5", "10.0.0.9, 10.0.0.8", PROXIES) == "10.0.0.9"
    assert client_address("10.0.0.5", "", PROXIES) == "10.0.0.5"


def test_the_setting_is_checked_naming_the_variable() -> None:
    assert checked_proxies({"TRUSTED_PROXIES": "10.0.0.0/8,::1"})[1].version == 6
    assert checked_proxies({}) == ()
    with pytest.raises(ConfigError, match="TRUSTED_PROXIES"):
        checked_proxies({"TRUSTED_PROXIES": "10.0.0.0/8,proxy.local"})
