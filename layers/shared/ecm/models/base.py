"""What every table model shares: its table's name from the settings, botocore's retry mode.

A model names the template resource and the settings field it stands for; ``bind_tables``
points every model at the names the environment gives (the template passes each table's
generated name to the functions), and the template parity test (tests/unit/test_models.py)
checks each model's keys, indexes and projections against ``template.yaml``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pynamodb.models import Model

from ecm.settings import get_settings
from ecm.store import CALL_ATTEMPTS


class TableMeta:
    """Connection settings of every model (pynamodb's ``Meta``), set once here."""

    table_name = ""
    billing_mode = "PAY_PER_REQUEST"
    #: botocore's standard retry mode, with the low-level client's attempts (ecm.store)
    max_retry_attempts = CALL_ATTEMPTS - 1
    max_pool_connections = 32
    connect_timeout_seconds = 10
    read_timeout_seconds = 30


class TableModel(Model):
    """A table of ``template.yaml``: ``resource`` is its logical id, ``setting`` the field
    of ``ecm.settings.Settings`` (and so the environment variable) holding its name."""

    resource: ClassVar[str] = ""
    setting: ClassVar[str] = ""

    class Meta(TableMeta):
        abstract = True


#: Every model, filled by ``register`` as the model modules load.
MODELS: list[type[TableModel]] = []


def register(model: Any) -> Any:
    """Class decorator: bind the model's table name now and list it for ``bind_tables``."""
    MODELS.append(model)
    _bind(model)
    return model


def _bind(model: type[TableModel]) -> None:
    model.Meta.table_name = getattr(get_settings(), model.setting)
    model._connection = None  # the next call connects to the table (and endpoint) now set


def bind_tables() -> None:
    """Point every model at the tables the current settings name (tests change them)."""
    for model in MODELS:
        _bind(model)


def create_tables() -> None:
    """Create every model's table (the local stack and tests; on AWS the template does)."""
    for model in MODELS:
        if not model.exists():
            model.create_table(wait=True)
