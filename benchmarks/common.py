"""What every benchmark shares: the paths (the repository's code and test builders on
``sys.path``, the local stack's table names in the environment), the names the stacks are
seeded with, the log line, the report and this process's peak memory.

Imported before ``ecm``, ``devstack`` or ``fixtures_builders``: those are found through the
paths it adds.
"""

from __future__ import annotations

import os
import resource
import subprocess
import sys
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BENCH_DIR = ROOT / ".bench"
for _extra in (ROOT, ROOT / "tests", ROOT / "layers" / "shared"):
    if str(_extra) not in sys.path:
        sys.path.insert(0, str(_extra))
# A PYTHONPATH given stays first: that is how a benchmark runs an older revision's ``ecm`` in a
# child process (``revision_tree``) beside today's benchmarks and test builders.
for _given in reversed([p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]):
    if _given in sys.path:
        sys.path.remove(_given)
    sys.path.insert(0, _given)

from devstack.environment import use_local_environment  # noqa: E402 - needs the path above

# Domain code runs in this process too (read+validate, plan): with the local stack's names.
use_local_environment()

ADMIN_TOKEN = "bench-admin-token-0123456789abcdef"
BUCKET = "ecm-local-files-123456789012"
REGION = "us-east-1"
NOW = "2026-01-01T00:00:00.000Z"
#: Bounds the upload benchmark holds too (run.py's targets).
MAX_RSS_MB = 250
MAX_CPU_US_PER_ROW = 600


# --- an older revision's code ---------------------------------------------------------------


def describe_revision(rev: str) -> str:
    """``rev`` as its short hash and subject, for the report's header."""
    return subprocess.run(
        ["git", "-C", ROOT, "log", "-1", "--format=%h %ad %s", "--date=short", rev],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def revision_tree(rev: str, dest: Path, paths: tuple[str, ...] = ("layers/shared",)) -> Path:
    """``paths`` of the committed tree at ``rev``, extracted under ``dest`` (made if missing):
    a plain copy, so nothing of the repository (its worktrees, its index) is touched and the
    caller's temporary directory is all there is to clean up."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(
        ["git", "-C", ROOT, "archive", rev, *paths], check=True, capture_output=True
    ).stdout
    subprocess.run(["tar", "-x", "-C", dest], input=archive, check=True)
    return dest


# --- report ---------------------------------------------------------------------------------


@dataclass
class Row:
    measure: str
    fmt: str
    rows: int | None
    value: float
    unit: str


@dataclass
class Report:
    rows: list[Row] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)

    def add(self, measure: str, fmt: str, rows: int | None, value: float, unit: str) -> None:
        self.rows.append(Row(measure, fmt, rows, value, unit))

    def find(self, measure: str, fmt: str | None = None) -> list[Row]:
        return [r for r in self.rows if r.measure == measure and fmt in (None, r.fmt)]


def log(message: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def attempt(report: Report, what: str, action: Callable[[], None]) -> None:
    try:
        action()
    except Exception as exc:
        message = f"{what}: {type(exc).__name__}: {exc}"
        report.errors.append(message)
        log("ERROR " + message)
        traceback.print_exc(file=sys.stderr)


def peak_rss_mb() -> float:
    """This process's peak RSS in MB.

    ``VmHWM`` (Linux) is the peak of this process's own address space. ``ru_maxrss`` is the
    fallback only: Linux carries the parent's peak over a vfork+exec (what ``subprocess``
    does), so a child of a big parent would report the parent's peak.
    """
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    # ru_maxrss is in KiB on Linux.
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
