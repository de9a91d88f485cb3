"""The SSRF guard for URL imports: address classification, URL checks and real local downloads.

Every test runs with name resolution replaced (no real DNS) and with a connect guard that fails
the test on any connection that is not to loopback, so nothing here can reach the network.
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

import pytest
import requests.adapters
import urllib3.response
import urllib3.util.connection
from fixtures_heavy import self_signed_certificate

from ecm.errors import UrlRefused
from ecm.files.netguard import FetchedFile, fetch_url_to_file, is_public_address

MB = 1024 * 1024
_REAL_GETADDRINFO = socket.getaddrinfo
_REAL_CONNECT = socket.socket.connect

PRIVATE_ADDRESSES = [
    "169.254.169.254",
    "10.1.2.3",
    "172.16.0.1",
    "172.31.255.255",
    "192.168.1.1",
    "127.0.0.1",
    "::1",
    "fc00::1",
    "fd12::1",
    "fe80::1",
    "::ffff:10.0.0.1",
    "224.0.0.1",
    "0.0.0.0",
    "100.64.0.1",
]


# --- network sandbox --------------------------------------------------------------------------


@dataclass
class FakeNet:
    """Fake DNS (``hosts``) plus a record of every lookup and every socket connect."""

    hosts: dict[str, list[str]] = field(default_factory=dict)
    lookups: list[str] = field(default_factory=list)
    connects: list[Any] = field(default_factory=list)


@pytest.fixture(autouse=True)
def net(monkeypatch: pytest.MonkeyPatch) -> FakeNet:
    fake = FakeNet()

    def getaddrinfo(
        host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
    ) -> list[Any]:
        name = host.decode() if isinstance(host, bytes) else str(host)
        fake.lookups.append(name)
        if name in fake.hosts:
            results: list[Any] = []
            for ip in fake.hosts[name]:
                if ":" in ip:
                    results.append(
                        (socket.AF_INET6, socket.SOCK_STREAM, 6, "", (ip, int(port), 0, 0))
                    )
                else:
                    results.append((socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port))))
            return results
        try:
            ipaddress.ip_address(name)
        except ValueError:
            raise socket.gaierror(socket.EAI_NONAME, "no real DNS in unit tests") from None
        # IP literals only: the real resolver answers these without any traffic.
        return _REAL_GETADDRINFO(host, port, family, type, proto, flags | socket.AI_NUMERICHOST)

    def connect(sock: socket.socket, address: Any) -> None:
        fake.connects.append(address)
        host = address[0] if isinstance(address, tuple) else address
        assert ipaddress.ip_address(host).is_loopback, f"test tried to connect to {address!r}"
        _REAL_CONNECT(sock, address)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    monkeypatch.setattr(socket.socket, "connect", connect)
    return fake


@pytest.fixture
def no_connect(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """Replace urllib3's connection function with one that records calls and fails the test."""
    calls: list[Any] = []

    def create_connection(address: Any, *args: Any, **kwargs: Any) -> socket.socket:
        calls.append(address)
        raise AssertionError(f"connection attempted to {address!r}")

    monkeypatch.setattr(urllib3.util.connection, "create_connection", create_connection)
    return calls


# --- local HTTP servers -----------------------------------------------------------------------

Route = Callable[["_Handler"], None]


class _Handler(BaseHTTPRequestHandler):
    server: LocalServer

    def do_GET(self) -> None:
        self.server.seen.append((self.path, self.headers.get("Host")))
        route = self.server.routes.get(unquote(urlsplit(self.path).path))
        try:
            if route is None:
                self.reply(404, b"not found")
            else:
                route(self)
        except OSError:
            pass  # the client gave up (size limit, timeout)

    def reply(
        self,
        status: int,
        body: bytes = b"",
        headers: dict[str, str] | None = None,
        *,
        length: bool = True,
    ) -> None:
        self.send_response(status)
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        if length:
            self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        pass


class LocalServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, routes: dict[str, Route]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.routes = routes
        self.seen: list[tuple[str, str | None]] = []
        self.stop = threading.Event()

    @property
    def port(self) -> int:
        return int(self.server_address[1])

    def url(self, path: str, *, scheme: str = "http", host: str = "127.0.0.1") -> str:
        return f"{scheme}://{host}:{self.port}{path}"


