"""Where a gRPC client connects: one address, several (client-side round robin), or a DNS name.

`*_ADDR` is "host:port", a comma-separated list "h1:p1,h2:p2" (several replicas), or
"dns:///name:port" (one name with several addresses, e.g. a Kubernetes headless Service). With
several replicas the channel balances calls round robin over the ones whose `grpc.health.v1` says
SERVING (a replica whose database is unreachable, or that is shutting down, gets no new calls), and
retries a call refused with UNAVAILABLE on another replica — only for RPCs that are safe to repeat.
A list's host names are resolved once, when the channel opens (a DNS name is re-resolved by gRPC).
"""

from __future__ import annotations

import ipaddress
import json
import socket

# RPCs that may be sent twice with no second effect: reads, and writes that are idempotent by
# nature (the same clinic file, the same delivery status). Everything else is sent once.
IDEMPOTENT = {
    "booking.availability.v1.AvailabilityService": (
        "UpsertClinic", "GetClinic", "GetTenantCredentials", "ListTenants", "ListApiKeys",
        "AuthenticateApiKey", "ListProviders", "ListServices", "FindSlots", "ValidateSlot", "GetBookingRules",
    ),
    "booking.reservation.v1.ReservationService": (
        "GetHold", "GetAppointment", "FindAppointments", "ListBusy", "ListAppointments",
    ),
    "booking.notification.v1.NotificationService": (
        "GetMessage", "ListMessages", "GetOptOut", "ListDevTexts", "RecordDeliveryStatus",
    ),
}  # fmt: skip


def split_addresses(value: str) -> list[str]:
    """The "host:port" parts of an `*_ADDR` value (raises ValueError naming the bad part)."""
    if value.startswith("dns:"):
        return [value]
    parts = [part.strip() for part in value.split(",")]
    for part in parts:
        host, sep, port = part.rpartition(":")
        if not sep or not host or not port.isdigit() or not 0 < int(port) <= 65535:
            raise ValueError(f"{part!r} is not a host:port address")
    return parts


def balanced(value: str) -> bool:
    """True when the value names several replicas (or a DNS name that may have several)."""
    return value.startswith("dns:") or "," in value


def channel_target(value: str) -> str:
    """The gRPC target for an `*_ADDR` value: unchanged for one address, else an ipv4:/ipv6: list."""
    if not balanced(value) or value.startswith("dns:"):
        return value
    resolved = [_resolve(part) for part in split_addresses(value)]
    ips = [ip for addresses in resolved for ip in addresses]
    six = [ip for ip in ips if ip.startswith("[")]
    if six and len(six) != len(ips):  # one target holds one family: prefer IPv4
        ips = [ip for ip in ips if not ip.startswith("[")]
    scheme = "ipv6" if six and len(six) == len(ips) else "ipv4"
    return f"{scheme}:{','.join(dict.fromkeys(ips))}"


def _resolve(address: str) -> list[str]:
    host, _, port = address.rpartition(":")
    host = host.strip("[]")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        infos = socket.getaddrinfo(host, int(port), type=socket.SOCK_STREAM)
        ips = [ipaddress.ip_address(info[4][0]) for info in infos]
    else:
        ips = [ip]
    return [f"[{ip}]:{port}" if ip.version == 6 else f"{ip}:{port}" for ip in ips]


def service_config(value: str) -> str | None:
    """The channel's service config: round robin over healthy replicas, retries for IDEMPOTENT."""
    if not balanced(value):
        return None
    return json.dumps({
        "loadBalancingConfig": [{"round_robin": {}}],
        "healthCheckConfig": {"serviceName": ""},
        "methodConfig": [{
            "name": [{"service": service, "method": name} for service, names in IDEMPOTENT.items() for name in names],
            "retryPolicy": {
                "maxAttempts": 3, "initialBackoff": "0.05s", "maxBackoff": "0.5s", "backoffMultiplier": 2,
                "retryableStatusCodes": ["UNAVAILABLE"],
            },
        }],
    })  # fmt: skip
