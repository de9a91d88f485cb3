"""Download an admin-supplied URL without letting it reach the inside of our network (SSRF guard).

An import can name a file by URL, and the Lambda that fetches it sits inside the VPC next to the
instance metadata service and internal endpoints.  So before any connection is made the URL must
be ``https`` (plain ``http`` only for allowlisted hosts), carry no credentials, and resolve only
to public addresses.  The connection then goes to exactly the address that was checked (no second
DNS lookup an attacker could rebind), while the Host header, TLS SNI and certificate check still
use the original host name.  Redirects are followed by hand and every hop is checked again; the
body is streamed to disk under a size cap and an overall deadline (``ecm.files.pinned``
holds the connections).

Why not requests-hardened (docs/decisions/0014-own-ssrf-guard.md): its filter checks only the first
address a name resolves to (we refuse a name if any address is private), has no per-host allowlist
(the local stack and tests need loopback hosts) and no size cap on the body.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from pathlib import Path
from urllib.parse import unquote, urljoin, urlsplit

import requests
from urllib3.exceptions import ConnectTimeoutError, HTTPError, NewConnectionError, ReadTimeoutError

from ecm.errors import UrlRefused
from ecm.files.addresses import is_allowlisted, is_public_address
from ecm.files.pinned import Deadline, PinnedTarget, pinned_session

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


@dataclass(frozen=True)
class FetchedFile:
    filename: str
    content_type: str | None
    size: int


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
    with Deadline(timeout) as deadline:
        current = url.strip()
        for _hop in range(MAX_REDIRECTS + 1):
            target = _vet(current, allowed)
            deadline.check()
            with pinned_session(target, deadline) as session:
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
    session: requests.Session, target: PinnedTarget, timeout: float, deadline: Deadline
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
    with Deadline(timeout) as deadline:
        target = _vet(url.strip(), allowed, method="POST", headers=headers, data=body)
        deadline.check()
        with (
            pinned_session(target, deadline) as session,
            _send(session, target, timeout, deadline) as response,
        ):
            return int(response.status_code)


def _vet(
    url: str,
    allowlist: frozenset[str],
    *,
    method: str = "GET",
    headers: dict[str, str] | None = None,
    data: bytes | None = None,
) -> PinnedTarget:
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
    return PinnedTarget(request, request.url or url, host, port, addresses)


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


def _save_body(
    response: requests.Response, dest: Path, *, max_bytes: int, deadline: Deadline
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


def _transfer_error(exc: BaseException, deadline: Deadline) -> UrlRefused:
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
