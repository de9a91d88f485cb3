"""The contract as the stack serves it: the document and its docs page need no token, the
document is the committed one, and the page loads nothing from the internet."""

from __future__ import annotations

import json
import re
from pathlib import Path

import requests
from stack_fixture import RunningStack

ROOT = Path(__file__).resolve().parents[2]


def test_the_document_is_served_without_a_token(stack: RunningStack) -> None:
    response = requests.get(stack.api + "/v1/openapi.json", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    committed = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    assert response.json() == committed


def test_the_docs_page_is_swagger_ui_with_its_assets_inlined(stack: RunningStack) -> None:
    response = requests.get(stack.api + "/v1/docs", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/html")
    page = response.text
    assert "SwaggerUIBundle" in page and '"ECM Imports API"' in page
    # Nothing fetched from elsewhere: no script or stylesheet by URL.
    assert not re.search(r"<script[^>]+src=", page)
    assert not re.search(r"<link[^>]+href=[\"']https?:", page)


def test_health_answers_the_documented_body(stack: RunningStack) -> None:
    response = requests.get(stack.api + "/v1/health", timeout=30)
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("application/json")
    assert response.json() == {"status": "ok"}
