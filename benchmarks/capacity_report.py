"""The capacity benchmark's figures: per run, table and index, the write units, the hottest
partition key and its share, the floors on AWS, the cost, and the targets; printed and saved
as JSON. Partition key values that may be PHI are shown only as a salted hash."""

from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from capacity_recorder import Tally
from capacity_rules import BASE, PARTITION_WRU_PER_S, TableSchema

FLOOR_TARGET_S = 15.0
PRICE_PER_MILLION_WRU = 0.625
PRICE_NOTE = (
    "DynamoDB on-demand writes at $0.625 per million write request units "
    "(us-east-1 list price, assumed as of 2026-12-07; check before relying on it)"
)
#: A partition key may take at most this share of its table's or index's write units.
SHARE_LIMIT = 1 / 16
#: Partition keys whose values are not PHI (constants, provider and user ids, plan codes,
#: meta keys, a list's or search index's shard) are printed; any other value (a CIN, a name,
#: a patient's id, a text's search partition of an earlier layout) only as its attribute
#: and a hash, salted per process.
PRINTABLE_KEYS = frozenset(
    {
        "all_shard",
        "status_shard",
        "provider_shard",
        "olcm_shard",
        "ilcm_shard",
        "plan_shard",
        "search_name_p",
        "search_last_p",
        "search_member_p",
        "search_cin_p",
        "kind",
        "member_record_status",
        "plan",
        "provider_id",
        "olcm_user_id",
        "ilcm_user_id",
        "type",
        "scope",
        "pk",
    }
)
_SALT = os.urandom(16)


@dataclass
class Place:
    """The writes of one run to one table or index."""

    table: str
    index: str
    writes: int
    wru: int
    keys: int
    hot_key: str
    hot_wru: int
    share: float
    key_floor_s: float
    throughput: int
    throughput_floor_s: float
    #: written per row (at least one write per ``PER_ROW`` rows), not per import
    per_row: bool = True

    @property
    def name(self) -> str:
        return f"{self.table}/{self.index}" if self.index else self.table

    @property
    def share_ok(self) -> bool:
        """The 1/16 rule holds where rows are written. An import's own bookkeeping (its file
        record, the lock, the counters: one item each, written per chunk) has no key to
        spread, and its few hundred writes take a fraction of a second on any key."""
        return not self.per_row or self.share <= SHARE_LIMIT


def shown_key(attribute: str, value: str) -> str:
    if attribute in PRINTABLE_KEYS:
        return f"{attribute}={value}"
    digest = hashlib.blake2b(value.encode(), key=_SALT, digest_size=3).hexdigest()
    return f"<{attribute} #{digest}>"


#: A table or index written at least once per this many rows holds the rows' data.
PER_ROW = 10


def places(tally: Tally, schemas: dict[str, TableSchema], rows: int) -> list[Place]:
    """Per table and index: totals, the hottest partition key, the floors on AWS."""
    order = {
        (table.name, index): (t, i)
        for t, table in enumerate(schemas.values())
        for i, index in enumerate((BASE, *(x.name for x in table.indexes)))
    }
    found = []
    for table_name, index_name in sorted(tally.units, key=lambda p: order.get(p, (999, 0))):
        units = tally.units[table_name, index_name]
        table = schemas[table_name]
        index = next((x for x in table.indexes if x.name == index_name), None)
        attribute = index.keys[0] if index else table.keys[0]
        throughput = index.throughput if index else table.throughput
        total = sum(units.values())
        hot_key, hot = units.most_common(1)[0]
        found.append(
            Place(
                table=table_name,
                index=index_name,
                writes=tally.writes[table_name, index_name],
                wru=total,
                keys=len(units),
                hot_key=shown_key(attribute, hot_key),
                hot_wru=hot,
                share=hot / total,
                key_floor_s=hot / PARTITION_WRU_PER_S,
                throughput=throughput,
                throughput_floor_s=total / throughput,
                per_row=tally.writes[table_name, index_name] * PER_ROW >= rows,
            )
        )
    return found


@dataclass
class RunFigures:
    name: str
    rows: int
    status: str
    stage: str
    created: int
    updated: int
    seconds: float
    wru: int = 0
    cost_usd: float = 0.0
    floor_s: float = 0.0
    floor_by: str = ""
    stages: dict[str, int] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    places: list[Place] = field(default_factory=list)
    rollback: list[Place] = field(default_factory=list)


