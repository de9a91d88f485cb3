"""ecm.settings: the environment a function gets, checked when it starts."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from devstack.environment import required_variables
from devstack.template import LocalTemplate, load_template
from ecm.plans import inbox_plan
from ecm.settings import MissingSetting, Settings, get_settings


@pytest.fixture(autouse=True)
def fresh() -> object:
    get_settings.cache_clear()
    yield None
    get_settings.cache_clear()


def test_a_missing_table_or_bucket_variable_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATIENTS_TABLE")
    monkeypatch.delenv("FILES_BUCKET")
    with pytest.raises(MissingSetting) as info:
        get_settings()
    assert str(info.value) == "missing environment variables: FILES_BUCKET, PATIENTS_TABLE"


def test_every_required_variable_is_one_the_template_gives_every_function() -> None:
    for function in LocalTemplate(load_template(), {}, 4566).functions().values():
        assert set(required_variables()) <= set(function.environment), function.logical_id


def test_values_and_empty_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECM_URL_ALLOWLIST", " Files.Example:8443, ,127.0.0.1:9 ")
    monkeypatch.setenv("ECM_CHUNK_ROWS", "")  # the template passes empty parameters
    monkeypatch.setenv("ECM_MAX_ROWS", "250")
    monkeypatch.setenv("ECM_ENABLE_FAULT_HOOKS", "1")
    monkeypatch.setenv("ECM_DEFAULT_WEBHOOK_URL", " https://hooks.example/x ")
    settings = get_settings()
    assert settings.url_allowlist == frozenset({"files.example:8443", "127.0.0.1:9"})
    assert (settings.chunk_rows, settings.max_rows, settings.fault_hooks_enabled) == (
        2000,
        250,
        True,
    )
    assert settings.default_webhook_url == "https://hooks.example/x"
    assert settings.patients_table == "PatientsTable"


def test_a_bad_number_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ECM_MAX_ROWS", "lots")
    with pytest.raises(ValueError, match="ECM_MAX_ROWS"):
        get_settings()


def test_settings_are_frozen() -> None:
    settings = get_settings()
    with pytest.raises(ValueError, match="frozen"):
        settings.max_rows = 5  # type: ignore[misc]
    assert isinstance(settings, Settings)


def test_inbox_plans_map_inbox_folders_to_plan_codes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(
        "ECM_INBOX_PLANS", '{"inbox/mif/": "default-plan", "inbox/mif/healthnet/": "healthnet"}'
    )
    plans = get_settings().inbox_plans
    assert inbox_plan("inbox/mif/healthnet/june.csv", plans) == "healthnet"  # the longest
    assert inbox_plan("inbox/mif/other.csv", plans) == "default-plan"
    assert inbox_plan("inbox/authorizations/a.xlsx", plans) is None
    assert inbox_plan("inbox/mif/x.csv", {}) is None


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[1]", "ECM_INBOX_PLANS must be a JSON object"),
        ("{", "ECM_INBOX_PLANS must be a JSON object"),
        ('{"uploads/": "x"}', "ECM_INBOX_PLANS maps inbox/ prefixes to plan codes"),
        ('{"inbox/mif/": 3}', "ECM_INBOX_PLANS maps inbox/ prefixes to plan codes"),
        ('{"inbox/mif/": "Health Net"}', "ECM_INBOX_PLANS: plan 'Health Net' must be 1-40"),
    ],
)
def test_a_wrong_inbox_plans_setting_fails_at_start(
    monkeypatch: pytest.MonkeyPatch, value: str, message: str
) -> None:

    monkeypatch.setenv("ECM_INBOX_PLANS", value)
    with pytest.raises(ValidationError) as info:
        get_settings()
    assert message in str(info.value)
