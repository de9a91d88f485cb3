"""Which hosts and addresses a URL of ours may reach: the checks of the SSRF guard
(``netguard``) that need no connection, so a module that only validates a URL (a webhook's,
at import time) does not load the HTTP client with them."""

from __future__ import annotations

import ipaddress

_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def is_public_address(ip: str) -> bool:
    """True only for a globally routable unicast address (IPv4 or IPv6, as text)."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return False
    if isinstance(address, ipaddress.IPv6Address):
        # Addresses that carry an IPv4 address the packet ends up at are judged by that address.
        embedded = address.ipv4_mapped or address.sixtofour
        if embedded is None and address in _NAT64:
            embedded = ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
        if embedded is not None:
            return is_public_address(str(embedded))
        if address.is_site_local:
            return False
    return address.is_global and not (
        address.is_private
        or address.is_loopback
        or address.is_link_local
        or address.is_multicast
        or address.is_unspecified
        or address.is_reserved
    )


def is_allowlisted(host: str, port: int, allowlist: frozenset[str]) -> bool:
    """``host`` (as in a prepared URL, IPv6 without brackets) or ``host:port`` is allowlisted."""
    shown = f"[{host}]" if ":" in host else host
    return bool({host, shown, f"{shown}:{port}"} & allowlist)
