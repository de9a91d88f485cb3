"""The privilege check of a test session (hooks in tests/conftest.py): every local stack the
session starts records its functions' AWS calls (devstack.aws_calls) into one folder, and
when the session ends (after every xdist worker, in the controller) they are held to the
template's policies (devstack.privileges):

- every call must be granted, whatever ran;
- every grant must be used by a call, or listed in devstack/unexercised_grants.py, once
  every integration and e2e file took part and no test failed (a part of the suite uses a
  part of the grants).

A disagreement is reported as a failed test of its own, ``privileges::recorded_calls``, so
the run fails and says why like any other test."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

from devstack.aws_calls import VARIABLE, read_calls
from devstack.privileges import PolicyError, compare

ROOT = Path(__file__).resolve().parents[1]
NODE_ID = "privileges::recorded_calls"
#: The files whose stacks, together, are meant to reach every grant.
SUITE_GLOBS = ("tests/integration/test_*.py", "tests/e2e/test_*.py")


class PrivilegeCheck:
    """A plugin of the controller: notes which files ran, checks at the session's end."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        given = os.environ.get(VARIABLE)
        self.folder = Path(given) if given else Path(tempfile.mkdtemp(prefix="ecm-aws-calls-"))
        self.owned = not given
        os.environ[VARIABLE] = str(self.folder)  # the stacks (subprocesses) inherit it
        self.files: set[str] = set()
        self.failed = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.nodeid != NODE_ID:
            self.files.add(report.nodeid.split("::", 1)[0])
            self.failed = self.failed or report.failed

    def whole_suite(self) -> list[str]:
        """The suite's files that took no part ([] when the whole suite ran)."""
        wanted = {str(p.relative_to(ROOT)) for g in SUITE_GLOBS for p in ROOT.glob(g)}
        return sorted(wanted - self.files)

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        try:
            self._finish(session)
        finally:
            if self.owned:
                shutil.rmtree(self.folder, ignore_errors=True)

    def _finish(self, session: pytest.Session) -> None:
        if session.exitstatus not in (pytest.ExitCode.OK, pytest.ExitCode.TESTS_FAILED):
            return
        calls = read_calls(self.folder)
        if not calls:
            return  # no stack ran (unit tests only)
        missing = self.whole_suite()
        selected = self.config.option.keyword or self.config.option.markexpr
        check_unused = not (missing or self.failed or selected)
        try:
            findings: Any = compare(calls, check_unused=check_unused)
        except PolicyError as exc:
            findings = exc
        reporter = self.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            unused = (
                "checked" if check_unused else "not checked (not the whole suite, or a failure)"
            )
            reporter.ensure_newline()
            reporter.write_line(
                f"privileges: {sum(calls.values())} AWS calls of {len({c.function for c in calls})}"
                f" functions ({len(calls)} kinds) held to template.yaml; unused grants {unused}"
            )
        if not findings:
            return
        report = pytest.TestReport(
            nodeid=NODE_ID,
            location=("privileges", None, "recorded_calls"),
            keywords={},
            outcome="failed",
            longrepr=str(findings) if isinstance(findings, PolicyError) else findings.report(),
            when="call",
        )
        self.config.hook.pytest_runtest_logreport(report=report)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