@pytest.fixture
def serve() -> Iterator[Callable[[dict[str, Route]], LocalServer]]:
    servers: list[LocalServer] = []

    def start(routes: dict[str, Route]) -> LocalServer:
        server = LocalServer(routes)
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}).start()
        servers.append(server)
        return server

    yield start
    for server in servers:
        server.stop.set()
        server.shutdown()
        server.server_close()


PAYLOAD = b"CIN,Name\n" + b"A1234567B,Jane Doe\n" * 200


def _file(handler: _Handler) -> None:
    handler.reply(200, PAYLOAD, {"Content-Type": "text/csv; charset=utf-8"})


def _fetch(url: str, dest: Path, allow: set[str] | None = None, **kwargs: Any) -> FetchedFile:
    # A generous bound: a busy CI machine must not turn a refused size into a timeout; the
    # tests of the deadline itself pass their own short one.
    options: dict[str, Any] = {"max_bytes": MB, "timeout": 30.0} | kwargs
    return fetch_url_to_file(url, dest, allowlist=frozenset(allow or ()), **options)


# --- address classification -------------------------------------------------------------------


@pytest.mark.parametrize("ip", PRIVATE_ADDRESSES)
def test_private_and_reserved_addresses_are_not_public(ip: str) -> None:
    assert is_public_address(ip) is False


@pytest.mark.parametrize(
    "ip",
    [
        "192.0.2.10",  # documentation
        "2001:db8::1",  # documentation
        "198.18.0.1",  # benchmarking
        "240.0.0.1",  # reserved
        "255.255.255.255",
        "ff02::1",  # IPv6 multicast
        "::ffff:169.254.169.254",
        "64:ff9b::a9fe:a9fe",  # NAT64 of 169.254.169.254
        "2002:a00:1::",  # 6to4 of 10.0.0.1
        "fe80::1%eth0",
        "not-an-ip",
        "",
    ],
)
def test_other_non_routable_addresses_are_not_public(ip: str) -> None:
    assert is_public_address(ip) is False


@pytest.mark.parametrize("ip", ["8.8.8.8", "2606:4700:4700::1111", "::ffff:8.8.8.8"])
def test_global_addresses_are_public(ip: str) -> None:
    assert is_public_address(ip) is True


# --- refusals before any connection -----------------------------------------------------------


@pytest.mark.parametrize("ip", PRIVATE_ADDRESSES)
def test_host_resolving_to_private_address_is_refused_without_connecting(
    ip: str, net: FakeNet, no_connect: list[Any], tmp_path: Path
) -> None:
    net.hosts["files.example.org"] = [ip]
    with pytest.raises(UrlRefused, match="private or reserved address") as refused:
        _fetch("https://files.example.org/members.csv", tmp_path / "f")
    assert "files.example.org" in str(refused.value)
    assert net.lookups == ["files.example.org"]
    assert no_connect == []
    assert net.connects == []
    assert not (tmp_path / "f").exists()


def test_every_resolved_address_must_be_public(
    net: FakeNet, no_connect: list[Any], tmp_path: Path
) -> None:
    net.hosts["files.example.org"] = ["8.8.8.8", "10.0.0.7"]
    with pytest.raises(UrlRefused, match=r"private or reserved address \(10\.0\.0\.7\)"):
        _fetch("https://files.example.org/members.csv", tmp_path / "f")
    assert no_connect == []
    assert net.connects == []


@pytest.mark.parametrize(
    "url",
    [
        "http://files.example.org/members.csv",
        "HTTP://files.example.org/members.csv",
        "file:///etc/passwd",
        "ftp://files.example.org/members.csv",
        "gopher://files.example.org:70/_x",
        "files.example.org/members.csv",
        "https:///members.csv",
        "",
    ],
)
def test_bad_schemes_are_refused_without_resolving(
    url: str, net: FakeNet, no_connect: list[Any], tmp_path: Path
) -> None:
    net.hosts["files.example.org"] = ["8.8.8.8"]
    with pytest.raises(UrlRefused):
        _fetch(url, tmp_path / "f")
    assert net.lookups == []
    assert no_connect == []


