"""Where an import's bytes come from: inline base64 (data URI or bare), an https URL, a key
of the inbox bucket, or a file dropped into the inbox. Every source ends as the original
file stored at the import record's ``s3_key``; the engine reads only from there."""

from __future__ import annotations

import base64
import binascii
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from botocore.exceptions import ClientError

from ecm.clients import client
from ecm.errors import ApiError, UrlRefused
from ecm.settings import get_settings

_DATA_URI = re.compile(r"^data:(?P<mime>[\w.+/-]+)?(?P<params>(;[\w.+-]+=[^;,]*)*);base64,", re.I)
#: What the system writes to the bucket (stage files, originals, result files, exports): a
#: ``path`` source names what an SFTP drop, the inbox or an upload put there, never these.
INTERNAL_PREFIXES = ("work/", "files/", "results/", "outbox/")


@dataclass
class ReceivedFile:
    """A file received for import, staged locally (inline, url) or already in S3 (path)."""

    source_type: str
    original_name: str
    data_uri_type: str | None = None
    local_path: Path | None = None
    s3_key: str | None = None


def decode_inline(field: str, text: str, max_bytes: int) -> tuple[str | None, bytes]:
    """Base64 with or without a ``data:<mime>;base64,`` prefix → (mime, bytes)."""
    mime = None
    match = _DATA_URI.match(text)
    if match:
        mime = (match.group("mime") or "").lower() or None
        text = text[match.end() :]
    elif text.startswith("data:"):
        raise ApiError(422, f"{field} has a data URI prefix without ';base64,'")
    compact = "".join(text.split())
    if len(compact) * 3 // 4 > max_bytes:
        raise ApiError(
            413,
            f"{field} is larger than the {max_bytes // 1048576} MB inline limit; import large "
            "files through an upload URL: POST /v1/admin/clinic/ecm/mifs/uploads (or "
            "/authorizations/uploads), or a path in the inbox bucket",
        )
    try:
        data = base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        raise ApiError(422, f"{field} is not valid base64") from None
    if not data:
        raise ApiError(422, f"{field} is empty")
    return mime, data


def _stage_bytes(data: bytes) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix="ecm-", delete=False)  # noqa: SIM115
    with handle:
        handle.write(data)
    return Path(handle.name)


def inbox_key(field: str, path: str) -> str:
    """A key of the inbox bucket from ``key`` or ``s3://<bucket>/<key>``; never elsewhere."""
    bucket = get_settings().files_bucket
    text = path.strip()
    if text.lower().startswith("s3://"):
        parts = urlsplit(text)
        if parts.netloc != bucket:
            raise ApiError(422, f"{field} must be in the inbox bucket '{bucket}'")
        text = parts.path
    elif "://" in text:
        raise ApiError(422, f"{field} must be a key of the inbox bucket or s3://{bucket}/<key>")
    key = unquote(text).lstrip("/")
    segments = PurePosixPath(key).parts
    if not key or ".." in segments or "\\" in key or any(s in (".", "") for s in key.split("/")):
        raise ApiError(422, f"{field} '{path}' is not a valid key of the inbox bucket")
    if key.startswith(INTERNAL_PREFIXES):
        raise ApiError(422, f"{field} '{path}' is not in the inbox area of the bucket")
    try:
        client("s3").head_object(Bucket=bucket, Key=key)
    except ClientError:
        raise ApiError(422, f"{field} '{path}' does not exist in the inbox bucket") from None
    return key


def receive(field_prefix: str, file: str | None, url: str | None, path: str | None) -> ReceivedFile:
    """Resolve exactly one of file/url/path into a staged file (422 with a clear message)."""
    given = [name for name, value in (("file", file), ("url", url), ("path", path)) if value]
    if len(given) != 1:
        names = f"{field_prefix}.file, {field_prefix}.url or {field_prefix}.path"
        if not given:
            raise ApiError(422, f"Provide one of {names}")
        raise ApiError(422, f"Provide only one of {names} (got {', '.join(given)})")
    settings = get_settings()
    if file:
        mime, data = decode_inline(f"{field_prefix}.file", file, settings.max_inline_bytes)
        return ReceivedFile("base64", "upload", data_uri_type=mime, local_path=_stage_bytes(data))
    if url:
        # Only a URL source needs the HTTP client: the import functions' cold start does not.
        from ecm.files.netguard import fetch_url_to_file  # noqa: PLC0415

        target = Path(tempfile.mkdtemp(prefix="ecm-url-")) / "download"
        try:
            fetched = fetch_url_to_file(
                url,
                target,
                max_bytes=settings.max_url_bytes,
                timeout=settings.url_timeout_seconds,
                allowlist=settings.url_allowlist,
            )
        except UrlRefused as exc:
            raise ApiError(422, f"{field_prefix}.url: {exc}") from None
        return ReceivedFile(
            "url", fetched.filename, data_uri_type=fetched.content_type, local_path=target
        )
    assert path is not None
    key = inbox_key(f"{field_prefix}.path", path)
    return ReceivedFile("path", PurePosixPath(key).name, s3_key=key)


def store_original(received: ReceivedFile, dest_key: str) -> None:
    bucket = get_settings().files_bucket
    s3 = client("s3")
    if received.local_path is not None:
        try:
            s3.upload_file(str(received.local_path), bucket, dest_key)
        finally:
            received.local_path.unlink(missing_ok=True)
    else:
        s3.copy_object(
            Bucket=bucket, Key=dest_key, CopySource={"Bucket": bucket, "Key": received.s3_key}
        )
