"""Fixtures of the unit tests that need AWS: moto in this process, the template's tables
and the files bucket created, clients and settings fresh on both sides."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from moto import mock_aws
from patients_table import Reads, create_patients_table

from ecm.models import create_tables
from ecm.models.access import reset_clients
from ecm.settings import get_settings


@pytest.fixture
def fake_aws(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Credentials for moto in this process and no endpoint of a running stack; settings and
    clients read afresh before and after (a test's fixture adds its own variables)."""
    for name, value in {
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
    }.items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    get_settings.cache_clear()
    reset_clients()
    yield
    get_settings.cache_clear()
    reset_clients()


@pytest.fixture
def tables(fake_aws: None) -> Iterator[None]:
    with mock_aws():
        reset_clients()
        create_tables()
        boto3.client("s3").create_bucket(Bucket=get_settings().files_bucket)
        yield


@pytest.fixture
def patients_table(fake_aws: None) -> Iterator[Reads]:
    """The patients table alone (moto in this process), with a count of the reads made."""
    with mock_aws():
        yield create_patients_table()
