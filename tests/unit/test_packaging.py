"""The locks are what every install uses (`make setup`, CI, `sam build`): these tests keep them
whole, hashed and inside pyproject's ranges, so a range edited without `make lock` fails here."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DEV_LOCK = ROOT / "requirements/dev.txt"
LAYER_LOCK = ROOT / "layers/shared/requirements.txt"
SAM_LOCK = ROOT / "requirements/sam.txt"
PIN = re.compile(r"^([A-Za-z0-9_.\-]+)==([^\s;\\]+)")


def _pins(path: Path) -> dict[str, set[str]]:
    """Package → pinned versions (a universal lock may pin two, one per Python marker)."""
    pins: dict[str, set[str]] = {}
    for line in path.read_text().splitlines():
        match = PIN.match(line)
        if match:
            pins.setdefault(canonicalize_name(match[1]), set()).add(match[2])
    return pins


def _blocks(path: Path) -> list[str]:
    """Each requirement of a lock with its continuation lines (its hashes)."""
    blocks: list[str] = []
    for line in path.read_text().splitlines():
        if PIN.match(line):
            blocks.append(line)
        elif blocks and line.startswith("    --hash="):
            blocks[-1] += "\n" + line
    return blocks


def _project() -> dict[str, list[str]]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    return {"runtime": project["dependencies"], "dev": project["optional-dependencies"]["dev"]}


@pytest.mark.parametrize("lock", [DEV_LOCK, LAYER_LOCK, SAM_LOCK], ids=lambda p: p.name)
def test_every_pin_of_a_lock_carries_hashes(lock: Path) -> None:
    blocks = _blocks(lock)
    assert blocks, f"{lock} pins nothing"
    unhashed = [block.split()[0] for block in blocks if "--hash=sha256:" not in block]
    assert unhashed == []


def test_dev_lock_pins_every_dependency_inside_its_range() -> None:
    pins = _pins(DEV_LOCK)
    for requirement in map(Requirement, _project()["runtime"] + _project()["dev"]):
        name = canonicalize_name(requirement.name)
        assert name in pins, f"{name} is in pyproject.toml but not in the lock: run make lock"
        for pinned in pins[name]:
            assert requirement.specifier.contains(pinned, prereleases=True), (
                f"the lock pins {name}=={pinned}, outside pyproject's {requirement.specifier}: "
                "run make lock"
            )


def test_layer_lock_is_the_runtime_dependencies_at_the_dev_locks_versions() -> None:
    layer, dev = _pins(LAYER_LOCK), _pins(DEV_LOCK)
    runtime = {canonicalize_name(Requirement(r).name) for r in _project()["runtime"]}
    assert runtime <= set(layer), "a runtime dependency is missing from the layer's lock"
    for name, versions in layer.items():
        assert versions <= dev.get(name, set()), (
            f"the layer pins {name} {versions}, the dev lock {dev.get(name)}: run make lock"
        )
    # Nothing of the dev tools reaches the layer.
    assert not {"moto", "pytest", "mypy", "ruff", "uv"} & set(layer)


def test_sam_lock_pins_the_sam_cli_inside_its_range() -> None:
    ranges = [
        Requirement(line)
        for line in (ROOT / "requirements/sam.in").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    pins = _pins(SAM_LOCK)
    for requirement in ranges:
        (pinned,) = pins[canonicalize_name(requirement.name)]
        assert requirement.specifier.contains(pinned)
