"""Which URLs and addresses a URL from an event may reach: the policy alone, with no I/O.

URLs are read by ``urllib.parse``, the parser the fetcher connects by, and refused where another
parser could read them otherwise (user-info, backslashes, spaces, non-ASCII). An address is public unless it is
loopback, private, link-local, multicast, reserved, unspecified, shared (100.64.0.0/10) or
otherwise not global, also when it hides inside an IPv6 address (mapped, 6to4, Teredo, NAT64).
"""

from __future__ import annotations

import ipaddress
from typing import NamedTuple
from urllib.parse import urlsplit

SHARED = ipaddress.IPv4Network("100.64.0.0/10")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


class UrlRefused(ValueError):
    """A URL that cannot be trusted to mean one thing."""


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not a public one, or ``None``."""
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo and ip.teredo[1]):
            if embedded is not None and _refusal(embedded):
                return f"{_refusal(embedded)} (embedded)"
        if ip in NAT64:  # DNS64 on an IPv6-only subnet: judged by the IPv4 address it embeds
            embedded_why = _refusal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
            return f"NAT64 of a {embedded_why}" if embedded_why else None
    # the most precise name first: 169.254.169.254 (instance metadata) is link-local, though private too
    for name in ("loopback", "link_local", "private", "multicast", "reserved", "unspecified", "site_local"):
        if getattr(ip, f"is_{name}", False):
            return name.replace("_", "-")
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED:
        return "shared (100.64.0.0/10)"
    if not ip.is_global:
        return "non-global"
    return None


def address_refusal(address: str) -> str | None:
    """Why connecting to ``address`` (an IP literal) is refused for a URL from an event, or ``None``."""
    return _refusal(ipaddress.ip_address(address.split("%", 1)[0]))


def in_networks(address: str, networks: tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]) -> bool:
    return any(ipaddress.ip_address(address.split("%", 1)[0]) in network for network in networks)


def parse_networks(cidrs: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


class Url(NamedTuple):
    scheme: str
    host: str  # lower case; an IPv6 literal without its brackets
    port: int | None
    path: str  # with the query, as sent in the request line

    @property
    def netloc(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host + (f":{self.port}" if self.port is not None else "")

    def __str__(self) -> str:
        return f"{self.scheme}://{self.netloc}{self.path}"


def read_url(url: str) -> Url:
    """``url`` as the fetcher reads it: scheme, host, port and the path with its query (no fragment)."""
    parts = urlsplit(url)
    port = parts.port  # ValueError for a port that is not one
    path = (parts.path or "") + (f"?{parts.query}" if parts.query else "")
    return Url(parts.scheme.lower(), (parts.hostname or "").lower(), port, path)


def allows(entries: frozenset[str], host: str, port: int) -> bool:
    """Whether ``NOTIFY_ALLOWED_HOSTS`` lets an event's URL reach ``host:port``: an entry is a host, which
    allows port 443 alone, ``host:port`` for another port, or ``host:*`` for any."""
    for entry in entries:
        name, _, allowed_port = entry.rpartition(":") if not entry.endswith("]") and ":" in entry else (entry, "", "")
        name = name.strip("[]")
        if name == host and (allowed_port == "*" or int(allowed_port or 443) == port):
            return True
    return False


def checked_url(url: str) -> str:
    """``url`` as the fetcher reads it, once it means the same to every parser; else :class:`UrlRefused`."""
    if not url.isascii() or any(c in url for c in "\\ \t\r\n\x00") or not url.isprintable():
        raise UrlRefused("has characters parsers disagree on (backslash, space, control or non-ASCII)")
    try:
        parts = read_url(url)
        netloc = urlsplit(url).netloc
    except ValueError:
        raise UrlRefused("is not a URL") from None
    if "@" in netloc:
        raise UrlRefused("carries user-info (user@host)")
    if parts.scheme not in ("http", "https") or not parts.host:
        raise UrlRefused("is not an http(s) URL")
    return str(parts)