def test_http_allowed_only_for_allowlisted_host(
    net: FakeNet, no_connect: list[Any], tmp_path: Path
) -> None:
    with pytest.raises(UrlRefused, match="https"):
        _fetch("http://files.example.org/a.csv", tmp_path / "f", {"other.example.org"})
    with pytest.raises(UrlRefused, match="https"):  # same host, other port
        _fetch("http://files.example.org:8080/a.csv", tmp_path / "f", {"files.example.org:80"})
    assert net.lookups == []


@pytest.mark.parametrize(
    "url",
    [
        "https://admin:s3cret@files.example.org/members.csv",
        "https://token@files.example.org/members.csv",
        "https://files.example.org@10.0.0.1/members.csv",
    ],
)
def test_userinfo_is_refused(url: str, net: FakeNet, no_connect: list[Any], tmp_path: Path) -> None:
    with pytest.raises(UrlRefused, match="user name or password") as refused:
        _fetch(url, tmp_path / "f", {"files.example.org"})
    assert "s3cret" not in str(refused.value)
    assert net.lookups == []
    assert no_connect == []


def test_unresolvable_host_is_refused(net: FakeNet, tmp_path: Path) -> None:
    with pytest.raises(UrlRefused, match="could not be resolved"):
        _fetch("https://nowhere.invalid/a.csv", tmp_path / "f")
    assert net.connects == []


# --- end to end against local servers ---------------------------------------------------------


