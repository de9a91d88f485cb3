"""The administrators' console: static files served by the public API function.

No build step and nothing from the internet: plain HTML, CSS and ES modules shipped in the
layer beside this file. ``choices.json`` is generated from the same constants the API
validates against, so a select in the console never offers a value the API refuses.
"""

from __future__ import annotations

import os
from functools import cache
from importlib import resources
from pathlib import PurePosixPath
from urllib.parse import urlsplit

STATIC = "static"
INDEX = "index.html"
CONTENT_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".svg": "image/svg+xml",
}
#: Where an upload's presigned PUT may go: S3 on AWS, the moto endpoint locally.
S3_ORIGINS = "https://*.amazonaws.com"


@cache
def asset_names() -> frozenset[str]:
    """The files the console serves: exactly those shipped in ``static/`` (no path from a
    request ever reaches the file system)."""
    folder = resources.files(__name__) / STATIC
    return frozenset(
        entry.name
        for entry in folder.iterdir()
        if entry.is_file() and PurePosixPath(entry.name).suffix in CONTENT_TYPES
    )


@cache
def asset(name: str) -> tuple[str, str] | None:
    """(content type, text) of a shipped file, or None. Every asset is text: a REST API
    without binary media types passes bodies through as they are."""
    if name == "choices.json":
        # Loaded when the page asks for it: the public function also answers health checks,
        # and the modules that hold the value sets are not needed for those.
        from ecm.console.choices import choices_json  # noqa: PLC0415 - public cold start

        return "application/json", choices_json()
    if name not in asset_names():
        return None
    text = (resources.files(__name__) / STATIC / name).read_text(encoding="utf-8")
    return CONTENT_TYPES[PurePosixPath(name).suffix], text


def index_html(base: str) -> str:
    """The page, with ``<base href>`` set to where the console is mounted (``/Prod/console/``
    on a stage URL, ``/console/`` on a custom domain or locally), so it works at
    ``/console`` and ``/console/`` alike."""
    found = asset(INDEX)
    assert found is not None
    return found[1].replace("{{BASE}}", base)


def security_headers() -> dict[str, str]:
    """What every console answer carries: scripts and styles from the console only, no
    framing, no referrer (a presigned link never leaks the page it was opened from)."""
    connect = ["'self'", S3_ORIGINS]
    endpoint = os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
    if endpoint:
        parts = urlsplit(endpoint)
        connect.append(f"{parts.scheme}://{parts.netloc}")
    policy = "; ".join(
        (
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            "img-src 'self' data:",
            f"connect-src {' '.join(connect)}",
            "base-uri 'self'",
            "form-action 'none'",
            "frame-ancestors 'none'",
        )
    )
    return {
        "Content-Security-Policy": policy,
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-cache",
    }
