"""pytest imports test files by their base name (rootdir mode, no packages): two files of one
name in different folders fail the whole run with "import file mismatch". Found here first,
rather than on CI after a merge."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

TESTS = Path(__file__).resolve().parent.parent


def test_no_two_test_files_share_a_name() -> None:
    names = Counter(path.name for path in TESTS.rglob("test_*.py"))
    assert len(names) > 50
    assert [name for name, count in names.items() if count > 1] == []
