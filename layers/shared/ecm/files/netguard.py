"""Download an admin-supplied URL without letting it reach the inside of our network (SSRF guard).

An import can name a file by URL, and the Lambda that fetches it sits inside the VPC next to the
instance metadata service and internal endpoints.  So before any connection is made the URL must
be ``https`` (plain ``http`` only for allowlisted hosts), carry no credentials, and resolve only
to public addresses.  The connection then goes to exactly the address that was checked (no second
DNS lookup an attacker could rebind), while the Host header, TLS SNI and certificate check still
use the original host name.  Redirects are followed by hand and every hop is checked again; the
body is streamed to disk under a size cap and an overall deadline.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import unquote, urljoin, urlsplit

import requests
from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    HTTPError,
    NewConnectionError,
    ReadTimeoutError,
)
from urllib3.poolmanager import PoolManager
from urllib3.util import connection as urllib3_connection

MAX_REDIRECTS = 5
_CHUNK = 64 * 1024
_REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_DEFAULT_PORTS = {"http": 80, "https": 443}
_REQUEST_HEADERS = {
    "User-Agent": "ecm-imports-url-fetch/1",
    "Accept": "*/*",
    # Ask for the bytes as stored: sizes stay honest and no decompression happens on our side.
    "Accept-Encoding": "identity",
}
# NAT64 (RFC 6052): the last 32 bits are an IPv4 address the gateway will connect to.
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


class UrlRefused(Exception):
    """The URL cannot be imported; the message is safe to show the admin (no secrets)."""


@dataclass(frozen=True)
class FetchedFile:
    filename: str
    content_type: str | None
    size: int


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


def fetch_url_to_file(
    url: str,
    dest: Path,
    *,
    max_bytes: int,
    timeout: float,
    allowlist: frozenset[str],
) -> FetchedFile:
    """Download ``url`` into ``dest`` or raise :class:`UrlRefused`.

    ``allowlist`` holds lower-cased ``host`` or ``host:port`` entries that may use plain http and
    private addresses (a local test server, an on-premises file share).  ``timeout`` bounds every
    connect and read and also the whole download, redirects included.
    """
    allowed = frozenset(entry.strip().lower() for entry in allowlist)
    with _Deadline(timeout) as deadline:
        current = url.strip()
        for _hop in range(MAX_REDIRECTS + 1):
            target = _vet(current, allowed)
            deadline.check()
            with _pinned_session(target, deadline) as session:
                response = _send(session, target, timeout, deadline)
                with response:
                    location = response.headers.get("Location")
                    if response.status_code in _REDIRECT_STATUSES and location:
                        current = urljoin(target.url, location.strip())
                        continue
                    if not 200 <= response.status_code < 300:
                        raise UrlRefused(f"URL returned HTTP {response.status_code}")
                    size = _save_body(response, dest, max_bytes=max_bytes, deadline=deadline)
                    return FetchedFile(
                        filename=_filename(response, target.url),
                        content_type=_content_type(response),
                        size=size,
                    )
    raise UrlRefused(f"URL redirected more than {MAX_REDIRECTS} times")


def _send(
    session: requests.Session, target: _Target, timeout: float, deadline: _Deadline
) -> requests.Response:
    """One request of a vetted target on its pinned session: no redirects followed, no
    proxies, TLS verified, each call bounded by what is left of the deadline."""
    per_call = max(0.001, min(timeout, deadline.remaining()))
    try:
        return session.send(
            target.request,
            stream=True,
            allow_redirects=False,
            timeout=(per_call, per_call),
            verify=True,
            proxies={},
        )
    except requests.RequestException as exc:
        deadline.check()
        raise _transfer_error(exc, deadline) from None


def post_bytes(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    timeout: float,
    allowlist: frozenset[str],
) -> int:
    """POST ``body`` to ``url`` under the download rules and return the HTTP status.

    The same checks as :func:`fetch_url_to_file` (https, no credentials, public addresses only
    unless allowlisted, connection pinned to the vetted address), but a redirect is never
    followed: its status is returned like any other.  Raises :class:`UrlRefused` when the URL is
    refused or the request fails; ``timeout`` bounds the whole exchange.
    """
    allowed = frozenset(entry.strip().lower() for entry in allowlist)
    with _Deadline(timeout) as deadline:
        target = _vet(url.strip(), allowed, method="POST", headers=headers, data=body)
        deadline.check()
        with (
            _pinned_session(target, deadline) as session,
            _send(session, target, timeout, deadline) as response,
        ):
            return int(response.status_code)


# --- checking a URL ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    """One request that passed the checks, and the addresses it may connect to."""

    request: requests.PreparedRequest
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


def _vet(
    url: str,
    allowlist: frozenset[str],
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> _Target:
    try:
        parts = urlsplit(url)
    except ValueError:
        raise UrlRefused("The URL is not valid") from None
    scheme = parts.scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise UrlRefused("Only https:// URLs can be imported")
    if "@" in parts.netloc:
        raise UrlRefused("URLs with a user name or password are not allowed")
    try:
        # Prepare first, then check what will really be sent (e.g. the IDNA-encoded host name).
        request = requests.Request(
            method, url, headers=headers or _REQUEST_HEADERS, data=data
        ).prepare()
        prepared = urlsplit(request.url or "")
        host = (prepared.hostname or "").rstrip(".")
        port = prepared.port or _DEFAULT_PORTS[scheme]
    except (requests.RequestException, ValueError):
        raise UrlRefused("The URL is not valid") from None
    if not host or "@" in prepared.netloc:
        raise UrlRefused("The URL is not valid")

    allowlisted = is_allowlisted(host, port, allowlist)
    if scheme != "https" and not allowlisted:
        raise UrlRefused("Only https:// URLs can be imported")
    addresses = _resolve(host, port)
    if not allowlisted:
        refused = [address for address in addresses if not is_public_address(address)]
        if refused:
            raise UrlRefused(
                f"URL host '{host}' resolves to a private or reserved address ({refused[0]})"
            )
    return _Target(request, request.url or url, host, port, addresses)


def is_allowlisted(host: str, port: int, allowlist: frozenset[str]) -> bool:
    """``host`` (as in a prepared URL, IPv6 without brackets) or ``host:port`` is allowlisted."""
    shown = f"[{host}]" if ":" in host else host
    return bool({host, shown, f"{shown}:{port}"} & allowlist)


def _resolve(host: str, port: int) -> tuple[str, ...]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (OSError, UnicodeError):
        raise UrlRefused(
            "Could not download the URL: the host name could not be resolved"
        ) from None
    addresses = tuple(dict.fromkeys(str(info[4][0]) for info in infos))
    if not addresses:
        raise UrlRefused("Could not download the URL: the host name could not be resolved")
    return addresses


# --- connecting to the vetted address only ------------------------------------------------------


class _Deadline:
    """The overall time limit of one download.

    When it passes, every socket opened for the download is shut down, which makes a read blocked
    on a slow (or deliberately trickling) server return at once.  Sockets, not connections, are
    kept: http.client drops the connection's reference while the response still reads from it.
    """

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._ends = time.monotonic() + seconds
        self._lock = threading.Lock()
        self._sockets: list[socket.socket] = []
        self.expired = False
        self._timer = threading.Timer(max(seconds, 0.0), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Deadline:
        self._timer.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._timer.cancel()

    def remaining(self) -> float:
        return self._ends - time.monotonic()

    def check(self) -> None:
        if self.expired or self.remaining() <= 0:
            raise UrlRefused(f"URL download timed out after {self.seconds:g} s")

    def track(self, sock: socket.socket | None) -> None:
        if sock is None:
            return
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shutdown(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shutdown(sock)


def _shutdown(sock: socket.socket) -> None:
    # The plain-socket shutdown even for TLS: it only wakes the reader with an EOF and leaves
    # the SSL object alone for the thread that is using it.
    with suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _open_pinned_socket(connection: HTTPConnection, addresses: tuple[str, ...]) -> socket.socket:
    """urllib3's ``_new_conn``, but connecting to the vetted addresses: no second DNS lookup."""
    error: OSError | None = None
    for address in addresses:
        try:
            sock = urllib3_connection.create_connection(
                (address, connection.port),
                connection.timeout,
                source_address=connection.source_address,
                socket_options=connection.socket_options,
            )
        except TimeoutError as exc:
            raise ConnectTimeoutError(
                connection, f"Connection to {connection.host} timed out"
            ) from exc
        except OSError as exc:
            error = exc
            continue
        sys.audit("http.client.connect", connection, connection.host, connection.port)
        return sock
    raise NewConnectionError(
        connection, f"Failed to establish a new connection: {error}"
    ) from error


