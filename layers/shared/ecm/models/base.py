"""What every table model shares: its table's name from the settings, botocore's retry mode.

A model names the template resource and the settings field it stands for; its table name is
read from the settings when pynamodb first needs it (the template passes each table's
generated name to the functions: nothing is read at import), and the template parity test
(tests/unit/test_models.py) checks each model's keys, indexes and projections against
``template.yaml``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from pynamodb.models import Model

from ecm.clients import CALL_ATTEMPTS, CLIENT_LOCK, botocore_session, instrument
from ecm.settings import get_settings


class _TableName:
    """``Meta.table_name``: the settings field the model names, read when asked."""

    def __get__(self, instance: object, owner: type) -> str:
        setting = getattr(owner, "setting", "")
        return str(getattr(get_settings(), setting)) if setting else ""


class TableMeta:
    """Connection settings of every model (pynamodb's ``Meta``), set once here."""

    table_name: Any = _TableName()
    setting = ""
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

    @classmethod
    def _get_connection(cls) -> Any:
        """pynamodb's connection, its client made from the process's one botocore session
        and given the product's hooks (ecm.clients).

        pynamodb keeps a session per connection and per thread (``Connection._local``) and
        uses it only to make the client, which all threads then share: the session is set
        there before the client is made (tests/unit/test_models.py checks it is used)."""
        connection = super()._get_connection()
        inner = connection.connection
        with CLIENT_LOCK:
            inner._local.session = botocore_session()
            made = inner.client
        instrument(made)
        return connection


#: Every model, filled by ``register`` as the model modules load.
MODELS: list[type[TableModel]] = []


def register(model: Any) -> Any:
    """Class decorator: the model's Meta reads its table name from ``model.setting``."""
    model.Meta.setting = model.setting
    MODELS.append(model)
    return model


def drop_connections() -> None:
    """The next call of every model connects anew (tests change the endpoint)."""
    for model in MODELS:
        model._connection = None


def create_tables() -> None:
    """Create every model's table (the local stack and tests; on AWS the template does)."""
    for model in MODELS:
        if not model.exists():
            model.create_table(wait=True)
