"""Capacity benchmark: every DynamoDB write a MIF import makes, and where AWS would throttle it.

Run ``.venv/bin/python benchmarks/capacity.py`` (100,000 rows; ``--rows 2000`` for a quick
check; ``--json PATH`` saves the figures). Three imports of one file of one plan, one
provider and one status, through the HTTP API of a local stack: creates, the same file
again (updates), and the same file with a test-only fault after apply (finalize fails once
its counts are written, so the rollback restores every updated patient and the counts).

The stack runs in this process (``devstack.stack.LocalStack``: API, Step Functions, the
Lambda handlers) so that ``capacity_recorder`` can hook the product's own clients; DynamoDB,
S3 and SQS live in a store process (``benchmarks/store.py`` via ``ECM_STORE_ENDPOINT``), so
moto's DynamoDB, the slowest part of an import here, has the other core, away from the
product's code and the recorder. ``capacity_rules`` says what each write costs (its
docstring cites AWS's rules); ``capacity_report`` sums the writes per run, table, index and
partition key. The figures are AWS's write units, not the local stack's speed. Prints per
run and per table and index: write units, partition keys, the hottest key and its share,
and the floors on AWS (hottest key at 1,000 WRU/s; all writes at the table's or index's
throughput), then each target with PASS or MISS. A MISS does not fail the run (exit code
0); a run that breaks is listed under ERRORS and makes the exit code 1.

See benchmarks/README.md ("Capacity: write units per partition key").
"""

from __future__ import annotations

import argparse
import csv
import os
import random
import string
import subprocess
import sys
import time
import traceback
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import boto3
import requests
from capacity_recorder import Recorder, Stages
from capacity_report import RunFigures, figures, print_report, save_json
from capacity_rules import template_schemas
from common import ADMIN_TOKEN, BENCH_DIR, REGION, ROOT, log
from e2e import _stop, _wait_http, free_ports, store_command
from fixtures_builders import MIF_HEADERS, VALID_NPI, sample_mif_row

from devstack.stack import LocalStack
from devstack.template import LocalTemplate, load_template
from ecm.clients import add_client_hook
from ecm.settings import get_settings

DEFAULT_ROWS = 100_000
PLAN = "healthnet"
PROVIDER_ID = 1
PROVIDER_NAME = "Esteem Health PSC"  # every sample_mif_row names it, with VALID_NPI
#: Names beyond sample_mif_row's eight first and eight last names, drawn uniformly, so the
#: name search partitions spread as common Californian names would (real names are skewed
#: more). Last names keep sample_mif_row's row-number suffix: every name key is unique.
FIRST_NAMES = (
    *("Maria", "Jose", "Juan", "Luis", "Ana", "Carlos", "Jennifer", "Michael", "David"),
    *("James", "Robert", "Daniel", "Jessica", "Sarah", "Ashley", "Christopher", "Anthony"),
    *("Kevin", "Brian", "Linda", "Patricia", "Elizabeth", "Rosa", "Miguel", "Francisco"),
    *("Jesus", "Guadalupe", "Veronica", "Angela", "Mei", "Wei", "Thanh", "Minh", "Priya"),
    *("Aisha", "Omar", "Tyrone", "Keisha", "Samuel", "Grace"),
)
LAST_NAMES = (
    *("Garcia", "Hernandez", "Lopez", "Martinez", "Gonzalez", "Rodriguez", "Perez"),
    *("Sanchez", "Ramirez", "Torres", "Flores", "Rivera", "Gomez", "Diaz", "Cruz", "Reyes"),
    *("Morales", "Gutierrez", "Ortiz", "Chavez", "Smith", "Johnson", "Williams", "Brown"),
    *("Jones", "Miller", "Davis", "Wilson", "Anderson", "Taylor", "Thomas", "Moore"),
    *("Jackson", "White", "Harris", "Nguyen", "Tran", "Le", "Pham", "Kim", "Lee", "Park"),
    *("Wong", "Chen", "Singh", "Patel", "Okafor", "Rossi", "Cohen", "Ali"),
)
#: Each run: its name, and whether finalize fails (a test-only fault: the rollback run).
RUNS = (("creates", False), ("updates", False), ("rollback", True))


