"""The meta table (id counters, list counts, the import lock, test fault hooks) and the
idempotency table (written by Powertools' idempotency utility, for the inbox trigger)."""

from __future__ import annotations

from pynamodb.attributes import NumberAttribute, UnicodeAttribute, UnicodeSetAttribute

from ecm.models.base import TableMeta, TableModel, register


@register
class MetaItem(TableModel):
    """``pk`` says what an item is:

    - ``counter#<name>``: ``value`` is the last id handed out (patients, users, history...);
    - ``count#<list>``: ``value`` is how many patients the list holds (ecm.counts);
    - ``lock#imports``: the import lock, its ``holder`` and ``expires_at`` (epoch seconds);
    - ``lock#queue``: ``waiting`` holds ``<arrival epoch ns>#<holder>`` for each import waiting
      for the lock, so a waiting import can show its place in line;
    - ``unique#provider-name#<folded name>``, ``unique#provider-npi#<npi>``: claimed by a
      provider (``value`` is its id) in the transaction that creates it;
    - ``applying#<kind>#<file id>#<chunk>``: an apply chunk running until ``expires_at``
      (the function's timeout), which its import's rollback waits for;
    - ``fault#<stage>``: tests only (ECM_ENABLE_FAULT_HOOKS): ``ecm.imports.stages.faults``.
    """

    resource = "MetaTable"
    setting = "meta_table"

    class Meta(TableMeta):
        pass

    pk = UnicodeAttribute(hash_key=True)
    value = NumberAttribute(null=True)
    holder = UnicodeAttribute(null=True)
    expires_at = NumberAttribute(null=True)
    after_chunk = NumberAttribute(null=True)
    hold_seconds = NumberAttribute(null=True)
    mode = UnicodeAttribute(null=True)
    at = UnicodeAttribute(null=True)
    times = NumberAttribute(null=True)
    waiting = UnicodeSetAttribute(null=True)


@register
class IdempotencyRecord(TableModel):
    """Powertools' DynamoDBPersistenceLayer item (its attribute names, its defaults)."""

    resource = "IdempotencyTable"
    setting = "idempotency_table"

    class Meta(TableMeta):
        pass

    id = UnicodeAttribute(hash_key=True)
    expiration = NumberAttribute(null=True)
    in_progress_expiration = NumberAttribute(null=True)
    status = UnicodeAttribute(null=True)
    data = UnicodeAttribute(null=True)
    validation = UnicodeAttribute(null=True)
