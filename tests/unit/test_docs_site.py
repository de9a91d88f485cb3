"""The documentation holds together: the reference page drawn from docs/openapi.json has every
operation and every schema it links to, every docs page a file names exists, and the README
stays a five-minute read, and the release has one version everywhere. (`make docs` builds the
site itself, strictly: broken links and pages missing from the navigation fail there.)"""

from __future__ import annotations

import importlib.util
import json
import re
import tomllib
from pathlib import Path
from types import ModuleType

import pytest
from test_no_outside_references import tracked_files

ROOT = Path(__file__).resolve().parents[2]
README_LINES = 250


def _hook() -> ModuleType:
    """docs/hooks/openapi_page.py, loaded by path as MkDocs loads it."""
    path = ROOT / "docs" / "hooks" / "openapi_page.py"
    spec = importlib.util.spec_from_file_location("openapi_page", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_reference_page_holds_every_operation_and_schema() -> None:
    hook = _hook()
    document = json.loads((ROOT / "docs" / "openapi.json").read_text(encoding="utf-8"))
    page = hook.render(document)
    for path, item in document["paths"].items():
        for method in item:
            assert f"### {method.upper()} `{path}`" in page, (method, path)
    anchors = set(re.findall(r"\{#(schema-[a-z0-9-]+)\}", page))
    assert len(anchors) == len(document["components"]["schemas"])
    assert set(re.findall(r"\]\(#(schema-[a-z0-9-]+)\)", page)) <= anchors


def test_the_hook_leaves_other_pages_alone() -> None:
    hook = _hook()
    assert hook.on_page_markdown("# A page\n", None, {"docs_dir": "docs"}, None) == "# A page\n"


def test_every_docs_page_a_file_names_exists() -> None:
    missing = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for number, line in enumerate(text.splitlines(), start=1):
            for page in re.findall(r"\bdocs/[\w/.-]+\.md\b", line):
                if not (ROOT / page).is_file():
                    missing.append(f"{path.relative_to(ROOT)}:{number}: {page}")
    assert not missing, "pages named but not there:\n" + "\n".join(missing)


def test_the_readme_is_a_five_minute_read() -> None:
    lines = (ROOT / "README.md").read_text(encoding="utf-8").splitlines()
    assert len(lines) <= README_LINES, "move the detail to a page of docs/"


def test_the_release_has_one_version() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    template = (ROOT / "template.yaml").read_text(encoding="utf-8")
    changelog = (ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    semantic = re.search(r"^\s+SemanticVersion: (\S+)$", template, re.MULTILINE)
    released = re.search(r"^## \[(\d+\.\d+\.\d+)\]", changelog, re.MULTILINE)
    assert semantic is not None and released is not None
    assert project["project"]["version"] == semantic.group(1) == released.group(1)


@pytest.mark.parametrize("name", ["CONTRIBUTING.md", "CHANGELOG.md", "benchmarks/README.md"])
def test_files_the_site_includes_link_nowhere_relative(name: str) -> None:
    """They are included into pages of docs/ (pymdownx.snippets), where a relative link would
    point elsewhere than it does on GitHub: name paths in code spans instead."""
    text = (ROOT / name).read_text(encoding="utf-8")
    relative = [link for link in re.findall(r"\]\(([^)]+)\)", text) if "://" not in link]
    assert not relative, relative
