"""Connections that go to the address the SSRF guard vetted, and nowhere else.

requests and urllib3 resolve a host name again when they connect: a name an attacker
controls could answer a public address to the check and a private one to the connection
(DNS rebinding). These urllib3 pool and connection classes connect to the vetted addresses
only, while the Host header, TLS SNI and the certificate check keep the original host name;
``Deadline`` shuts every socket of a download down when its time is up.
"""

from __future__ import annotations

import socket
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from types import TracebackType
from typing import Any

import requests
from requests.adapters import DEFAULT_POOLBLOCK, HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NewConnectionError
from urllib3.poolmanager import PoolManager
from urllib3.util import connection as urllib3_connection

from ecm.errors import UrlRefused


@dataclass(frozen=True)
class PinnedTarget:
    """One request that passed the checks, and the addresses it may connect to."""

    request: requests.PreparedRequest
    url: str
    host: str
    port: int
    addresses: tuple[str, ...]


class Deadline:
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

    def __enter__(self) -> Deadline:
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
    deadline: Deadline


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

    def __init__(self, target: PinnedTarget, pin: _Pin, **kwargs: Any) -> None:
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
    def __init__(self, target: PinnedTarget, pin: _Pin) -> None:
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
def pinned_session(target: PinnedTarget, deadline: Deadline) -> Iterator[requests.Session]:
    session = requests.Session()
    session.trust_env = False  # no proxies or .netrc from the environment
    adapter = _PinnedAdapter(target, _Pin(target.addresses, deadline))
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    try:
        yield session
    finally:
        session.close()
