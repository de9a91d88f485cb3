"""What an import plans to write, one item at a time: the planners make these, the plan
stage stores them per chunk, apply writes them on condition and rollback undoes them.

The stored form (JSON in the import's work area, read by apply and rollback, perhaps by a
newer version of the code than the one that planned) keeps its short keys: ``t`` (table),
``row``, ``put``, ``prior``, ``delete``, and ``created`` for a chunk's new items."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Item = dict[str, Any]
#: The tables a plan writes (``ecm.imports.stages.work`` maps them to table names).
Table = Literal["patients", "keys", "authorizations"]


@dataclass(slots=True)
class PlanEntry:
    """One item write: ``put`` (its next version) or ``delete`` (its key), over ``prior``,
    the item as read (None: the item is new). Apply writes it only while the stored item
    is still ``prior``; rollback puts ``prior`` back. ``row`` is the file row it comes from
    and ``snapshot`` what the file's detail lists for that row (never stored with the plan)."""

    table: Table
    prior: Item | None
    put: Item | None = None
    delete: Item | None = None
    row: int | None = None
    snapshot: Item | None = None

    @property
    def creates(self) -> bool:
        return self.prior is None

    def stored(self) -> Item:
        form: Item = {"t": self.table, "prior": self.prior}
        if self.put is not None:
            form["put"] = self.put
        if self.delete is not None:
            form["delete"] = self.delete
        if self.row is not None:
            form["row"] = self.row
        return form


@dataclass(slots=True)
class CreatedItems:
    """The key values of the items a plan chunk creates in one table: apply sends the items
    as prebuilt batches, rollback deletes these keys."""

    table: Table
    keys: list[Any]

    def stored(self) -> Item:
        return {"t": self.table, "created": self.keys}


StoredEntry = PlanEntry | CreatedItems


def load_entries(stored: list[Item]) -> list[StoredEntry]:
    """A plan chunk as stored, back in its types."""
    return [
        CreatedItems(e["t"], e["created"])
        if "created" in e
        else PlanEntry(e["t"], e.get("prior"), e.get("put"), e.get("delete"), e.get("row"))
        for e in stored
    ]
