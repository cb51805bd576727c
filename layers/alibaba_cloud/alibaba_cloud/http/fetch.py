"""HTTP with the guarantees a function exposed to callers needs, for every request it makes.

* **A wall-clock deadline.** Socket timeouts bound each read, not the request: a peer that drips a
  byte a second, or a TLS handshake that never ends, would hold the function past Lambda's own
  deadline. A watchdog shuts the request's socket down when its deadline comes, whatever phase it
  is in (connect, TLS, headers, body).
* **Bounded answers.** The body is read up to ``max_bytes`` and no further, before and after
  decompression; the standard library bounds the headers (100 of them, 64 KiB a line).
* **No redirects, no retries, no cookies, no proxies from the environment.** A 3xx is an answer: a
  signed request is never re-sent to another host, and nothing one peer says is carried to another.
* **Public addresses only**, for URLs an event carries (``public_only``): the host is resolved
  once, every address it resolves to is checked (:mod:`.addresses`), and the connection goes to
  the checked address (no second lookup for DNS rebinding to answer differently).

Built on the standard library's ``http.client`` with ``requests``' CA bundle (certifi's), one TLS
context per container and keep-alive connections per host: urllib3 and ``requests`` would add
about 40 ms of imports to every cold start for machinery (retries, proxies, cookies, redirects)
that no request here may use.
"""

from __future__ import annotations

import http.client
import os
import select
import socket
import ssl
import sys
import threading
import time
import zlib
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from .. import __version__

USER_AGENT = f"alibaba-cloud-lifecycle/{__version__} Python/{'.'.join(map(str, sys.version_info[:3]))}"
# What requests sent by default, so nothing changes on the wire but the User-Agent, which names the product.
DEFAULT_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept-Encoding": "gzip, deflate",
    "Accept": "*/*",
    "Connection": "keep-alive",
}
READ_CHUNK = 64 * 1024
create_connection = socket.create_connection  # the one place a socket is connected (tests route it)

_local = threading.local()  # the guard of the request this thread is making
_tls: dict[str, ssl.SSLContext] = {}
_tls_lock = threading.Lock()


class FetchError(Exception):
    """A request that got no answer; ``sent`` says whether it may have reached the peer (and been applied)."""

    def __init__(self, message: str, sent: bool) -> None:
        super().__init__(message)
        self.sent = sent


class DeadlineReached(FetchError):
    """The request was cut at its deadline."""

    def __init__(self, sent: bool) -> None:
        super().__init__("the deadline came before the answer", sent)


class TooLarge(FetchError):
    def __init__(self, limit: int) -> None:
        super().__init__(f"the answer is larger than {limit} bytes", sent=True)
        self.limit = limit


class NotResolved(FetchError):
    """The host name does not resolve."""


class Refused(FetchError):
    """The host resolves to an address an event may not reach; the message says which and why."""


class ConnectFailed(FetchError):
    """No connection could be made (refused, unreachable, no TLS): the request never left."""


class ConnectTimedOut(FetchError):
    """No connection within the connect timeout: the request never left."""


class ReadTimedOut(FetchError):
    """Connected and sent, but no answer within the read timeout."""


class ConnectionBroken(FetchError):
    """The connection failed after the request went out (reset, dropped, a malformed answer)."""


class AddressRefused(OSError):
    """Raised while connecting: the host resolves to an address an event may not reach."""

    def __init__(self, host: str, address: str, why: str) -> None:
        super().__init__(f"{host} resolves to {address}, a {why} address")


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    content: bytes


class _Guard:
    """One request's watchdog: the sockets it uses, shut down together when its deadline comes."""

    def __init__(self, public_only: bool, allowed_networks: tuple = (), deadline: float | None = None) -> None:
        self.public_only = public_only
        self.allowed_networks = allowed_networks
        self.deadline = deadline  # time.monotonic(): name resolution, which has no socket to cut, waits no longer
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


def _connect(address: tuple[str, int], timeout: float, source_address: object = None) -> socket.socket:
    """``http.client``'s way to make a connection, watched by the request's guard; public-only where it says."""
    guard = getattr(_local, "guard", None)
    host, port = address
    host = host.strip("[]").rstrip(".")  # a fully qualified name resolves without its final dot, as urllib3 does
    addresses = _resolve(host, port, timeout, None if guard is None else guard.deadline)
    if guard is not None and guard.public_only:
        _check_public(host, addresses, guard)
        addresses = addresses[:1]  # the checked address itself, never the name again
    sock = _first_connection(addresses, port, timeout)
    if guard is not None:
        guard.watch(sock)
    return sock


