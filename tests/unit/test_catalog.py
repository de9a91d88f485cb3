"""Each API function answers the routes template.yaml gives it, and loads at cold start only
what it uses: its own route modules, the X-Ray SDK only if its handler traces, the HTTP
client only when a request fetches a URL."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys

import pytest

from devstack.template import ROOT, LocalTemplate, load_template
from ecm.api.catalog import API_FUNCTIONS, api_resolver

FUNCTIONS = LocalTemplate(load_template(), {}, 4566).functions()
ROUTE_MODULES = {routes.module for table in API_FUNCTIONS.values() for routes in table}


def _normalised(method: str, path: str) -> tuple[str, str]:
    return method.upper(), re.sub(r"[{<][^}>]+[}>]", "{}", path)


def test_the_catalog_has_every_admin_function_of_the_template() -> None:
    admin = {name for name, f in FUNCTIONS.items() if any(auth for _, _, auth in f.routes)}
    assert set(API_FUNCTIONS) == admin


@pytest.mark.parametrize("function", sorted(API_FUNCTIONS))
def test_each_resolver_answers_its_functions_routes(function: str) -> None:
    paths = api_resolver(function).get_openapi_schema().paths or {}
    answered = {
        _normalised(method, path)
        for path, item in paths.items()
        for method, operation in item.model_dump(exclude_none=True).items()
        if isinstance(operation, dict) and "responses" in operation
    }
    assert answered == {_normalised(m, p) for m, p, _ in FUNCTIONS[function].routes}


# What a fresh interpreter loads importing one handler as Lambda does (tracing on).
PROBE = """
import json, sys
sys.path[:0] = [sys.argv[1], sys.argv[2]]
import app
print(json.dumps([m for m in sys.modules if m.startswith(("ecm.", "aws_xray_sdk"))]))
"""


def _loaded(function: str) -> set[str]:
    code = FUNCTIONS[function].code_uri
    env = {**os.environ, "LAMBDA_TASK_ROOT": str(code), "AWS_LAMBDA_FUNCTION_NAME": function}
    env.pop("POWERTOOLS_TRACE_DISABLED", None)
    done = subprocess.run(
        [sys.executable, "-c", PROBE, str(code), str(ROOT / "layers" / "shared")],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return set(json.loads(done.stdout))


@pytest.mark.parametrize("function", sorted(API_FUNCTIONS))
def test_an_api_function_loads_its_route_modules_only(function: str) -> None:
    loaded = _loaded(function)
    own = {routes.module for routes in API_FUNCTIONS[function]}
    assert loaded & ROUTE_MODULES == own
    assert "aws_xray_sdk.core" in loaded  # its handler traces
    assert "ecm.files.netguard" not in loaded  # the HTTP client: a URL source loads it


@pytest.mark.parametrize("function", ["AuthorizerFunction", "PublicApiFunction"])
def test_a_function_that_does_not_trace_loads_no_x_ray(function: str) -> None:
    loaded = _loaded(function)
    assert not {m for m in loaded if m.startswith("aws_xray_sdk")}
    assert not loaded & ROUTE_MODULES