def test_loopback_server_is_refused_unless_allowlisted(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    server = serve({"/files/members.csv": _file})
    with pytest.raises(UrlRefused, match="https"):
        _fetch(server.url("/files/members.csv"), tmp_path / "f")
    with pytest.raises(UrlRefused, match=r"private or reserved address \(127\.0\.0\.1\)"):
        _fetch(server.url("/files/members.csv", scheme="https"), tmp_path / "f")
    assert server.seen == []


def test_allowlisted_download(
    serve: Callable[[dict[str, Route]], LocalServer], net: FakeNet, tmp_path: Path
) -> None:
    server = serve({"/files/Q1 members.csv": _file})
    dest = tmp_path / "download.bin"
    fetched = _fetch(
        server.url("/files/Q1%20members.csv?sig=abc"), dest, {f"127.0.0.1:{server.port}"}
    )
    assert dest.read_bytes() == PAYLOAD
    assert fetched == FetchedFile(
        filename="Q1 members.csv", content_type="text/csv", size=len(PAYLOAD)
    )
    assert server.seen == [("/files/Q1%20members.csv?sig=abc", f"127.0.0.1:{server.port}")]
    assert net.connects == [("127.0.0.1", server.port)]


def test_filename_from_content_disposition_and_fallback(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    def disposition(handler: _Handler) -> None:
        handler.reply(
            200, b"x", {"Content-Disposition": 'attachment; filename="../../etc/auth list.xlsx"'}
        )

    server = serve({"/export": disposition, "/": lambda h: h.reply(200, b"y")})
    allow = {f"127.0.0.1:{server.port}"}
    fetched = _fetch(server.url("/export"), tmp_path / "a", allow)
    assert fetched.filename == "auth list.xlsx"
    assert fetched.content_type is None
    assert _fetch(server.url("/"), tmp_path / "b", allow).filename == "download"


def test_connection_goes_to_the_vetted_address_with_original_host_header(
    serve: Callable[[dict[str, Route]], LocalServer], net: FakeNet, tmp_path: Path
) -> None:
    server = serve({"/members.csv": _file})
    net.hosts["local.test"] = ["127.0.0.1"]
    dest = tmp_path / "f"
    fetched = _fetch(
        f"http://local.test:{server.port}/members.csv", dest, {f"local.test:{server.port}"}
    )
    assert dest.read_bytes() == PAYLOAD
    assert fetched.filename == "members.csv"
    assert server.seen == [("/members.csv", f"local.test:{server.port}")]
    # Resolved exactly once (by the guard); the socket went to the address the guard vetted,
    # so a DNS answer that changes after the check (rebinding) is never used.
    assert net.lookups.count("local.test") == 1
    assert net.connects == [("127.0.0.1", server.port)]


def test_redirect_to_non_allowlisted_server_is_refused(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    other = serve({"/members.csv": _file})
    server = serve(
        {
            "/to-http": lambda h: h.reply(302, headers={"Location": other.url("/members.csv")}),
            "/to-https": lambda h: h.reply(
                301, headers={"Location": other.url("/members.csv", scheme="https")}
            ),
        }
    )
    allow = {f"127.0.0.1:{server.port}"}
    with pytest.raises(UrlRefused, match="https"):
        _fetch(server.url("/to-http"), tmp_path / "f", allow)
    with pytest.raises(UrlRefused, match="private or reserved address"):
        _fetch(server.url("/to-https"), tmp_path / "f", allow)
    assert [path for path, _ in server.seen] == ["/to-http", "/to-https"]
    assert other.seen == []
    assert not (tmp_path / "f").exists()


def test_redirects_between_allowlisted_servers_are_followed(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    other = serve({"/final/members.csv": _file})
    server = serve(
        {
            "/start": lambda h: h.reply(302, headers={"Location": "/next"}),
            "/next": lambda h: h.reply(307, headers={"Location": other.url("/final/members.csv")}),
        }
    )
    allow = {f"127.0.0.1:{server.port}", f"127.0.0.1:{other.port}"}
    fetched = _fetch(server.url("/start"), tmp_path / "f", allow)
    assert (tmp_path / "f").read_bytes() == PAYLOAD
    assert fetched.filename == "members.csv"


def test_redirect_loop_stops_after_five_hops(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    server = serve({"/loop": lambda h: h.reply(302, headers={"Location": "/loop"})})
    with pytest.raises(UrlRefused, match="redirected more than 5 times"):
        _fetch(server.url("/loop"), tmp_path / "f", {f"127.0.0.1:{server.port}"})
    assert len(server.seen) == 6  # the request itself and five redirects


def test_body_over_the_limit_is_refused(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    big = b"x" * (MB + 100_000)
    server = serve(
        {
            "/streamed": lambda h: h.reply(200, big, length=False),
            "/declared": lambda h: h.reply(200, big),
        }
    )
    allow = {f"127.0.0.1:{server.port}"}
    for path in ("/streamed", "/declared"):
        dest = tmp_path / path.strip("/")
        with pytest.raises(UrlRefused, match="larger than the 1 MB limit"):
            _fetch(server.url(path), dest, allow, max_bytes=MB)
        assert not dest.exists()
    assert _fetch(server.url("/streamed"), tmp_path / "ok", allow, max_bytes=2 * MB).size == len(
        big
    )


def test_slow_server_times_out(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    def slow(handler: _Handler) -> None:
        handler.server.stop.wait(3)
        handler.reply(200, b"late")

    server = serve({"/slow": slow})
    started = time.monotonic()
    with pytest.raises(UrlRefused, match=r"timed out after 0\.3 s"):
        _fetch(server.url("/slow"), tmp_path / "f", {f"127.0.0.1:{server.port}"}, timeout=0.3)
    assert time.monotonic() - started < 1.5


def _trickle_body(handler: _Handler) -> None:
    handler.send_response(200)
    handler.send_header("Content-Length", "100000")
    handler.end_headers()
    give_up = time.monotonic() + 3  # a broken guard fails the test instead of hanging it
    while not handler.server.stop.wait(0.02) and time.monotonic() < give_up:
        handler.wfile.write(b"x")  # each byte well within the read timeout
        handler.wfile.flush()


def _trickle_headers(handler: _Handler) -> None:
    handler.wfile.write(b"HTTP/1.1 200 OK\r\n")
    give_up = time.monotonic() + 3
    while not handler.server.stop.wait(0.02) and time.monotonic() < give_up:
        handler.wfile.write(b"X-Slow: x\r\n")
        handler.wfile.flush()


@pytest.mark.parametrize("path", ["/body", "/headers"])
@pytest.mark.parametrize("small_reads", [True, False], ids=["read1", "blocking-read"])
def test_trickling_server_hits_the_overall_deadline(
    path: str,
    small_reads: bool,
    serve: Callable[[dict[str, Route]], LocalServer],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    if not small_reads:
        # Reads that block until a whole chunk arrives: only the deadline's socket shutdown
        # can stop them in time.
        monkeypatch.setattr(urllib3.response.HTTPResponse, "read1", None)
    server = serve({"/body": _trickle_body, "/headers": _trickle_headers})
    dest = tmp_path / "f"
    started = time.monotonic()
    with pytest.raises(UrlRefused, match=r"timed out after 0\.4 s"):
        _fetch(server.url(path), dest, {f"127.0.0.1:{server.port}"}, timeout=0.4)
    assert time.monotonic() - started < 1.0
    assert not dest.exists()


def test_error_status_is_refused(
    serve: Callable[[dict[str, Route]], LocalServer], tmp_path: Path
) -> None:
    server = serve({"/forbidden": lambda h: h.reply(403, b"no")})
    allow = {f"127.0.0.1:{server.port}"}
    with pytest.raises(UrlRefused, match="URL returned HTTP 404"):
        _fetch(server.url("/missing.csv"), tmp_path / "f", allow)
    with pytest.raises(UrlRefused, match="URL returned HTTP 403"):
        _fetch(server.url("/forbidden"), tmp_path / "f", allow)


def test_connection_refused_is_reported(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a free loopback port with nobody listening
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    with pytest.raises(UrlRefused, match="Could not download the URL: the connection was refused"):
        _fetch(f"http://127.0.0.1:{port}/a.csv", tmp_path / "f", {f"127.0.0.1:{port}"})


# --- TLS: SNI and certificate check use the host name, not the pinned address -----------------


@pytest.fixture
def tls_server(
    serve: Callable[[dict[str, Route]], LocalServer], net: FakeNet, tmp_path: Path
) -> tuple[LocalServer, Path, list[str | None]]:
    """An https server for ``local.test`` (fake DNS: 127.0.0.1) with a self-signed certificate."""
    cert_path, key_path = self_signed_certificate(tmp_path, "local.test")
    server = serve({"/members.csv": _file, "/trickle": _trickle_body})
    sni: list[str | None] = []

    def record_sni(sock: Any, name: str | None, ctx: ssl.SSLContext) -> None:
        sni.append(name)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_path, key_path)
    context.sni_callback = record_sni
    server.socket = context.wrap_socket(server.socket, server_side=True)
    net.hosts["local.test"] = ["127.0.0.1"]
    return server, cert_path, sni


def test_tls_certificate_is_verified(
    tls_server: tuple[LocalServer, Path, list[str | None]], net: FakeNet, tmp_path: Path
) -> None:
    server, _, sni = tls_server
    # The self-signed certificate is not trusted, so the download fails: verification is on.
    with pytest.raises(UrlRefused, match="TLS certificate could not be verified"):
        _fetch(
            f"https://local.test:{server.port}/members.csv",
            tmp_path / "f",
            {f"local.test:{server.port}"},
        )
    assert sni == ["local.test"]
    assert net.connects == [("127.0.0.1", server.port)]
    assert server.seen == []


def test_tls_download_uses_host_name_for_sni_certificate_and_host_header(
    tls_server: tuple[LocalServer, Path, list[str | None]],
    net: FakeNet,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    server, cert_path, sni = tls_server
    # Trust the test certificate the way requests finds its default CA bundle.
    monkeypatch.setattr(requests.adapters, "DEFAULT_CA_BUNDLE_PATH", str(cert_path))
    dest = tmp_path / "f"
    fetched = _fetch(
        f"https://local.test:{server.port}/members.csv", dest, {f"local.test:{server.port}"}
    )
    assert dest.read_bytes() == PAYLOAD
    assert fetched.filename == "members.csv"
    assert sni == ["local.test"]
    assert server.seen == [("/members.csv", f"local.test:{server.port}")]
    assert net.lookups.count("local.test") == 1
    assert net.connects == [("127.0.0.1", server.port)]

    # The overall deadline also stops a trickling TLS server whose reads block.
    monkeypatch.setattr(urllib3.response.HTTPResponse, "read1", None)
    started = time.monotonic()
    with pytest.raises(UrlRefused, match="timed out"):
        _fetch(
            f"https://local.test:{server.port}/trickle",
            dest,
            {f"local.test:{server.port}"},
            timeout=0.4,
        )
    assert time.monotonic() - started < 1.0
