"""Test file builders that need libraries the others do not (xlwt, msoffcrypto, cryptography):
apart from ``fixtures_builders`` so that the benchmarks, which generate their files with those
builders in processes whose memory they measure, do not load them."""

from __future__ import annotations

import datetime as dt
import io
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

import xlwt
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from fixtures_builders import _auth_headers, _auth_value, auth_xlsx
from msoffcrypto.format.ooxml import OOXMLFile


def auth_xls(
    rows: Sequence[dict[str, Any]],
    headers: Sequence[str] | None = None,
    typed_dates: bool = False,
    sheet_title: str = "Authorizations",
) -> bytes:
    """An XLS (BIFF8, xlwt): dates as the rows hold them (text), or date cells with a date
    format for ``date`` values and, with ``typed_dates``, for the date fields' text."""
    names = _auth_headers(rows, headers)
    workbook = xlwt.Workbook()
    sheet = workbook.add_sheet(sheet_title)
    date_style = xlwt.easyxf(num_format_str="yyyy-mm-dd")
    for column, name in enumerate(names):
        sheet.write(0, column, name)
    for row_index, row in enumerate(rows, start=1):
        for column, name in enumerate(names):
            value = _auth_value(name, row.get(name), typed_dates)
            if value is None:
                continue
            if isinstance(value, datetime | date):
                sheet.write(row_index, column, value, date_style)
            else:
                sheet.write(row_index, column, value)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def encrypted_xlsx(rows: Sequence[dict[str, Any]], password: str = "secret") -> bytes:
    """The XLSX of ``rows`` encrypted with ``password`` (an OLE2 container, as Excel saves it)."""
    plain = auth_xlsx(rows)
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    return out.getvalue()


def self_signed_certificate(directory: Path, hostname: str) -> tuple[Path, Path]:
    """A self-signed certificate for ``hostname`` and its key, as PEM files (cert, key):
    a loopback TLS server presents them, and the client trusts the certificate itself."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, hostname)])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(hostname)]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path
