"""Many items written all or nothing, though one TransactWriteItems holds at most 100
actions (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/transaction-apis.html):
a thousand patients, their name keys and their counters cannot be one transaction.

The writes go in transactions of at most 100 actions, one after another: each item on the
condition that it still has the version read, beside the counter deltas of that
transaction's own patients (so the counts equal a recount after every commit). When a
transaction is refused because an item changed since it was read (or AWS stays busy), the
transactions already committed are undone, newest first, again one transaction each: every
item put back as it was read (as its next version, on the condition that it still holds
what was written), the counter deltas subtracted.

What a reader sees meanwhile: between the first commit and the end (the last commit, or
the last undo), a read may find some of the patients changed and others not, and lists and
counts with them; never a patient half-changed, never a count that disagrees with the
patients. A writer who changes one of the patients in that moment wins: the undo finds
its version and leaves its change (made over ours) in place, and says which
(``WriteConflict.kept``).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field

from pynamodb.exceptions import PynamoDBException
from pynamodb.transactions import TransactWrite

from ecm.aws_errors import cancellation_codes, error_name
from ecm.log import logger
from ecm.models.access import Item, as_model, condition_failed, put_versioned, transaction
from ecm.models.base import TableModel
from ecm.models.versions import versioned
from ecm.patients.counts import TRANSACTION_LIMIT, add_count_updates


@dataclass
class Write:
    """One item's write: ``new`` over ``prior`` as read (None: created, or deleted)."""

    model: type[TableModel]
    prior: Item | None
    new: Item | None
    #: what a 409 calls it (``patients[3] (id 12)``); None for an item no client named
    label: str | None = None
    deltas: Counter[str] = field(default_factory=Counter)


class WriteConflict(Exception):
    """An item changed since it was read: nothing of ours is left written, except on the
    items in ``kept``, which someone changed again after we wrote them."""

    def __init__(self, changed: list[str | None], kept: list[str | None]) -> None:
        super().__init__(f"{len(changed)} item(s) changed since read")
        self.changed = changed
        self.kept = kept


def _forward(writes: TransactWrite, write: Write) -> None:
    if write.new is not None:
        put_versioned(writes, write.model, write.new, write.prior)
    elif write.prior is not None:
        writes.delete(as_model(write.model, write.prior))


def _backward(writes: TransactWrite, write: Write) -> None:
    """Put the item back as it was read, if it still holds what ``_forward`` wrote."""
    if write.prior is None and write.new is not None:
        writes.delete(as_model(write.model, write.new))
    elif write.prior is not None and write.new is None:
        put_versioned(writes, write.model, versioned(dict(write.prior), None), None)
    elif write.prior is not None and write.new is not None:
        put_versioned(writes, write.model, versioned(dict(write.prior), write.new), write.new)


def groups(writes: list[Write], limit: int = TRANSACTION_LIMIT) -> list[list[Write]]:
    """``writes`` in order, cut into transactions of at most ``limit`` actions: the items
    and one counter update per counter their deltas touch."""
    found: list[list[Write]] = []
    current: list[Write] = []
    counters: set[str] = set()
    for write in writes:
        touched = counters | {key for key, delta in write.deltas.items() if delta}
        if current and len(current) + 1 + len(touched) > limit:
            found.append(current)
            current = []
            touched = {key for key, delta in write.deltas.items() if delta}
        current.append(write)
        counters = touched
    if current:
        found.append(current)
    return found


def _commit(group: list[Write], action: Callable[[TransactWrite, Write], None], sign: int) -> None:
    deltas: Counter[str] = Counter()
    for write in group:
        deltas.update(write.deltas)
    with transaction() as writes:
        for write in group:
            action(writes, write)
        add_count_updates(writes, dict(deltas), sign)


def _refused(group: list[Write], exc: BaseException) -> list[str | None]:
    """The writes of ``group`` whose condition did not hold (cancellation reasons come in
    request order: the group's items first)."""
    codes = cancellation_codes(exc)
    return [
        group[i].label for i, code in enumerate(codes[: len(group)]) if code.startswith("Condit")
    ]


def _undo(done: list[list[Write]]) -> list[str | None]:
    """Undo the committed groups, newest first; answer the writes left in place because
    their item changed again after we wrote it. A group that cannot be undone whole is
    undone write by write, each with its own counter deltas."""
    kept: list[str | None] = []
    for group in reversed(done):
        try:
            _commit(group, _backward, -1)
            continue
        except PynamoDBException as exc:
            if not condition_failed(exc):
                raise
        for write in group:
            try:
                _commit([write], _backward, -1)
            except PynamoDBException as exc:
                if not condition_failed(exc):
                    raise
                kept.append(write.label)
    return kept


def write_all(writes: list[Write]) -> None:
    """Every write, or none (``WriteConflict``; AWS busy past its retries: the error as
    raised, after the undo). An undo that fails itself is logged by counts only."""
    done: list[list[Write]] = []
    for group in groups(writes):
        try:
            _commit(group, _forward, 1)
        except Exception as exc:
            changed = _refused(group, exc) if condition_failed(exc) else None
            try:
                kept = _undo(done)
            except Exception as undo_exc:
                logger.error(
                    "bulk write left partly applied",
                    extra={"error_type": error_name(undo_exc), "groups_committed": len(done)},
                )
                raise
            if changed is None:
                raise
            raise WriteConflict(changed, kept) from None
        done.append(group)
