"""Allowed source networks per client: IPv4/IPv6 CIDRs or the explicit entry "any"."""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

ANY = "any"


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
    return out


@lru_cache(maxsize=256)
def _networks(entries: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...] | None:
    if ANY in entries:
        return None
    return tuple(ipaddress.ip_network(e, strict=False) for e in entries)


def address_allowed(address: str, entries: list[str]) -> bool:
    """True when ``address`` lies in one of ``entries``; an unparsable address is never allowed."""
    networks = _networks(tuple(entries))
    if networks is None:
        return True
    try:
        ip = ipaddress.ip_address(address.strip().strip("[]"))
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return any(ip in net for net in networks)
