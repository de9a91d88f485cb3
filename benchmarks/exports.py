"""Return files at scale (docs/inside/benchmarks.md): an RTF and an OTF of 100,000 members, each
made by the export engine in a fresh process, as the export function runs it, once with an
older revision's code (``--baseline``, "before") and once with this tree's ("after"), against
the same seeded store.

Run with ``.venv/bin/python benchmarks/exports.py`` (100,000 members, one outreach attempt
each in the month) or ``--members 10000``; ``--kinds rtf --formats csv`` limits it. The
members and activities are written straight to a store process (``benchmarks/store.py``,
loopback only) in DynamoDB's form, as an import leaves them. Prints, per kind, format and
code: rows written and skipped, wall and CPU seconds, peak RSS of the process and the file's
size, then after/before; the bounds are peak RSS <= 250 MB and, at 100,000 members, the wall
time the export took before this round (RTF CSV 468.6 s). The "before" child runs this
script with the baseline's ``layers/shared`` first on its ``PYTHONPATH``. With ``--repeat 2``
(the default) a second run of each checks the bytes are the same. A MISS never fails the run;
a measurement that breaks makes the exit code 1.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, describe_revision, log, peak_rss_mb, revision_tree
from e2e import _stop, _wait_http, free_ports, store_command
from fixtures_builders import sample_mif_row  # type: ignore[import-not-found]
from patients import point_at_store

from devstack.environment import use_local_environment
from ecm.clients import client
from ecm.clock import iso_timestamp
from ecm.exports.engine import run_export
from ecm.exports.records import create_export_record, get_export_record
from ecm.models import Activity, Patient, create_tables
from ecm.patients.index_fields import with_index_fields
from ecm.patients.items import build_patient
from ecm.settings import get_settings
from ecm.store import batch_write, to_item

PLAN = "bench-plan"
PERIOD = "2026-11"
PRODUCED = "2026-12-05"
MAX_RSS_MB = 250.0
#: What Lambda allows a function (the export function's timeout is this).
LAMBDA_SECONDS = 900
#: How long a child may take before the measurement counts as broken: the local store is
#: far slower than DynamoDB, the more so on a shared machine (an RTF of 100,000 members took
#: 1,280 s at load average ~9, and its second run more than 1,800).
CHILD_SECONDS = 3600
#: The size the time bounds were measured at, and those times (wall, local, moto-bound; an
#: export not measured then is held to Lambda's timeout).
BOUND_MEMBERS = 100_000
TODAY_SECONDS = {("rtf", "csv"): 468.6, ("rtf", "xlsx"): 501.8, ("otf", "csv"): 618.1}
#: The last commit before the referral columns and the engagement rule changed the exports.
BASELINE = "507fbda"


def seed(members: int) -> None:
    """``members`` patients of the plan (one in 50 terminated with no discontinuation date,
    which the RTF requires, so skipped rows are exercised) and one outreach attempt each in
    the month."""
    create_tables()
    client("s3").create_bucket(Bucket=get_settings().files_bucket)
    now = iso_timestamp()
    patients: list[dict[str, Any]] = []
    activities: list[dict[str, Any]] = []
    methods = ("phone", "email", "in_person", "video", "text")
    for i in range(1, members + 1):
        row = sample_mif_row(i)
        record = {
            "member_id": row["MEMBER_ID"],
            "cin": row["CIN"],
            "first_name": row["FIRST_NAME"],
            "last_name": row["LAST_NAME"],
            "date_of_birth": "1970-01-01",
            "address": row["ADDRESS"],
            "city": "Los Angeles",
            "state": "CA",
            "zip": "90001",
            "phone": "+16175550100",
            "ecm_benefit_auth_eff_date": "2026-01-01",
        }
        patient = build_patient(None, record, i, i, 1, None, "bench", now, plan=PLAN)
        patient["eligibility"]["member_record_status"] = "continuing_member"
        patient["eligibility"]["ecm_enrollment_start_date"] = "2026-02-01"
        if not i % 50:
            patient["eligibility"]["member_record_status"] = "terminated_member"
        with_index_fields(patient)  # the status changed: its list key too
        patients.append({"PutRequest": {"Item": to_item(patient)}})
        occurred = f"2026-11-{i % 28 + 1:02d}T18:{i % 60:02d}:00.000Z"
        activity = {
            "patient_id": i,
            "activity_key": f"{occurred}#{i:012d}",
            "id": i,
            "type": "outreach",
            "occurred_at": occurred,
            "method": methods[i % len(methods)],
            "minutes": 10 + i % 20,
            "successful": bool(i % 3),
            "created_at": now,
        }
        activities.append({"PutRequest": {"Item": to_item(activity)}})
        if len(patients) == 5000:
            batch_write(Patient.Meta.table_name, patients)
            batch_write(Activity.Meta.table_name, activities)
            patients, activities = [], []
    batch_write(Patient.Meta.table_name, patients)
    batch_write(Activity.Meta.table_name, activities)


def child(kind: str, file_format: str) -> int:
    """Make one export in this fresh process; print what it made and its peak RSS."""
    record = create_export_record(
        kind=kind, plan=PLAN, period=PERIOD, format=file_format, production_date=PRODUCED
    )
    started, cpu = time.perf_counter(), time.process_time()
    run_export(int(record["id"]))
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu
    made = get_export_record(int(record["id"])) or {}
    print(
        json.dumps(
            {
                "status": made.get("status"),
                "rows": made.get("row_count"),
                "skipped": made.get("skipped_count"),
                "bytes": made.get("file_bytes"),
                "sha256": made.get("sha256"),
                "seconds": seconds,
                "cpu_seconds": cpu_seconds,
                "rss_mb": peak_rss_mb(),
            }
        )
    )
    return 0


def run_child(store: str, kind: str, file_format: str, code: Path | None) -> dict[str, Any]:
    """One export in a fresh process; ``code`` (an older revision's ``layers/shared``) first on
    its path when given, today's code otherwise."""
    env = dict(os.environ)
    if code is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(code), env.get("PYTHONPATH")) if p)
    done = subprocess.run(  # noqa: PLW1510 - checked below
        [sys.executable, __file__, "--child", kind, file_format, "--store", store],
        capture_output=True,
        text=True,
        timeout=CHILD_SECONDS,
        cwd=ROOT,
        env=env,
    )
    if done.returncode != 0:
        raise RuntimeError(f"export {kind} {file_format} failed:\n{done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def time_bound(kind: str, file_format: str, members: int) -> float | None:
    """Today's export time for this export, measured at 100,000 members (None at other sizes)."""
    if members != BOUND_MEMBERS:
        return None
    return TODAY_SECONDS.get((kind, file_format), float(LAMBDA_SECONDS))


def verdict(made: dict[str, Any], bound: float | None) -> str:
    within = made["rss_mb"] <= MAX_RSS_MB and (bound is None or made["seconds"] <= bound)
    return "PASS" if within else "MISS"


def print_row(export: str, code: str, made: dict[str, Any], bound: float | None) -> None:
    print(
        f"{export:<9} {code:<7} {made['rows']:>8,} {made['skipped']:>8,} "
        f"{made['seconds']:>8.1f} {made['cpu_seconds']:>8.1f} {made['rss_mb']:>12.1f} "
        f"{made['bytes'] / 1e6:>7.1f}  {made['sha256'][:12]}  {verdict(made, bound)}",
        flush=True,
    )


def print_ratio(export: str, before: list[dict[str, Any]], after: list[dict[str, Any]]) -> None:
    """after / before of the medians (of one run each with ``--repeat 1``)."""

    def ratio(key: str) -> float:
        return float(
            statistics.median(m[key] for m in after) / statistics.median(m[key] for m in before)
        )

    print(
        f"{export:<9} {'after/before':<16} {'':>8} {ratio('seconds'):>8.2f} "
        f"{ratio('cpu_seconds'):>8.2f} {ratio('rss_mb'):>12.2f} {ratio('bytes'):>7.2f}",
        flush=True,
    )


def measure(args: argparse.Namespace, store_url: str, baseline_code: Path | None) -> None:
    codes: list[tuple[str, Path | None]] = [("after", None)]
    if baseline_code is not None:
        codes.insert(0, ("before", baseline_code))
    print()
    print(
        f"{'export':<9} {'code':<7} {'rows':>8} {'skipped':>8} {'wall s':>8} {'CPU s':>8} "
        f"{'peak RSS MB':>12} {'MB':>7}  sha256"
    )
    for kind in args.kinds.split(","):
        for file_format in args.formats.split(","):
            export = f"{kind} {file_format}"
            bound = time_bound(kind, file_format, args.members)
            made: dict[str, list[dict[str, Any]]] = {code: [] for code, _ in codes}
            # Before and after alternate, so a change of the machine's speed weighs on both.
            for _ in range(args.repeat):
                for code, path in codes:
                    made[code].append(run_child(store_url, kind, file_format, path))
                    print_row(export, code, made[code][-1], bound)
            if baseline_code is not None:
                print_ratio(export, made["before"], made["after"])
            for code, runs in made.items():
                if len(runs) > 1:
                    same = len({m["sha256"] for m in runs}) == 1
                    print(f"  {code}: same bytes every run: {'yes' if same else 'NO'}")
            limit = f"<= {bound:.1f} s" if bound is not None else "time: at 100,000 only"
            print(f"  bounds: peak RSS <= {MAX_RSS_MB:.0f} MB, {limit}", flush=True)


def load() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg())


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=BOUND_MEMBERS)
    parser.add_argument("--repeat", type=int, default=2, help="runs of each export and code")
    parser.add_argument("--kinds", default="rtf,otf", help="comma-separated: rtf,otf")
    parser.add_argument("--formats", default="csv,xlsx", help="comma-separated: csv,xlsx")
    parser.add_argument(
        "--baseline",
        default=BASELINE,
        help=f"git revision measured as 'before' (default {BASELINE}); 'none' for today's only",
    )
    parser.add_argument("--child", nargs=2, metavar=("KIND", "FORMAT"))
    parser.add_argument("--store")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT / "tests"))
    if args.child:
        point_at_store(args.store)
        return child(*args.child)

    use_local_environment()
    (port,) = free_ports(1)
    store_url = f"http://127.0.0.1:{port}"
    store_log = ROOT / ".bench" / "exports-store.log"
    store_log.parent.mkdir(exist_ok=True)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {load()}")
    store = subprocess.Popen(
        store_command(port), cwd=ROOT, stdout=store_log.open("wb"), stderr=subprocess.STDOUT
    )
    failed = False
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="exports-") as tmp:
            baseline_code = None
            if args.baseline != "none":
                print(f"before: {describe_revision(args.baseline)}")
                tree = revision_tree(args.baseline, Path(tmp))
                baseline_code = tree / "layers" / "shared"
            print(f"after: this tree, {describe_revision('HEAD')} and what is not committed")
            _wait_http(requests.Session(), f"{store_url}/moto-api/", store, store_log, 60)
            point_at_store(store_url)
            log(f"seeding {args.members:,} members and as many outreach attempts")
            seeded = time.perf_counter()
            seed(args.members)
            log(f"seeded in {time.perf_counter() - seeded:.1f} s")
            measure(args, store_url, baseline_code)
    except Exception as exc:  # a broken measurement, not a miss
        failed = True
        print(f"ERRORS\n{exc}", file=sys.stderr)
    finally:
        _stop(store)
    print(f"load average after {load()}; {time.perf_counter() - started:.0f} s")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
