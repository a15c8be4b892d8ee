"""Who is calling, behind a proxy: the address the console's sign-in limit counts.

Without TRUSTED_PROXIES the peer's address is the caller's (X-Forwarded-For is ignored: anyone can
send it). Behind a load balancer or ingress, every request comes from the proxy, so one address
would lock every clinic's console out; list the proxies' networks and the caller is the right-most
X-Forwarded-For entry that is not one of them (entries to its left could be forged by the caller).
"""

from __future__ import annotations

import ipaddress

Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def parse_networks(value: str) -> tuple[Network, ...]:
    """"10.0.0.0/8, 192.168.1.7" → networks (raises ValueError naming the bad entry)."""
    networks: list[Network] = []
    for part in (p.strip() for p in value.split(",")):
        if part:
            try:
                networks.append(ipaddress.ip_network(part, strict=False))
            except ValueError:
                raise ValueError(f"{part!r} is not an IP address or network") from None
    return tuple(networks)


def _trusted(address: str, proxies: tuple[Network, ...]) -> bool:
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return False
    return any(ip in network for network in proxies)


def client_address(peer: str, forwarded_for: str, proxies: tuple[Network, ...]) -> str:
    """The caller's address: the peer's, or behind trusted proxies the nearest untrusted hop."""
    if not proxies or not _trusted(peer, proxies):
        return peer
    hops = [hop.strip() for hop in forwarded_for.split(",") if hop.strip()]
    for hop in reversed(hops):
        if not _trusted(hop, proxies):
            return hop
    return hops[0] if hops else peer
