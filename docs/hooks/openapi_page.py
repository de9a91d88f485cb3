"""MkDocs hook: the API reference page drawn from docs/openapi.json at build time.

A page holding the marker below gets every operation (parameters, body, answers) and every
schema as Markdown tables, so the site renders the contract offline: no Swagger UI, no
script fetched from elsewhere, and the page cannot drift from the committed document.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

MARKER = "<!-- openapi-reference -->"
METHODS = ("get", "post", "put", "patch", "delete")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """MkDocs calls this for every page; only the one holding the marker changes."""
    if MARKER not in markdown:
        return markdown
    document = json.loads((Path(config["docs_dir"]) / "openapi.json").read_text("utf-8"))
    return markdown.replace(MARKER, render(document))


def render(document: dict[str, Any]) -> str:
    """The operations grouped by tag, in the document's path order, then the schemas."""
    by_tag: dict[str, list[str]] = {}
    for path, item in document["paths"].items():
        for method in METHODS:
            if method in item:
                operation = item[method]
                tag = (operation.get("tags") or ["Other"])[0]
                by_tag.setdefault(tag, []).append(_operation(method, path, operation))
    parts = []
    for tag, operations in by_tag.items():
        parts.append(f"## {tag}\n")
        parts.extend(operations)
    parts.append("## Schemas\n")
    schemas = document.get("components", {}).get("schemas", {})
    parts.extend(_schema(name, schema) for name, schema in sorted(schemas.items()))
    return "\n".join(parts)


def schema_anchor(name: str) -> str:
    """The anchor of a schema's heading (set explicitly: tables link to it)."""
    return "schema-" + re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-")


def _operation(method: str, path: str, operation: dict[str, Any]) -> str:
    lines = [f"### {method.upper()} `{path}`\n"]
    if operation.get("summary"):
        lines.append(f"**{_cell(operation['summary'])}**\n")
    if operation.get("description"):
        lines.append(_cell(operation["description"]) + "\n")
    if operation.get("security") == []:
        lines.append("No token needed.\n")
    parameters = operation.get("parameters", [])
    if parameters:
        lines += ["| parameter | in | required | type | meaning |", "|---|---|---|---|---|"]
        lines += [
            f"| `{p['name']}` | {p['in']} | {'yes' if p.get('required') else 'no'} "
            f"| {_type(p.get('schema', {}))} | {_cell(p.get('description', ''))} |"
            for p in parameters
        ]
        lines.append("")
    body = operation.get("requestBody")
    if body:
        for media, content in body.get("content", {}).items():
            lines.append(f"Body ({media}): {_type(content.get('schema', {}))}\n")
    lines += ["| status | body | meaning |", "|---|---|---|"]
    for status, answer in sorted(operation.get("responses", {}).items()):
        schemas = [_type(c.get("schema", {})) for c in answer.get("content", {}).values()]
        meaning = _cell(answer.get("description", ""))
        if "Retry-After" in answer.get("headers", {}):
            meaning += " (header `Retry-After`)"
        lines.append(f"| {status} | {' or '.join(schemas) or '—'} | {meaning} |")
    return "\n".join(lines) + "\n"


def _schema(name: str, schema: dict[str, Any]) -> str:
    lines = [f"### {name} {{#{schema_anchor(name)}}}\n"]
    if schema.get("description"):
        lines.append(_cell(schema["description"]) + "\n")
    properties = schema.get("properties")
    if not properties:
        lines.append(f"Type: {_type(schema)}\n")
        return "\n".join(lines)
    required = set(schema.get("required", []))
    lines += ["| field | type | required | meaning |", "|---|---|---|---|"]
    for field, spec in properties.items():
        meaning = _cell(spec.get("description", ""))
        if "default" in spec and spec["default"] is not None:
            meaning = f"{meaning} (default `{json.dumps(spec['default'])}`)".strip()
        lines.append(
            f"| `{field}` | {_type(spec)} | {'yes' if field in required else 'no'} | {meaning} |"
        )
    if schema.get("additionalProperties") is False:
        lines.append("\nAny other field is refused (422).")
    return "\n".join(lines) + "\n"


def _type(spec: dict[str, Any]) -> str:
    """A schema in a few words: a link for a reference, unions spelled with "or"."""
    if "$ref" in spec:
        name = spec["$ref"].rsplit("/", 1)[-1]
        return f"[`{name}`](#{schema_anchor(name)})"
    if "anyOf" in spec or "oneOf" in spec:
        return " or ".join(_type(s) for s in spec.get("anyOf", spec.get("oneOf", [])))
    if "const" in spec:
        return f"`{json.dumps(spec['const'])}`"
    if "enum" in spec:
        return "one of " + ", ".join(f"`{json.dumps(v)}`" for v in spec["enum"])
    kind = spec.get("type", "any")
    if kind == "array":
        return f"array of {_type(spec.get('items', {}))}"
    limits = [
        f"{label} {_number(spec[key])}"
        for key, label in (
            ("minimum", "≥"),
            ("maximum", "≤"),
            ("minLength", "length ≥"),
            ("maxLength", "length ≤"),
        )
        if key in spec
    ]
    if spec.get("format"):
        limits.insert(0, spec["format"])
    return f"{kind} ({', '.join(limits)})" if limits else str(kind)


def _number(value: float) -> str:
    """1000000000.0 as 1,000,000,000: the document's bounds are floats."""
    return f"{int(value):,}" if float(value).is_integer() else str(value)


def _cell(text: str) -> str:
    """Text safe inside a Markdown table cell: one line, pipes escaped."""
    return " ".join(str(text).split()).replace("|", "\\|")