def capacity_file(rows: int) -> Path:
    """The benchmark's MIF (cached in .bench/): sample_mif_row's rows with realistic CINs
    (``9`` + seven digits + a letter, unique), member ids equal to them, varied names."""
    path = BENCH_DIR / f"capacity-{rows}.csv"
    if path.exists() and path.stat().st_size > 0:
        return path
    BENCH_DIR.mkdir(exist_ok=True)
    rng = random.Random(rows)  # test data: the same file for the same size
    cins: set[str] = set()
    partial = path.with_name(path.name + ".partial")
    with partial.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(MIF_HEADERS)
        for i in range(1, rows + 1):
            row = sample_mif_row(i)
            cin = ""
            while not cin or cin in cins:
                cin = f"9{rng.randrange(10**7):07d}{rng.choice(string.ascii_uppercase)}"
            cins.add(cin)
            row["MEMBER_ID"] = row["CIN"] = cin
            row["FIRST_NAME"] = rng.choice(FIRST_NAMES)
            row["LAST_NAME"] = f"{rng.choice(LAST_NAMES)}{i}"
            writer.writerow([row[name] for name in MIF_HEADERS])
    partial.replace(path)
    return path


class Bench:
    """The store process, the local stack in this process, the recorder on its clients."""

    def __init__(self) -> None:
        self.store_port, self.api_port, self.aws_port = free_ports(3)
        self.store_url = f"http://127.0.0.1:{self.store_port}"
        self.api = f"http://127.0.0.1:{self.api_port}"
        self.session = requests.Session()
        self.session.trust_env = False  # loopback only, never a proxy
        self.headers = {"X-User-Token": ADMIN_TOKEN, "Content-Type": "application/json"}
        self.store: subprocess.Popen[bytes] | None = None
        self.stack: Any = None

    def start(self) -> None:
        logs = BENCH_DIR / "logs"
        logs.mkdir(parents=True, exist_ok=True)
        self.store_log = logs / f"capacity-store-{os.getpid()}.log"
        for proxy in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy", "https_proxy"):
            os.environ.pop(proxy, None)
        os.environ["NO_PROXY"] = "127.0.0.1,localhost"
        with self.store_log.open("wb") as out:
            self.store = subprocess.Popen(
                store_command(self.store_port), cwd=ROOT, stdout=out, stderr=subprocess.STDOUT
            )
        _wait_http(self.session, f"{self.store_url}/moto-api/", self.store, self.store_log, 60)
        os.environ.update(
            {
                "ECM_STORE_ENDPOINT": self.store_url,
                "ECM_ADMIN_TOKEN": ADMIN_TOKEN,
                "ECM_SYNC_WAIT_SECONDS": "1",
                "ECM_ENABLE_FAULT_HOOKS": "1",  # run 3's fault; no other run sets one
            }
        )
        session = boto3.Session(
            aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION
        )
        # The benchmark's own clients: not the product's, so the recorder is not on them.
        self.reader: Any = session.client("dynamodb", endpoint_url=self.store_url)
        self.s3: Any = session.client("s3", endpoint_url=self.store_url)

        self.schemas = template_schemas(LocalTemplate(load_template(), {}, self.aws_port))
        self.stack = LocalStack(self.api_port, self.aws_port)
        machines = [
            self.stack.template.state_machine(logical)[1]
            for logical in self.stack.template.of_type("AWS::Serverless::StateMachine")
        ]
        steps = [f for f in self.stack.functions if any(f':function:{f}"' in m for m in machines)]
        self.recorder = Recorder(self.schemas, self.reader, Stages(steps))
        add_client_hook(self.recorder.attach)  # before the stack makes its first client
        self.bucket = self.stack.start().bucket
        for name, handler in list(self.stack.handlers.items()):
            self.stack.handlers[name] = self.recorder.stages.wrap(name, handler)

        self.settings = get_settings()
        self.put(
            self.settings.providers_table,
            {"id": {"N": str(PROVIDER_ID)}, "name": {"S": PROVIDER_NAME}, "npi": {"S": VALID_NPI}},
        )

    def put(self, table: str, item: dict[str, Any]) -> None:
        """The benchmark's own write (not the product's): the shadow learns it, uncounted."""
        self.reader.put_item(TableName=table, Item=item)
        self.recorder.seed(table, item)

    def delete(self, table: str, key: dict[str, Any]) -> None:
        self.reader.delete_item(TableName=table, Key=key)
        self.recorder.unseed(table, key)

    def import_file(self, path: Path, key: str, rows: int) -> tuple[dict[str, Any], float]:
        """Upload, POST a path import of the plan, poll the record until it ends."""
        self.s3.upload_file(str(path), self.bucket, key)
        started = time.perf_counter()
        answer = self.session.post(
            f"{self.api}/v1/admin/clinic/ecm/mifs",
            json={"mif": {"path": key, "plan": PLAN}},
            headers=self.headers,
            timeout=120,
        )
        if answer.status_code not in (201, 202):
            raise RuntimeError(f"POST answered {answer.status_code}: {answer.text[:2000]}")
        url = f"{self.api}/v1/admin/clinic/ecm/mifs/{int(answer.json()['mif_file_id'])}"
        deadline = started + 900 + rows * 0.05
        while time.perf_counter() < deadline:
            detail = self.session.get(url, headers=self.headers, timeout=60)
            if detail.status_code == 200:
                record: dict[str, Any] = detail.json()["mif_file"]
                if record["status"] in ("completed", "failed"):
                    return record, time.perf_counter() - started
            time.sleep(2)
        raise RuntimeError(f"{key} not imported within {deadline - started:.0f} s")

    def stop(self) -> None:
        try:
            if self.stack is not None:
                self.stack.stop()
        finally:
            _stop(self.store)
            self.session.close()


