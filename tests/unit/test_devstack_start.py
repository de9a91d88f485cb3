"""``make run`` with a setting it can't use stops at once, in one line, before starting."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_a_short_admin_token_is_one_line_and_a_nonzero_exit(tmp_path: Path) -> None:
    env = {**os.environ, "ECM_ADMIN_TOKEN": "too-short", "ECM_DATA_DIR": str(tmp_path)}
    done = subprocess.run(
        [sys.executable, "-m", "devstack"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "ECM_ADMIN_TOKEN must be at least 16 characters (it has 9); set a longer one, "
        "or unset it for a generated token"
    ]
    assert "Traceback" not in done.stderr + done.stdout