@dataclass(frozen=True)
class _Pin:
    addresses: tuple[str, ...]
    deadline: _Deadline


class _PinnedHTTPConnection(HTTPConnection):
    def __init__(self, *args: Any, pin: _Pin, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin = pin

    def _new_conn(self) -> socket.socket:
        return _open_pinned_socket(self, self._pin.addresses)

    def connect(self) -> None:
        super().connect()
        self._pin.deadline.track(self.sock)


class _PinnedHTTPSConnection(HTTPSConnection):
    def __init__(self, *args: Any, pin: _Pin, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._pin = pin

    def _new_conn(self) -> socket.socket:
        return _open_pinned_socket(self, self._pin.addresses)

    def connect(self) -> None:
        super().connect()  # TLS: SNI and certificate check against self.host, the host name
        self._pin.deadline.track(self.sock)


class _PinnedPoolManager(PoolManager):
    """Hands out pools for the one vetted host only, whose connections use the vetted address."""

    def __init__(self, target: _Target, pin: _Pin, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._target = target
        self._pin = pin

    def _new_pool(
        self,
        scheme: str,
        host: str,
        port: int,
        request_context: dict[str, Any] | None = None,
    ) -> HTTPConnectionPool:
        if host.strip("[]").lower().rstrip(".") != self._target.host or port != self._target.port:
            raise UrlRefused("Could not download the URL: unexpected connection target")
        pool = super()._new_pool(scheme, host, port, request_context)
        pool.ConnectionCls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        pool.conn_kw["pin"] = self._pin
        return pool


class _PinnedAdapter(HTTPAdapter):
    def __init__(self, target: _Target, pin: _Pin) -> None:
        self._target = target
        self._pin = pin
        super().__init__(max_retries=0)

    def init_poolmanager(
        self,
        connections: int,
        maxsize: int,
        block: bool = DEFAULT_POOLBLOCK,
        **pool_kwargs: Any,
    ) -> None:
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager = _PinnedPoolManager(
            self._target,
            self._pin,
            num_pools=connections,
            maxsize=maxsize,
            block=block,
            **pool_kwargs,
        )

    def proxy_manager_for(self, proxy: str, **proxy_kwargs: Any) -> Any:
        raise UrlRefused("Could not download the URL: proxies are not supported")


@contextmanager
def _pinned_session(target: _Target, deadline: _Deadline) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    adapter = _PinnedAdapter(target, _Pin(target.addresses, deadline))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    try:
        yield session
    finally:
        session.close()


# --- reading the response -----------------------------------------------------------------------


def _save_body(
    response: requests.Response, dest: Path, *, max_bytes: int, deadline: _Deadline
) -> int:
    limit = UrlRefused(f"URL file is larger than the {max_bytes // 1048576} MB limit")
    declared = response.headers.get("Content-Length", "").strip()
    if declared.isdigit() and int(declared) > max_bytes:
        raise limit
    raw = response.raw
    # read1 (urllib3 >= 2.3) returns as soon as some bytes arrive, so the deadline is checked often.
    read = getattr(raw, "read1", None) or raw.read
    size = 0
    try:
        with dest.open("wb") as out:
            while True:
                deadline.check()
                chunk: bytes = read(_CHUNK, decode_content=True)
                if not chunk:
                    break
                size += len(chunk)
                if size > max_bytes:
                    raise limit
                out.write(chunk)
        deadline.check()  # a shutdown by the deadline looks like the end of the body
    except UrlRefused:
        dest.unlink(missing_ok=True)
        raise
    except (HTTPError, OSError, requests.RequestException) as exc:
        dest.unlink(missing_ok=True)
        deadline.check()
        raise _transfer_error(exc, deadline) from None
    return size


def _transfer_error(exc: BaseException, deadline: _Deadline) -> UrlRefused:
    causes = list(_causes(exc))
    if any(_is_timeout(cause) for cause in causes):
        return UrlRefused(f"URL download timed out after {deadline.seconds:g} s")
    return UrlRefused(f"Could not download the URL: {_short_reason(causes)}")


def _is_timeout(exc: BaseException) -> bool:
    if isinstance(exc, NewConnectionError):  # a subclass of ConnectTimeoutError, for history
        return False
    return isinstance(exc, (TimeoutError, ConnectTimeoutError, ReadTimeoutError, requests.Timeout))


def _short_reason(causes: list[BaseException]) -> str:
    if any(isinstance(cause, ssl.SSLCertVerificationError) for cause in causes):
        return "the server's TLS certificate could not be verified"
    if any(isinstance(cause, (ssl.SSLError, requests.exceptions.SSLError)) for cause in causes):
        return "the TLS connection failed"
    reasons: list[tuple[type[BaseException], str]] = [
        (ConnectionRefusedError, "the connection was refused"),
        (ConnectionResetError, "the connection was reset"),
        (socket.gaierror, "the host name could not be resolved"),
        (requests.exceptions.ChunkedEncodingError, "the connection closed before the end"),
        (requests.exceptions.ContentDecodingError, "the response could not be decoded"),
    ]
    for kind, reason in reasons:
        if any(isinstance(cause, kind) for cause in causes):
            return reason
    for cause in causes:
        if isinstance(cause, OSError) and cause.strerror:
            return str(cause.strerror).lower()
    return "the connection failed"


def _causes(exc: BaseException) -> Iterator[BaseException]:
    """The exception and everything it wraps (requests and urllib3 nest them several levels)."""
    pending: list[object] = [exc]
    seen: set[int] = set()
    while pending and len(seen) < 50:
        item = pending.pop()
        if not isinstance(item, BaseException) or id(item) in seen:
            continue
        seen.add(id(item))
        yield item
        pending.extend([item.__cause__, item.__context__, getattr(item, "reason", None)])
        pending.extend(item.args)


def _filename(response: requests.Response, url: str) -> str:
    disposition = response.headers.get("Content-Disposition")
    if disposition:
        message = Message()
        message["Content-Disposition"] = disposition
        try:
            name = _clean_filename(message.get_filename() or "")
        except (ValueError, LookupError, UnicodeError):
            name = None
        if name:
            return name
    return _clean_filename(unquote(urlsplit(url).path.rsplit("/", 1)[-1])) or "download"


def _clean_filename(name: str) -> str | None:
    name = name.replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(ch for ch in name if ch.isprintable()).strip()
    if name in ("", ".", ".."):
        return None
    return name[:255]


def _content_type(response: requests.Response) -> str | None:
    value = response.headers.get("Content-Type", "").split(";", 1)[0].strip().lower()
    return value or None
