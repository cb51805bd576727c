"""HTTP with the guarantees a function exposed to callers needs, for every request it makes.

* **A wall-clock deadline.** Socket timeouts bound each read, not the request: a peer that drips a
  byte a second, or a TLS handshake that never ends, would hold the function past Lambda's own
  deadline. A watchdog shuts the request's socket down when its deadline comes, whatever phase it
  is in (connect, TLS, headers, body).
* **A size limit.** The body is read up to ``max_bytes`` and no further.
* **No redirects, no retries, no cookies, no proxies from the environment.** A 3xx is an answer: a
  signed request is never re-sent to another host, and nothing one peer says is carried to another.
* **Public addresses only**, for URLs an event carries (``public_only``): the host is resolved
  once, every address it resolves to is checked (:mod:`.addresses`), and the connection goes to
  the checked address (no second lookup for DNS rebinding to answer differently).

Built on urllib3, the transport ``requests`` itself uses, with ``requests``' CA bundle (certifi):
a ``requests.Session`` would add a cookie jar, proxy and ``.netrc`` lookups and about 30 ms of
imports to every cold start, none of which a request here wants.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from dataclasses import dataclass

import certifi
import urllib3
from urllib3 import PoolManager, Timeout
from urllib3 import exceptions as urllib3_exceptions
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util import connection as urllib3_connection

from .. import __version__

USER_AGENT = (
    f"alibaba-cloud-lifecycle/{__version__} Python/{'.'.join(map(str, sys.version_info[:3]))} "
    f"urllib3/{urllib3.__version__}"
)
# What requests sent by default, so nothing changes on the wire but the User-Agent, which names the product.
DEFAULT_HEADERS = {
    "User-Agent": USER_AGENT,
    "Accept-Encoding": "gzip, deflate",
    "Accept": "*/*",
    "Connection": "keep-alive",
}

_local = threading.local()  # the guard of the request this thread is making


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
    """No connection could be made (refused, unreachable): the request never left."""


class ConnectTimedOut(FetchError):
    """No connection within the connect timeout: the request never left."""


class ReadTimedOut(FetchError):
    """Connected and sent, but no answer within the read timeout."""


class ConnectionBroken(FetchError):
    """The connection failed after it was made (reset, dropped, a malformed answer)."""


class AddressRefused(NewConnectionError):
    """Raised inside a connection: the host resolves to an address an event may not reach."""

    def __init__(self, conn: object, host: str, address: str, why: str) -> None:
        super().__init__(conn, f"{host} resolves to {address} ({why})")  # type: ignore[arg-type]
        self.reason_text = f"{host} resolves to {address}, a {why} address"


@dataclass(frozen=True)
class Answer:
    status: int
    headers: dict[str, str]
    content: bytes


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
        from .addresses import address_refusal, in_networks  # event URLs only: trusted hosts never pay for it

        host = self.host.strip("[]")
        try:
            infos = socket.getaddrinfo(host, self.port, 0, socket.SOCK_STREAM)
        except socket.gaierror as exc:
            raise NameResolutionError(self.host, self, exc) from exc  # type: ignore[arg-type]
        addresses = list(dict.fromkeys(info[4][0] for info in infos))
        for address in addresses:  # every one: a resolver may answer a public and a private one
            why = address_refusal(address)
            if why and not in_networks(address, guard.allowed_networks):
                raise AddressRefused(self, self.host, address, why)
        try:  # the checked address itself, never the name again
            return urllib3_connection.create_connection(
                (addresses[0], self.port),
                self.timeout,
                source_address=self.source_address,
                socket_options=self.socket_options,  # type: ignore[arg-type]
            )
        except TimeoutError as exc:
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


def _cause(reason: Exception) -> str:
    """The OS's words for why a connection failed (``[Errno 111] Connection refused``), without the URL."""
    text = str(reason)
    return text.rsplit(": ", 1)[-1] if ": " in text else type(reason).__name__


def _failure(exc: Exception, sent: bool) -> FetchError:
    """urllib3's exception as one of ours, most precise first (a NewConnectionError is a ConnectTimeoutError)."""
    if isinstance(exc, AddressRefused):
        return Refused(exc.reason_text, sent=False)
    if isinstance(exc, NameResolutionError):
        return NotResolved("the host does not resolve", sent=False)
    if isinstance(exc, NewConnectionError):
        return ConnectFailed(_cause(exc), sent=False)
    if isinstance(exc, ConnectTimeoutError):
        return ConnectTimedOut("no connection in time", sent=False)
    if isinstance(exc, urllib3_exceptions.ReadTimeoutError):
        return ReadTimedOut("no answer in time", sent=True)
    return ConnectionBroken(type(exc).__name__, sent=sent)


class Fetcher:
    """One pool of connections (kept for the container's life) and the guarantees above on each request."""

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
        if allowed_networks:
            from .addresses import parse_networks

            self.allowed_networks = parse_networks(allowed_networks)
        else:
            self.allowed_networks = ()
        self.pool = PoolManager(num_pools=4, maxsize=pool_size, cert_reqs="CERT_REQUIRED", ca_certs=certifi.where())
        self.pool.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}  # type: ignore[assignment]

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
        guard = _Guard(self.public_only, self.allowed_networks)
        timer = None
        if remaining is not None:
            timer = threading.Timer(remaining, guard.expire)
            timer.daemon = True
            timer.start()
        _local.guard = guard
        try:
            response = self.pool.urlopen(
                method,
                url,
                body=body,
                headers={**DEFAULT_HEADERS, **headers},
                timeout=Timeout(connect=connect, read=read),
                retries=False,
                redirect=False,
                preload_content=False,
            )
            try:
                content = self._read(response)
            except BaseException:
                _discard(response)
                raise
            if guard.finish():  # cut at the deadline, though the read looked complete
                _discard(response)
                raise DeadlineReached(sent=True)
            if self.max_bytes:
                response.release_conn()  # read to its end: the connection goes back to the pool
            else:
                _discard(response)  # the body is not wanted: the connection goes with it
            return Answer(response.status, dict(response.headers), content)
        except FetchError:
            raise
        except (urllib3_exceptions.HTTPError, OSError) as exc:
            # the watchdog cut it, or a socket timeout shortened to the deadline fired a moment before it
            if guard.finish() or (deadline is not None and time.monotonic() >= deadline - 0.05):
                raise DeadlineReached(guard.sent) from None
            raise _failure(exc, guard.sent) from None
        finally:
            _local.guard = None
            guard.finish()
            if timer is not None:
                timer.cancel()

    def _read(self, response: urllib3.BaseHTTPResponse) -> bytes:
        if self.max_bytes == 0:
            return b""
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > self.max_bytes:
            raise TooLarge(self.max_bytes)
        content = response.read(self.max_bytes + 1, decode_content=True) or b""
        if len(content) > self.max_bytes:
            raise TooLarge(self.max_bytes)
        return content


def _discard(response: urllib3.BaseHTTPResponse) -> None:
    """Close the answer unread; its (closed) connection goes back to the pool, which reconnects it when used."""
    response.close()
    response.release_conn()
