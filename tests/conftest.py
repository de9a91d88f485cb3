"""Every test runs with the environment the template gives the functions (as the local
stack names the tables and bucket): ecm.settings has no defaults for them. The session's
local stacks record their AWS calls, held to the template's policies at the end
(tests/privilege_check.py)."""

import pytest
from privilege_check import PrivilegeCheck

from devstack.environment import use_local_environment

use_local_environment()


def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        config.pluginmanager.register(PrivilegeCheck(config), "privilege-check")