def figures(run: RunFigures, tallies: dict[str, Tally], schemas: dict[str, TableSchema]) -> None:
    whole = Tally()
    for tally in tallies.values():
        whole.merge(tally)
    run.stages = {stage: tally.total() for stage, tally in sorted(tallies.items())}
    run.places = places(whole, schemas, run.rows)
    run.wru = whole.total()
    run.cost_usd = run.wru * PRICE_PER_MILLION_WRU / 1_000_000
    if "Rollback" in tallies:
        run.rollback = places(tallies["Rollback"], schemas, run.rows)
    for place in run.places:
        for floor, why in (
            (place.key_floor_s, "its hottest partition key at 1,000 WRU/s"),
            (place.throughput_floor_s, f"all its writes at {place.throughput:,} WRU/s"),
        ):
            if floor > run.floor_s:
                run.floor_s, run.floor_by = floor, f"{place.name}: {why}"


COLUMNS = (
    "table / index",
    "writes",
    "WRU",
    "keys",
    "hottest key",
    "hot WRU",
    "share",
    "<= 1/16",
    "key floor s",
    "WRU/s",
    "thr floor s",
)


def print_places(found: list[Place], out: Any) -> None:
    lines = [
        (
            place.name,
            f"{place.writes:,}",
            f"{place.wru:,}",
            f"{place.keys:,}",
            place.hot_key,
            f"{place.hot_wru:,}",
            f"{place.share:.1%}",
            ("PASS" if place.share_ok else "MISS") if place.per_row else "n/a",
            f"{place.key_floor_s:,.1f}",
            f"{place.throughput:,}",
            f"{place.throughput_floor_s:,.1f}",
        )
        for place in found
    ]
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(COLUMNS)]
    for cells in (COLUMNS, tuple("-" * w for w in widths), *lines):
        text = "  ".join(
            cell.ljust(w) if i in (0, 4) else cell.rjust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        )
        print("  " + text.rstrip(), file=out)


def targets(report: list[RunFigures]) -> list[tuple[bool, str]]:
    verdicts = []
    for number, run in enumerate(report, 1):
        verdicts.append(
            (
                run.floor_s <= FLOOR_TARGET_S,
                f"run {number} ({run.name}): floor on AWS <= {FLOOR_TARGET_S:.0f} s: "
                f"{run.floor_s:,.1f} s ({run.floor_by})",
            )
        )
        over = [f"{p.name} {p.share:.0%}" for p in run.places if not p.share_ok]
        verdicts.append(
            (
                not over,
                f"run {number} ({run.name}): every partition key <= 1/16 of its table's or "
                f"index's write units (where rows are written): "
                f"{'over at ' + ', '.join(over) if over else 'all'}",
            )
        )
    return verdicts


def print_report(title: str, report: list[RunFigures], errors: list[str], out: Any) -> None:
    print(
        f"{title}; python {sys.version.split()[0]}; {os.cpu_count()} CPUs; "
        f"load average {os.getloadavg()[0]:.2f}",
        file=out,
    )
    print(f"Cost: {PRICE_NOTE}", file=out)
    for number, run in enumerate(report, 1):
        print(file=out)
        print(
            f"run {number} ({run.name}): {run.status}/{run.stage} in {run.seconds:,.0f} s "
            f"locally (created {run.created:,}, updated {run.updated:,}); {run.wru:,} WRU "
            f"= ${run.cost_usd:,.2f}; floor on AWS {run.floor_s:,.1f} s ({run.floor_by})",
            file=out,
        )
        stages = " · ".join(f"{stage} {wru:,}" for stage, wru in run.stages.items())
        print(f"  WRU by stage: {stages}", file=out)
        calls = " · ".join(f"{call} {count:,}" for call, count in run.calls.items())
        print(f"  write calls: {calls}", file=out)
        print_places(run.places, out)
        if run.rollback:
            tables = sum(p.wru for p in run.rollback if not p.index)
            total = sum(p.wru for p in run.rollback)
            print(
                f"  the Rollback stage's own writes: {total:,} WRU ({tables:,} to tables, "
                f"{total - tables:,} to indexes)",
                file=out,
            )
            print_places(run.rollback, out)
    print(file=out)
    print("targets", file=out)
    for passed, text in targets(report):
        print(f"  {'PASS' if passed else 'MISS'}  {text}", file=out)
    if errors:
        print(file=out)
        print("ERRORS (runs that broke; their targets are MISS):", file=out)
        for message in errors:
            print(f"  - {message}", file=out)


def save_json(path: Path, rows: int, report: list[RunFigures], errors: list[str]) -> None:
    runs = []
    for run in report:
        data = asdict(run)
        for key in ("places", "rollback"):
            for place, saved in zip(getattr(run, key), data[key], strict=True):
                saved.update(name=place.name, share_ok=place.share_ok)
        runs.append(data)
    document = {
        "rows": rows,
        "price": PRICE_NOTE,
        "targets": [{"passed": p, "target": t} for p, t in targets(report)],
        "runs": runs,
        "errors": errors,
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
