"""Fixtures of the unit tests that need AWS: moto in this process, the template's tables
and the files bucket created, clients and settings fresh on both sides."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws
from moto.server import ThreadedMotoServer
from patients_table import Reads, create_patients_table
from stack_fixture import free_port

from ecm import aws_faults
from ecm.models import create_tables
from ecm.models.access import reset_clients
from ecm.settings import get_settings

PATH_STYLE = Config(s3={"addressing_style": "path"})


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


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    """moto as a server on a loopback port, with the template's tables and bucket, for one
    module: the local AWS faults (ecm.aws_faults) answer in botocore's ``before-send``,
    where ``mock_aws`` answers too (a call they fail would still be written)."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    url = f"http://127.0.0.1:{port}"
    with pytest.MonkeyPatch.context() as patch:
        for name, value in {
            "AWS_ENDPOINT_URL": url,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
        }.items():
            patch.setenv(name, value)
        patch.delenv("ECM_AWS_FAULTS", raising=False)
        get_settings.cache_clear()
        reset_clients()
        create_tables()
        boto3.client("s3", config=PATH_STYLE).create_bucket(Bucket=get_settings().files_bucket)
        yield url
        get_settings.cache_clear()
        reset_clients()
    server.stop()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """botocore's and the product's backoff, recorded instead of slept."""
    slept: list[float] = []
    monkeypatch.setattr(time, "sleep", slept.append)
    return slept


@pytest.fixture
def product_faults(
    endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> Iterator[Callable[[str], None]]:
    """``set(text)``: ECM_AWS_FAULTS for the product's clients made from now on."""

    def set_faults(text: str) -> None:
        monkeypatch.setenv("ECM_AWS_FAULTS", text)
        get_settings.cache_clear()
        reset_clients()

    yield set_faults
    monkeypatch.delenv("ECM_AWS_FAULTS", raising=False)
    get_settings.cache_clear()
    reset_clients()
    aws_faults.activate(None)
