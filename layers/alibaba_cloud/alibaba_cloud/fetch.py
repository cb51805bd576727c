"""HTTP with the guarantees a function exposed to callers needs, for every request it makes.

* **A wall-clock deadline.** Socket timeouts bound each read, not the request: a peer that drips a
  byte a second, or a TLS handshake that never ends, would hold the function past Lambda's own
  deadline. A watchdog shuts the request's socket down when its deadline comes, whatever phase it
  is in (connect, TLS, headers, body).
* **A size limit.** The body is read up to ``max_bytes`` and no further.
* **No redirects.** A 3xx is an answer: a signed request is never re-sent to another host.
* **Public addresses only**, for URLs an event carries (``public_only``): the host is resolved
  once, every address it resolves to is checked, and the connection goes to the checked address
  (no second lookup for DNS rebinding to answer differently).

URLs are read by urllib3's parser, the one that connects, and refused where another parser could
read them otherwise (user-info, backslashes, spaces, non-ASCII).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from dataclasses import dataclass

import requests
from urllib3 import exceptions as urllib3_exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, LocationParseError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection
from urllib3.util import parse_url

_local = threading.local()  # the guard of the request this thread is making


class DeadlineReached(Exception):
    """The request was cut at its deadline; ``sent`` says whether it had gone out (it may have been applied)."""

    def __init__(self, sent: bool) -> None:
        super().__init__("the deadline came before the answer")
        self.sent = sent


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit} bytes")
        self.limit = limit


class AddressRefused(NewConnectionError):
    """The host resolves to an address an event may not reach (loopback, private, link-local, …)."""

    def __init__(self, conn: object, host: str, address: str, why: str) -> None:
        super().__init__(conn, f"{host} resolves to {address} ({why})")
        self.reason_text = f"{host} resolves to {address}, a {why} address"


class UrlRefused(ValueError):
    """A URL that cannot be trusted to mean one thing."""


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    content: bytes


def _refusal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> str | None:
    """Why an address is not a public one, or ``None``."""
    if isinstance(ip, ipaddress.IPv6Address):
        for embedded in (ip.ipv4_mapped, ip.sixtofour, ip.teredo and ip.teredo[1]):
            if embedded is not None and _refusal(embedded):
                return f"{_refusal(embedded)} (embedded)"
        if ip in NAT64 and _refusal(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)):
            return "NAT64 of a non-public"
    for name in ("loopback", "private", "link_local", "multicast", "reserved", "unspecified", "site_local"):
        if getattr(ip, f"is_{name}", False):
            return name.replace("_", "-")
    if isinstance(ip, ipaddress.IPv4Address) and ip in SHARED:
        return "shared (100.64.0.0/10)"
    if not ip.is_global:
        return "non-global"
    return None


SHARED = ipaddress.IPv4Network("100.64.0.0/10")
NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def address_refusal(address: str) -> str | None:
    """Why connecting to ``address`` (an IP literal) is refused for a URL from an event, or ``None``."""
    return _refusal(ipaddress.ip_address(address.split("%", 1)[0]))


def checked_url(url: str) -> str:
    """``url`` as urllib3 reads it, once it means the same to every parser; else :class:`UrlRefused`."""
    if not url.isascii() or any(c in url for c in "\\ \t\r\n\x00") or not url.isprintable():
        raise UrlRefused("has characters parsers disagree on (backslash, space, control or non-ASCII)")
    try:
        parts = parse_url(url)
    except LocationParseError:
        raise UrlRefused("is not a URL") from None
    if parts.auth is not None or "@" in (parts.netloc or ""):
        raise UrlRefused("carries user-info (user@host)")
    if parts.scheme not in ("http", "https") or not parts.host:
        raise UrlRefused("is not an http(s) URL")
    return parts.url


class _Guard:
    """One request's watchdog: the sockets it uses, shut down together when its deadline comes."""

    def __init__(self, public_only: bool, allowed_networks: tuple = ()) -> None:
        self.public_only = public_only
        self.allowed_networks = allowed_networks
        self.sockets: list[socket.socket] = []
        self.expired = False
        self.done = False
        self.sent = False
        self.lock = threading.Lock()

    def watch(self, sock: socket.socket) -> None:
        with self.lock:
            self.sockets.append(sock)
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self.lock:
            if self.done:  # the request is over; its connection may already serve another
                return
            self.expired = True
            for sock in self.sockets:
                _shut(sock)

    def finish(self) -> bool:
        """End the watch; whether the deadline had cut the request."""
        with self.lock:
            self.done = True
            return self.expired


def _shut(sock: socket.socket) -> None:
    try:  # the plain socket's shutdown: it wakes a read blocked in another thread, TLS or not
        socket.socket.shutdown(sock, socket.SHUT_RDWR)
    except OSError:
        pass