def _resolve(host: str, port: int, timeout: float, deadline: float | None) -> list[str]:
    """The host's addresses, in the resolver's order. A lookup has no socket for the watchdog to cut, so
    it runs aside and is waited for no longer than the connect timeout and the request's deadline."""
    try:
        literal = socket.inet_pton(socket.AF_INET6 if ":" in host else socket.AF_INET, host)
    except OSError:
        literal = None
    if literal is not None:
        return [host]
    found: dict[str, Any] = {}

    def lookup() -> None:
        try:
            found["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except Exception as exc:  # handed to the waiting thread
            found["error"] = exc

    wait = timeout if deadline is None else max(0.0, min(timeout, deadline - time.monotonic()))
    resolver = threading.Thread(target=lookup, name="resolve", daemon=True)
    resolver.start()
    resolver.join(wait)
    if resolver.is_alive():
        raise TimeoutError(f"{host} did not resolve within {wait:.1f} s")
    if "error" in found:
        raise found["error"]
    return list(dict.fromkeys(info[4][0] for info in found["infos"]))


def _check_public(host: str, addresses: list[str], guard: _Guard) -> None:
    from .addresses import address_refusal, in_networks  # event URLs only: trusted hosts never pay for it

    for address in addresses:  # every one: a resolver may answer a public and a private one
        why = address_refusal(address)
        if why and not in_networks(address, guard.allowed_networks):
            raise AddressRefused(host, address, why)


def _first_connection(addresses: list[str], port: int, timeout: float) -> socket.socket:
    """A connection to the first address that takes one, as ``socket.create_connection`` tries a name's."""
    failure: OSError | None = None
    for address in addresses:
        try:
            return create_connection((address, port), timeout)
        except OSError as exc:
            failure = exc
    raise failure or OSError(f"no address to connect to on port {port}")


def ca_bundle() -> str:
    """``requests``' CA bundle, certifi's ``cacert.pem``, found where the layer ships it without importing
    certifi: its ``importlib.resources`` machinery (zipfile, bz2, lzma) would cost every cold start
    about 5 ms for a file that is already on disk."""
    from importlib.util import find_spec

    spec = find_spec("certifi")
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = os.path.join(folder, "cacert.pem")
        if os.path.isfile(path):
            return path
    import certifi  # installed some other way (a zip): let it find its own file

    return certifi.where()


def _tls_context() -> ssl.SSLContext:
    """One context per container: loading the CA bundle is the dearest part of a first TLS connection."""
    with _tls_lock:
        if "default" not in _tls:
            _tls["default"] = ssl.create_default_context(cafile=ca_bundle())
        return _tls["default"]


def _failure(exc: BaseException, sent: bool) -> FetchError:
    """What went wrong, said as precisely as the exception and the phase (before or after sending) allow."""
    if isinstance(exc, AddressRefused):
        return Refused(str(exc), sent=False)
    if isinstance(exc, socket.gaierror):
        return NotResolved("the host does not resolve", sent=False)
    if isinstance(exc, zlib.error):
        return ConnectionBroken("the answer's compression is corrupt", sent=True)
    if not sent:
        if isinstance(exc, TimeoutError):
            return ConnectTimedOut("no connection in time", sent=False)
        if isinstance(exc, ssl.SSLError | ssl.CertificateError):
            return ConnectFailed(f"TLS: {getattr(exc, 'reason', None) or type(exc).__name__}", sent=False)
        return ConnectFailed(_cause(exc), sent=False)
    if isinstance(exc, TimeoutError):
        return ReadTimedOut("no answer in time", sent=True)
    return ConnectionBroken(type(exc).__name__, sent=True)


def _cause(exc: BaseException) -> str:
    """The OS's words for why a connection failed (``[Errno 111] Connection refused``)."""
    return str(exc) or type(exc).__name__


class Fetcher:
    """Keep-alive connections per host (kept for the container's life) and the guarantees above on each request."""

    def __init__(
        self,
        connect_timeout: float,
        read_timeout: float,
        *,
        max_bytes: int,
        public_only: bool = False,
        allowed_networks: tuple[str, ...] = (),
        pool_size: int = 64,
    ) -> None:
        """``max_bytes`` 0: the body is not read at all. ``allowed_networks``: CIDRs a public-only
        fetcher may reach anyway (a local run's receivers on 127.0.0.1)."""
        self.connect_timeout, self.read_timeout = connect_timeout, read_timeout
        self.max_bytes = max_bytes
        self.public_only = public_only
        self.pool_size = pool_size
        if allowed_networks:
            from .addresses import parse_networks

            self.allowed_networks = parse_networks(allowed_networks)
        else:
            self.allowed_networks = ()
        self._idle: dict[tuple[str, str, int], list[http.client.HTTPConnection]] = {}
        self._lock = threading.Lock()

    def post(
        self, url: str, body: bytes, headers: dict[str, str], deadline: float | None, read_timeout: float | None = None
    ) -> Answer:
        return self.request("POST", url, body, headers, deadline, read_timeout)

    def request(
        self,
        method: str,
        url: str,
        body: bytes | None,
        headers: dict[str, str],
        deadline: float | None,
        read_timeout: float | None = None,
    ) -> Answer:
        """One request, ended by ``deadline`` (a ``time.monotonic()`` value) whatever the peer does.

        Raises a :class:`FetchError`: :class:`DeadlineReached`, :class:`TooLarge`, :class:`Refused`,
        :class:`NotResolved`, :class:`ConnectFailed`, :class:`ConnectTimedOut`, :class:`ReadTimedOut`
        or :class:`ConnectionBroken`.
        """
        remaining = None if deadline is None else deadline - time.monotonic()
        if remaining is not None and remaining <= 0:
            raise DeadlineReached(sent=False)
        read = min(read_timeout or self.read_timeout, self.read_timeout)
        connect = self.connect_timeout
        if remaining is not None:
            connect, read = min(connect, remaining), min(read, remaining)
        parts = urlsplit(url)
        key = (parts.scheme, parts.hostname or "", parts.port or (443 if parts.scheme == "https" else 80))
        target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        guard = _Guard(self.public_only, self.allowed_networks, deadline)
        timer = None
        if remaining is not None:
            timer = threading.Timer(remaining, guard.expire)
            timer.daemon = True
            timer.start()
        _local.guard = guard
        conn = None
        try:
            conn = self._connection(key, connect, guard)
            conn.sock.settimeout(read)  # type: ignore[union-attr]
            guard.sent = True
            conn.request(method, target, body=body, headers={**DEFAULT_HEADERS, **headers})
            response = conn.getresponse()
            content = self._read(response)
            if guard.finish():  # cut at the deadline, though the read looked complete
                raise DeadlineReached(sent=True)
            answer = Answer(response.status, _headers(response), content)
            if self.max_bytes and response.isclosed() and not response.will_close:
                self._keep(key, conn)  # read to its end: the connection serves the next request
                conn = None
            return answer
        except FetchError:
            raise
        except (OSError, http.client.HTTPException, zlib.error) as exc:
            # the watchdog cut it, or a socket timeout shortened to the deadline fired a moment before it
            if guard.finish() or (deadline is not None and time.monotonic() >= deadline - 0.05):
                raise DeadlineReached(guard.sent) from None
            raise _failure(exc, guard.sent) from None
        finally:
            _local.guard = None
            guard.finish()
            if timer is not None:
                timer.cancel()
            if conn is not None:
                conn.close()

    def _connection(self, key: tuple[str, str, int], timeout: float, guard: _Guard) -> http.client.HTTPConnection:
        """An idle connection to the host that is still open, else a new one, connected."""
        with self._lock:
            idle = self._idle.get(key) or []
            while idle:
                conn = idle.pop()
                if conn.sock is not None and not _dropped(conn.sock):
                    guard.watch(conn.sock)
                    return conn
                conn.close()
        scheme, host, port = key
        if scheme == "https":
            conn: http.client.HTTPConnection = http.client.HTTPSConnection(
                host, port, timeout=timeout, context=_tls_context()
            )
        else:
            conn = http.client.HTTPConnection(host, port, timeout=timeout)
        conn._create_connection = _connect  # type: ignore[attr-defined]
        try:
            conn.connect()
        except BaseException:
            conn.close()
            raise
        return conn

    def _keep(self, key: tuple[str, str, int], conn: http.client.HTTPConnection) -> None:
        with self._lock:
            idle = self._idle.setdefault(key, [])
            if len(idle) < self.pool_size:
                idle.append(conn)
                return
        conn.close()

    def _read(self, response: http.client.HTTPResponse) -> bytes:
        """At most ``max_bytes`` of the body, decompressed (gzip, deflate) within the same bound."""
        if self.max_bytes == 0:
            return b""
        declared = response.getheader("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise TooLarge(self.max_bytes)
        decoder = _decoder(response.getheader("Content-Encoding", ""))
        limit, raw_read, out = self.max_bytes + 1, 0, bytearray()
        while True:
            chunk = response.read(min(READ_CHUNK, limit - raw_read))
            if not chunk:
                break
            raw_read += len(chunk)
            out += decoder.decompress(chunk, limit - len(out)) if decoder else chunk
            if len(out) >= limit or raw_read >= limit or (decoder and decoder.unconsumed_tail):
                raise TooLarge(self.max_bytes)
        if decoder:
            out += decoder.flush()
            if len(out) >= limit:
                raise TooLarge(self.max_bytes)
        return bytes(out)


def _decoder(encoding: str) -> zlib._Decompress | None:
    encoding = encoding.strip().lower()
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompressobj(16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        return zlib.decompressobj(32 + zlib.MAX_WBITS)  # zlib-wrapped, as the RFC says (and gzip, by its header)
    return None


def _headers(response: http.client.HTTPResponse) -> dict[str, str]:
    """The answer's headers, repeated ones joined by commas (as urllib3 and requests give them)."""
    merged: dict[str, str] = {}
    for name, value in response.getheaders():
        merged[name] = f"{merged[name]}, {value}" if name in merged else value
    return merged


def _dropped(sock: socket.socket) -> bool:
    """Whether an idle keep-alive connection was closed (or written to) by the peer: readable means gone."""
    try:
        poller = select.poll()
        poller.register(sock, select.POLLIN)
        return bool(poller.poll(0))
    except (OSError, ValueError):
        return True
