"""Nothing in the repository points at what a reader of it cannot see: an issue number, the API
documents the project started from ("seed" and a number), their design and return-file notes,
or the folder they lived in. Where code follows a rule, it names the docs/ page that states it
(CONTRIBUTING.md, "Where rules are written down")."""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Each pattern is built from parts, so this file never matches itself.
HASH, SEED, NOTES = "#", "seed", ".md"
PATTERNS: dict[str, re.Pattern[str]] = {
    "an issue number": re.compile(r"\bissues?\s+" + HASH + r"?\d+\b", re.IGNORECASE),
    "an issue number (#N)": re.compile(r"(?:^|[\s(\[,;-])" + HASH + r"\d{1,5}(?![\w-])"),
    "a seed document": re.compile(r"\b" + SEED + r"s?\s?\d{3}\b", re.IGNORECASE),
    "the seed documents": re.compile(r"\bthe " + SEED + r"(?:'s|s)\b", re.IGNORECASE),
    "the design notes": re.compile(r"\bDESIGN" + re.escape(NOTES)),
    "the return-file notes": re.compile(r"\bRETURN-FILES" + re.escape(NOTES)),
    "the shared folder outside the repository": re.compile(re.escape("../" + "shared/")),
}
#: Stylesheets spell colours as a hash and digits: the issue-number form is not looked for there.
NO_HASH_RULE = {".css"}


def tracked_files() -> list[Path]:
    """The files git tracks (a new file counts once it is added)."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    listed = subprocess.run(
        ["git", "ls-files", "-z"], cwd=ROOT, capture_output=True, check=True
    ).stdout.decode()
    return [ROOT / name for name in listed.split("\0") if name]


def references(path: Path) -> list[str]:
    """Each outside reference of one text file, as `path:line: what: text`."""
    try:
        text = path.read_bytes().decode("utf-8")
    except (UnicodeDecodeError, FileNotFoundError, IsADirectoryError):
        return []  # a binary file (a workbook, a picture) or one deleted but not yet staged
    if "\0" in text:
        return []
    found = []
    for number, line in enumerate(text.splitlines(), start=1):
        for what, pattern in PATTERNS.items():
            if what == "an issue number (#N)" and path.suffix in NO_HASH_RULE:
                continue
            if pattern.search(line):
                name = path.relative_to(ROOT)
                found.append(f"{name}:{number}: {what}: {line.strip()[:120]}")
    return found


def test_no_tracked_file_points_outside_the_repository() -> None:
    found = [hit for path in tracked_files() for hit in references(path)]
    assert not found, "name the docs/ page instead:\n" + "\n".join(found)


@pytest.mark.parametrize(
    "line",
    [
        "Files (" + SEED + " 001): columns",
        "the rules of " + SEED + "s 000 and 001",
        "as the " + SEED + "'s body says",
        "Return files (issue " + HASH + "12): the RTF",
        "before " + HASH + "13, same machine",
        "see DESIGN" + NOTES,
        "quoted in `../" + "shared/RETURN-FILES" + NOTES + "`",
    ],
)
def test_the_patterns_catch_each_kind_of_reference(line: str) -> None:
    assert any(pattern.search(line) for pattern in PATTERNS.values()), line


@pytest.mark.parametrize(
    "line",
    [
        'last_import": "mif' + HASH + '1"',
        "rng = random.Random(" + SEED + ")",
        "throttle=0.2," + SEED + "=7",
        "the " + SEED + " of the draws",
        "see docs/api/mif-imports.md",
        "(<search_cin_p " + HASH + "1a2b3c>)",
    ],
)
def test_the_patterns_leave_what_is_not_a_reference(line: str) -> None:
    assert not any(pattern.search(line) for pattern in PATTERNS.values()), line
