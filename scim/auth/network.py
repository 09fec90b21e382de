"""Allowed source networks per client (IPv4/IPv6 CIDRs or the explicit entry "any") and the caller's address.

The caller's address comes from a header the platform's front end writes (docs/security.md, "Client address"):
by default the last X-Forwarded-For hop, which the App Service front end (and scim/dev/devhost.py locally) appends
after whatever the caller sent, so a caller-supplied prefix never becomes the address. SCIM_CLIENT_ADDRESS_HEADER
names another header (for example ``client-ip``) where a deployment's front end differs.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from functools import lru_cache

ANY = "any"
UNKNOWN = "unknown"  # the address when the header is missing or holds no IP address; only "any" allows it
DEFAULT_ADDRESS_HEADER = "x-forwarded-for"

IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network
IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address


def validate_networks(entries: Iterable[str]) -> list[str]:
    """Canonical CIDR strings (or "any"); ValueError names the first entry that is not one."""
    out: list[str] = []
    for entry in entries:
        text = entry.strip()
        if text.lower() in (ANY, "*"):
            out.append(ANY)
            continue
        try:
            out.append(str(ipaddress.ip_network(text, strict=False)))
        except ValueError:
            raise ValueError(f"{text!r} is not an IPv4/IPv6 address or CIDR range (or 'any')") from None
    if not out:
        raise ValueError("at least one network (or 'any') is required")
    return list(dict.fromkeys(out))


@lru_cache(maxsize=256)
def _networks(entries: tuple[str, ...]) -> tuple[IPNetwork, ...] | None:
    if ANY in entries:
        return None
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def parse_address(text: str) -> IPAddress | None:
    """An IP address from ``1.2.3.4``, ``1.2.3.4:port``, ``[v6]:port`` or a bare IPv6 address; None otherwise."""
    text = text.strip()
    if text.startswith("["):  # [IPv6]:port (RFC 3986 §3.2.2 host form)
        text = text[1:].split("]", 1)[0]
    elif text.count(":") == 1:  # IPv4:port, the form App Service's front end appends
        text = text.split(":", 1)[0]
    try:
        ip = ipaddress.ip_address(text.split("%", 1)[0])  # drop an IPv6 zone id
    except ValueError:
        return None
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        return ip.ipv4_mapped
    return ip


def address_allowed(address: str, entries: list[str]) -> bool:
    """True when ``address`` lies in one of ``entries``; an unparsable address is allowed only by "any"."""
    networks = _networks(tuple(entries))
    if networks is None:
        return True
    ip = parse_address(address)
    return ip is not None and any(ip in net for net in networks)


def client_address(headers: Mapping[str, str], header: str = DEFAULT_ADDRESS_HEADER) -> str:
    """The caller's canonical address from the last entry of ``header`` (names lower-cased), or "unknown".

    Only the last entry counts: proxies append, so everything before it is whatever the caller chose to send.
    """
    raw = headers.get(header, "")
    ip = parse_address(raw.rsplit(",", 1)[-1])
    return UNKNOWN if ip is None else str(ip)


def throttle_key(address: str) -> str:
    """The unit an address is throttled by: the IPv4 address, or the IPv6 /64 (one host usually owns a /64)."""
    ip = parse_address(address)
    if isinstance(ip, ipaddress.IPv6Address):
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return UNKNOWN if ip is None else str(ip)