def measure(bench: Bench, rows: int, report: list[RunFigures], errors: list[str]) -> None:
    path = capacity_file(rows)
    log("starting the store and the local stack ...")
    bench.start()
    fault_key = {"pk": {"S": "fault#finalize"}}
    for number, (name, fault) in enumerate(RUNS, 1):
        if fault:  # after the counts and result files: the worst moment (ecm.faults)
            item = {**fault_key, "mode": {"S": "raise"}, "at": {"S": "counted"}}
            bench.put(bench.settings.meta_table, item)
        bench.recorder.take()  # what came before this import is not its writes
        log(f"run {number} ({name}): importing {rows:,} rows ...")
        record, seconds = bench.import_file(path, f"bench/capacity-{rows}-run{number}.csv", rows)
        tallies, calls, failures = bench.recorder.take()
        if fault:
            bench.delete(bench.settings.meta_table, fault_key)
        run = RunFigures(
            name=name,
            rows=rows,
            status=record["status"],
            stage=str(record.get("stage")),
            created=int(record.get("created_count") or 0),
            updated=int(record.get("updated_count") or 0),
            seconds=seconds,
            calls=dict(calls.most_common()),
        )
        figures(run, tallies, bench.schemas)
        report.append(run)
        log(f"run {number} ({name}): {run.status}/{run.stage} in {seconds:.0f} s, {run.wru:,} WRU")
        wanted = {
            "creates": ("completed", rows, 0),
            "updates": ("completed", 0, rows),
            "rollback": ("failed", 0, 0),
        }[name]
        if (run.status, run.created, run.updated) != wanted or (
            fault and run.stage != "rolled_back"
        ):
            errors.append(
                f"run {number} ({name}) ended {record['status']}/{record.get('stage')}, "
                f"created {run.created}, updated {run.updated}: {record.get('import_errors')}"
            )
        failures += bench.recorder.check()
        errors.extend(f"run {number} ({name}): recorder: {failure}" for failure in failures)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows of the MIF")
    parser.add_argument("--json", type=Path, help="also save the figures to this file")
    args = parser.parse_args(argv)
    if not 1 <= args.rows <= DEFAULT_ROWS:
        raise SystemExit(f"--rows must be 1..{DEFAULT_ROWS} (a file's row limit)")
    out = sys.stdout
    (BENCH_DIR / "logs").mkdir(parents=True, exist_ok=True)
    # The stack's own log lines (Powertools writes to stdout) go to a file, not the report.
    stack_log = BENCH_DIR / "logs" / f"capacity-stack-{os.getpid()}.log"
    sys.stdout = stack_log.open("w", encoding="utf-8")
    report: list[RunFigures] = []
    errors: list[str] = []
    bench = Bench()
    try:
        measure(bench, args.rows, report, errors)
    except Exception as exc:
        errors.append(f"{type(exc).__name__}: {exc}")
        log(f"ERROR {type(exc).__name__}: {exc}")
        traceback.print_exc(file=sys.stderr)
    finally:
        bench.stop()
    print(file=out)
    title = f"ECM capacity benchmark: {args.rows:,}-row MIF, plan {PLAN}, provider {PROVIDER_ID}"
    print_report(f"{title}, one status", report, errors, out)
    if args.json:
        save_json(args.json, args.rows, report, errors)
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
