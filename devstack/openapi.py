"""``python -m devstack.openapi``: write ``docs/openapi.json`` from the routes' models
(``make openapi``); ``--check`` fails instead when the committed file differs."""

from __future__ import annotations

import sys
from pathlib import Path

from devstack.environment import use_local_environment
from ecm.api.openapi import openapi_json

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.json"


def main(argv: list[str]) -> int:
    use_local_environment()

    generated = openapi_json()
    if "--check" in argv:
        if not DOCUMENT.exists() or DOCUMENT.read_text(encoding="utf-8") != generated:
            print(f"{DOCUMENT} differs from the routes' models: run `make openapi`")
            return 1
        return 0
    DOCUMENT.write_text(generated, encoding="utf-8")
    print(f"wrote {DOCUMENT}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