class _Watched:
    """What urllib3's connections do, plus: sockets registered with the request's guard; public-only resolution."""

    host: str
    port: int
    timeout: float
    source_address: tuple[str, int] | None
    socket_options: object
    sock: socket.socket | None

    def _new_conn(self) -> socket.socket:
        guard = getattr(_local, "guard", None)
        sock = self._connect_public(guard) if guard is not None and guard.public_only else super()._new_conn()  # type: ignore[misc]
        if guard is not None:
            guard.watch(sock)
        return sock

    def _connect_public(self, guard: _Guard) -> socket.socket:
        host = self.host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, self.port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for address in addresses:  # every one: a resolver may answer a public and a private one
            why = address_refusal(address)
            if why and not any(ipaddress.ip_address(address.split("%", 1)[0]) in net for net in guard.allowed_networks):
                raise AddressRefused(self, self.host, address, why)
        try:  # the checked address itself, never the name again
            return urllib3_connection.create_connection(
                (addresses[0], self.port), self.timeout, source_address=self.source_address,
                socket_options=self.socket_options,  # type: ignore[arg-type]
            )
        except socket.timeout as exc:
            raise ConnectTimeoutError(self, f"Connection to {self.host} timed out.") from exc
        except OSError as exc:
            raise NewConnectionError(self, f"Failed to establish a new connection: {exc}") from exc  # type: ignore[arg-type]

    def request(self, *args: object, **kwargs: object) -> None:
        guard = getattr(_local, "guard", None)
        if guard is not None:
            if self.sock is not None:  # a pooled connection: watch it for this request
                guard.watch(self.sock)
            guard.sent = True
        super().request(*args, **kwargs)  # type: ignore[misc]


class _HTTPConnection(_Watched, HTTPConnection):
    pass


class _HTTPSConnection(_Watched, HTTPSConnection):
    pass


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _Adapter(requests.adapters.HTTPAdapter):
    def init_poolmanager(self, *args: object, **kwargs: object) -> None:
        super().init_poolmanager(*args, **kwargs)  # type: ignore[arg-type]
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


class Fetcher:
    """One pooled session (kept for the container's life) and the guarantees above on each request."""

    def __init__(
        self, connect_timeout: float, read_timeout: float, *, max_bytes: int, public_only: bool = False,
        allowed_networks: tuple[str, ...] = (), pool_size: int = 64,
    ) -> None:
        """``max_bytes`` 0: the body is not read at all. ``allowed_networks``: CIDRs a public-only
        fetcher may reach anyway (a local run's receivers on 127.0.0.1)."""
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.max_bytes = max_bytes
        self.public_only = public_only
        self.allowed_networks = tuple(ipaddress.ip_network(n, strict=False) for n in allowed_networks)
        self.session = requests.Session()
        # an event's URL goes nowhere but its checked address: no proxy or netrc from the environment
        self.session.trust_env = not public_only
        adapter = _Adapter(pool_connections=4, pool_maxsize=pool_size)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)

    def post(self, url: str, body: bytes, headers: dict[str, str], deadline: float | None, read_timeout: float | None = None) -> Answer:
        """One POST, ended by ``deadline`` (a ``time.monotonic()`` value) whatever the peer does.

        Raises :class:`DeadlineReached`, :class:`TooLarge`, or ``requests``' exceptions (with
        :class:`AddressRefused` or ``NameResolutionError`` as their reason).
        """
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise DeadlineReached(sent=False)
        read = min(read_timeout or self.read_timeout, self.read_timeout)
        timeout = (self.connect_timeout, read) if remaining is None else (min(self.connect_timeout, remaining), min(read, remaining))
        guard = _Guard(self.public_only, self.allowed_networks)
        timer = None
        if remaining is not None:
            timer = threading.Timer(remaining, guard.expire)
            timer.daemon = True
            timer.start()
        _local.guard = guard
        try:
            response = self.session.post(url, data=body, headers=headers, timeout=timeout, allow_redirects=False, stream=True)
            try:
                content = self._read(response)
            except BaseException:
                response.close()
                raise
            if guard.finish():  # cut at the deadline, though the read looked complete
                response.close()
                raise DeadlineReached(sent=True)
            if self.max_bytes:
                response.raw.release_conn()  # read to its end: the connection goes back to the pool
            else:
                response.close()  # the body is not wanted: the connection goes with it
            return Answer(response.status_code, dict(response.headers), content)
        except (requests.RequestException, urllib3_exceptions.HTTPError, OSError) as exc:
            # the watchdog cut it, or a socket timeout shortened to the deadline fired a moment before it
            if guard.finish() or (deadline is not None and time.monotonic() >= deadline - 0.05):
                raise DeadlineReached(guard.sent) from None
            if isinstance(exc, requests.RequestException):
                raise
            if isinstance(exc, urllib3_exceptions.ReadTimeoutError):
                raise requests.ReadTimeout(exc) from None
            raise requests.ConnectionError(exc) from None
        finally:
            _local.guard = None
            guard.finish()
            if timer is not None:
                timer.cancel()

    def _read(self, response: requests.Response) -> bytes:
        if self.max_bytes == 0:
            return b""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise TooLarge(self.max_bytes)
        content = response.raw.read(self.max_bytes + 1, decode_content=True) or b""
        if len(content) > self.max_bytes:
            raise TooLarge(self.max_bytes)
        return content
