"""Upload-path benchmark: a 100,000-row MIF (CSV, XLSX) through the presigned-upload path.

Run with ``make bench-uploads`` (``.venv/bin/python benchmarks/uploads.py``); ``--rows 10000``
for a quicker check. For each format:

1. A fresh local stack (a ``benchmarks/store.py`` process for DynamoDB/S3/SQS plus
   ``python -m devstack``) imports the whole file through the upload path:
   ``POST /v1/admin/clinic/ecm/mifs/uploads`` → ``PUT`` to the presigned URL → the S3 event
   starts the import → poll ``GET /v1/admin/clinic/ecm/mifs/{id}`` until completed. Total time
   and the stack process's CPU per row ("our CPU": store excluded, Step Functions and Lambda
   emulation included, as in run.py).
2. A second fresh stack imports the same rows as 4 files of 25,000 (rows 1-25,000,
   25,001-50,000, ...: distinct member ids), one after the other. Ratio 4×25k / 100k.
3. Peak RSS per stage: the stack runs every Lambda in one process, so after each full import
   one fresh import is replayed stage by stage, each stage handler of
   ``functions/import_steps/app.py`` in its own subprocess with its function's environment
   from ``template.yaml`` and the stack's AWS endpoints: validate, lock, plan, apply one chunk,
   finalize, then rollback (info). On the first stack the replay re-imports the same file (every
   row updates a patient); on the second it imports rows 100,001-200,000 (every row creates
   one, against a table of 100,000). The first format replays every stage; later formats
   the stages that read the file (see ``measure_format``) unless ``--full-replays``.

Prints the tables and ratios, then each target with PASS or MISS. A MISS never fails the run
(exit code 0); a measurement that breaks is printed under ERRORS and makes the exit code 1.
See benchmarks/README.md ("Upload path").
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    BENCH_DIR,
    BUCKET,
    MAX_CPU_US_PER_ROW,
    MAX_RSS_MB,
    REGION,
    ROOT,
    attempt,
    log,
    peak_rss_mb,
)
from e2e import ImportWatch, _cpu_seconds, _parse_iso, _rss_mb, wait_for_import
from generated import ensure_range_file
from patients import LocalStack

from devstack.template import LocalTemplate, load_template
from ecm.imports.records import create_import_file
from ecm.settings import DEFAULT_CHUNK_ROWS  # layers/shared is on sys.path (run.py)

FORMATS = ("csv", "xlsx")
DEFAULT_ROWS = 100_000
PARTS = 4
MIF_URL = "/v1/admin/clinic/ecm/mifs"
#: The single file may cost at most this much more than its rows as 4 files (linear cost).
LINEAR_SLACK = 1.1
#: Stages replayed, in the state machine's order, with the template function that runs each.
STAGES = (
    ("validate", "ValidateFunction"),
    ("lock", "LockFunction"),
    ("plan", "PlanFunction"),
    ("apply one chunk", "ApplyFunction"),
    ("finalize", "FinalizeFunction"),
    ("rollback (info)", "RollbackFunction"),
)
RESULT_MARK = "BENCH-RESULT "
CHILD_TIMEOUT_S = 3600


# --- one stage in a fresh process ---------------------------------------------------------


class _Context:
    """The parts of the Lambda context object handlers and Powertools read."""

    def __init__(self, name: str, memory_mb: int) -> None:
        self.function_name = name
        self.function_version = "$LATEST"
        self.memory_limit_in_mb = memory_mb
        self.invoked_function_arn = f"arn:aws:lambda:{REGION}:123456789012:function:{name}"
        self.aws_request_id = f"bench-{os.getpid()}"
        self.log_group_name = f"/aws/lambda/{name}"
        self.log_stream_name = "bench"
        self._deadline = time.monotonic() + 900

    def get_remaining_time_in_millis(self) -> int:
        return max(int((self._deadline - time.monotonic()) * 1000), 0)


def child_main(module_path: str, attr: str, event_json: str) -> int:
    """Run one handler (``attr`` of ``module_path``; ``-`` imports only) like Lambda does.

    Prints one line: RESULT_MARK + JSON with the handler's result, its duration and CPU
    (the invocation only), the import time and this process's peak RSS (VmHWM: the process
    whole, interpreter and imports included, as Lambda's "Max Memory Used" is).
    """
    started = time.perf_counter()
    spec = importlib.util.spec_from_file_location("bench_stage_handler", module_path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    init_seconds = time.perf_counter() - started
    out: dict[str, Any] = {"init_seconds": init_seconds}
    if attr != "-":
        handler = getattr(module, attr)
        name = os.environ.get("AWS_LAMBDA_FUNCTION_NAME", attr)
        memory = int(os.environ.get("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "1024"))
        before = resource.getrusage(resource.RUSAGE_SELF)
        clock = time.perf_counter()
        try:
            out["result"] = handler(json.loads(event_json), _Context(name, memory))
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
        out["seconds"] = time.perf_counter() - clock
        after = resource.getrusage(resource.RUSAGE_SELF)
        out["cpu_seconds"] = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    out["rss_mb"] = peak_rss_mb()
    print(RESULT_MARK + json.dumps(out, default=str), flush=True)
    return 1 if "error" in out else 0


def create_record_main(key: str, name: str, file_type: str) -> int:
    """The file record an upload creates, already holding its object (``pending``/``received``,
    as the S3 event's claim leaves it), without the S3 event that would start the import."""
    record = create_import_file(
        "mif", "upload", name, s3_key=key, declared_type=file_type, created_by=None
    )
    print(RESULT_MARK + json.dumps({"id": int(record["id"])}), flush=True)
    return 0


# --- the stack ------------------------------------------------------------------------------


@dataclass
class ImportRun:
    name: str
    rows: int
    seconds: float  # POST /uploads → the record's completion
    put_seconds: float  # the PUT to the presigned URL
    cpu_seconds: float  # the devstack process
    store_cpu_seconds: float
    peak_rss_mb: float  # the devstack process, sampled while polling
    stages: dict[str, float] = field(default_factory=dict)  # from the stack's log


@dataclass
class StageRun:
    fmt: str
    replay: str
    stage: str
    rows: int
    seconds: float
    cpu_seconds: float
    init_seconds: float
    rss_mb: float
    store_cpu_seconds: float
    memory_mb: int  # the function's MemorySize in template.yaml today
    timeout_s: int  # and its Timeout


@dataclass
class Report:
    imports: dict[tuple[str, str], list[ImportRun]] = field(default_factory=dict)
    idle_cpu_per_s: dict[str, float] = field(default_factory=dict)
    stage_times: dict[str, dict[str, float]] = field(default_factory=dict)
    stages: list[StageRun] = field(default_factory=list)
    baseline_rss_mb: float | None = None
    errors: list[str] = field(default_factory=list)


#: Log messages of the stages, in order: seconds between them (from the POST for the first).
STAGE_MARKS = (
    ("upload+validate", "import validated"),
    ("lock+plan", "import planned"),
    ("apply+finalize", "import completed"),
)


def log_stages(log_path: Path, file_id: int, start: float) -> dict[str, float]:
    """Seconds per stage of one import from the stack's log ({} when the messages change)."""
    stamps: dict[str, float] = {}
    try:
        for line in log_path.read_text(errors="replace").splitlines():
            if not line.startswith("{") or f'"file_id":{file_id},' not in line.replace(" ", ""):
                continue
            record = json.loads(line)
            if record.get("file_id") != file_id:
                continue
            for _, message in STAGE_MARKS:
                if record.get("message") == message and message not in stamps:
                    when = datetime.strptime(record["timestamp"], "%Y-%m-%d %H:%M:%S,%f%z")
                    stamps[message] = when.timestamp()
    except (OSError, ValueError, KeyError):
        return {}
    if len(stamps) != len(STAGE_MARKS):
        return {}
    out, previous = {}, start
    for label, message in STAGE_MARKS:
        out[label] = stamps[message] - previous
        previous = stamps[message]
    return out


class UploadStack:
    """patients.LocalStack (store process + devstack) with this benchmark's logs."""

    def __init__(self, label: str) -> None:
        self.local = LocalStack()
        self.local.store_log = self.local.logs / f"uploads-store-{label}.log"
        self.local.stack_log = self.local.logs / f"uploads-devstack-{label}.log"

    def __enter__(self) -> UploadStack:
        self.local.start()
        return self

    def __exit__(self, *_: object) -> None:
        self.local.stop()

    @property
    def stack_pid(self) -> int:
        assert self.local.stack is not None
        return self.local.stack.pid

    @property
    def store_pid(self) -> int:
        assert self.local.store is not None
        return self.local.store.pid

    def idle_cpu_per_s(self, seconds: float = 3.0) -> float:
        """The stack's CPU while idle (inbox poller, timers), for reading the CPU figures."""
        start = _cpu_seconds(self.stack_pid)
        time.sleep(seconds)
        return (_cpu_seconds(self.stack_pid) - start) / seconds

    def upload_import(self, path: Path, fmt: str, rows: int) -> ImportRun:
        """POST .../uploads, PUT the file to the presigned URL, poll until completed."""
        local = self.local
        assert local.stack is not None
        deadline_s = min(3600.0, max(600.0, rows * 0.03))
        cpu_start, store_start = _cpu_seconds(self.stack_pid), _cpu_seconds(self.store_pid)
        peak = [_rss_mb(self.stack_pid)]
        wall_start, clock_start = time.time(), time.perf_counter()
        created = local.session.post(
            f"{local.api}{MIF_URL}/uploads",
            json={"filename": path.name, "file_type": fmt},
            headers=local.headers,
            timeout=60,
        )
        if created.status_code != 201:
            raise RuntimeError(f"POST uploads answered {created.status_code}: {created.text}")
        upload = created.json()
        put_start = time.perf_counter()
        put = local.session.put(
            upload["upload_url"],
            data=path.read_bytes(),
            headers=upload["required_headers"],
            timeout=600,
        )
        put_seconds = time.perf_counter() - put_start
        if put.status_code != 200:
            raise RuntimeError(f"PUT answered {put.status_code}: {put.text[:2000]}")
        watch = ImportWatch(
            local.session,
            local.api,
            local.headers,
            local.stack,
            local.stack_log,
            clock_start + deadline_s,
            on_poll=lambda: peak.append(max(peak[-1], _rss_mb(self.stack_pid))),
        )
        record = wait_for_import(watch, int(upload["id"]), path.name)
        observed = time.perf_counter() - clock_start
        cpu = _cpu_seconds(self.stack_pid) - cpu_start
        store_cpu = _cpu_seconds(self.store_pid) - store_start
        imported = int(record.get("records_imported") or 0)
        if imported != rows:
            raise RuntimeError(f"upload {upload['id']} imported {imported} records, not {rows}")
        # The record's last update is the finalize stage: exact, whatever the polling interval.
        finished = _parse_iso(record.get("updated_at"))
        seconds = observed
        if finished is not None and 0 < finished - wall_start <= observed + 1:
            seconds = finished - wall_start
        stages = log_stages(local.stack_log, int(upload["id"]), wall_start)
        return ImportRun(path.name, rows, seconds, put_seconds, cpu, store_cpu, peak[-1], stages)

    # --- stage replay -------------------------------------------------------------------

    def function_env(self, logical: str) -> tuple[dict[str, str], Path, str, int, int]:
        """A template function as Lambda would run it against this stack.

        (environment, module path, handler attribute, MemorySize, Timeout): the template's
        Globals and the function's own variables resolved as devstack resolves them, and the
        stack's endpoints (its moto for Step Functions/Lambda, the store for DynamoDB/S3/SQS).
        """
        if str(ROOT) not in sys.path:
            sys.path.insert(0, str(ROOT))

        raw = load_template()
        template = LocalTemplate(raw, {"UrlAllowlist": ""}, self.local.aws_port)
        function = template.functions()[logical]
        props = raw["Resources"][logical]["Properties"]
        defaults = raw.get("Globals", {}).get("Function", {})
        memory = int(props.get("MemorySize", defaults.get("MemorySize", 128)))
        timeout = int(props.get("Timeout", defaults.get("Timeout", 3)))
        env = {
            k: v
            for k, v in os.environ.items()
            if not k.startswith("AWS_") and not k.lower().endswith("_proxy")
        }
        env.update({k: str(v) for k, v in function.environment.items()})
        store = self.local.store_url
        env.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.local.aws_port}",
                "AWS_ENDPOINT_URL_DYNAMODB": store,
                "AWS_ENDPOINT_URL_S3": store,
                "AWS_ENDPOINT_URL_SQS": store,
                "AWS_DEFAULT_REGION": REGION,
                "AWS_REGION": REGION,
                "AWS_ACCESS_KEY_ID": "local",
                "AWS_SECRET_ACCESS_KEY": "local",
                "AWS_LAMBDA_FUNCTION_NAME": logical,
                "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(memory),
                "NO_PROXY": "127.0.0.1,localhost",
                "POWERTOOLS_TRACE_DISABLED": "1",
                "POWERTOOLS_METRICS_NAMESPACE": "ecm-local",
                "PYTHONPATH": os.pathsep.join([str(ROOT / "layers" / "shared"), str(ROOT)]),
            }
        )
        module, attr = function.handler.rsplit(".", 1)
        path = function.code_uri / f"{module.replace('.', '/')}.py"
        return env, path, attr, memory, timeout

    def run_child(self, args: list[str], env: dict[str, str], what: str) -> dict[str, Any]:
        completed = subprocess.run(  # noqa: PLW1510 - checked below with the child's output
            [sys.executable, __file__, *args],
            capture_output=True,
            text=True,
            timeout=CHILD_TIMEOUT_S,
            cwd=ROOT,
            env=env,
        )
        lines = [x for x in completed.stdout.splitlines() if x.startswith(RESULT_MARK)]
        if not lines:
            raise RuntimeError(
                f"{what}: no result (exit {completed.returncode}):\n"
                f"{completed.stdout[-2000:]}\n{completed.stderr[-3000:]}"
            )
        result: dict[str, Any] = json.loads(lines[-1][len(RESULT_MARK) :])
        if completed.returncode != 0 or "error" in result:
            raise RuntimeError(f"{what} failed: {result.get('error')}\n{completed.stderr[-3000:]}")
        return result

    def baseline_rss(self) -> float:
        """A fresh process that imports the stage handlers' module and runs nothing."""
        env, path, _, _, _ = self.function_env("ValidateFunction")
        result = self.run_child(["--child", str(path), "-", "{}"], env, "baseline")
        return float(result["rss_mb"])

    def replay(
        self, path: Path, fmt: str, rows: int, replay: str, stages: tuple[tuple[str, str], ...]
    ) -> list[StageRun]:
        """One fresh import of ``path``, ``stages`` (a prefix of STAGES, or STAGES without
        rollback) each in its own process, in the state machine's order; apply runs the
        plan's first chunk only (ECM_CHUNK_ROWS rows)."""
        key = f"bench/replay/{path.name}"  # outside inbox/ and uploads/: no S3 event
        self.local._aws("s3").upload_file(str(path), BUCKET, key)
        env, *_ = self.function_env("MifsApiFunction")
        created = self.run_child(
            ["--create-record", key, path.name, fmt], env, "create the file record"
        )
        ids = {"kind": "mif", "file_id": int(created["id"])}
        out: list[StageRun] = []
        chunks: list[int] = []
        for stage, logical in stages:
            event: dict[str, Any] = dict(ids)
            if logical == "ApplyFunction":
                if not chunks:
                    raise RuntimeError("the plan stage returned no chunks")
                event["chunk"] = chunks[0]
            elif logical == "RollbackFunction":
                event["error"] = {"Error": "BenchmarkReplay", "Cause": "{}"}
            env, module, attr, memory, timeout = self.function_env(logical)
            log(f"replay {replay} {fmt}: {stage} ...")
            store_start = _cpu_seconds(self.store_pid)
            result = self.run_child(
                ["--child", str(module), attr, json.dumps(event)], env, f"{stage} ({fmt})"
            )
            store_cpu = _cpu_seconds(self.store_pid) - store_start
            value = result.get("result") or {}
            if logical == "ValidateFunction" and not value.get("valid"):
                raise RuntimeError(f"validate rejected the replayed file: {value}")
            if logical == "PlanFunction":
                chunks = list(value.get("chunks") or [])
            run = StageRun(
                fmt,
                replay,
                stage,
                rows,
                float(result["seconds"]),
                float(result["cpu_seconds"]),
                float(result["init_seconds"]),
                float(result["rss_mb"]),
                store_cpu,
                memory,
                timeout,
            )
            log(
                f"  {stage}: {run.seconds:.1f} s, CPU {run.cpu_seconds:.1f} s, "
                f"peak RSS {run.rss_mb:.0f} MB"
            )
            out.append(run)
        return out


# --- the run --------------------------------------------------------------------------------


def part_ranges(rows: int, parts: int) -> list[tuple[int, int]]:
    size = rows // parts
    return [(1 + i * size, rows if i == parts - 1 else (i + 1) * size) for i in range(parts)]


def measure_format(report: Report, fmt: str, rows: int, replays: set[str], full: bool) -> None:
    """Both imports of ``fmt`` and the replays after them.

    Validate and finalize read the uploaded file (finalize re-reads it for the result file);
    lock, plan, apply and rollback read what validate wrote, the same for every format. Unless
    ``full``, the updates replay runs validate only, and the creates replay (the cheaper one:
    moto reads a patient in ~6 ms) runs every stage up to finalize, without rollback.
    """
    updates_stages = STAGES if full else STAGES[:1]
    creates_stages = STAGES if full else STAGES[:-1]
    whole = ensure_range_file(1, rows, fmt)
    parts = [(b - a + 1, ensure_range_file(a, b, fmt)) for a, b in part_ranges(rows, PARTS)]
    fresh = ensure_range_file(rows + 1, 2 * rows, fmt) if "creates" in replays else None

    log(f"{fmt}: 1 × {rows:,} rows through the upload path (fresh stack)")
    with UploadStack(f"{fmt}-1x{rows}") as stack:
        report.idle_cpu_per_s[f"{fmt} 1×"] = stack.idle_cpu_per_s()
        run = stack.upload_import(whole, fmt, rows)
        report.imports[(fmt, "1")] = [run]
        report.stage_times[fmt] = run.stages
        log(f"  {run.seconds:.1f} s, our CPU {run.cpu_seconds:.1f} s")
        if report.baseline_rss_mb is None:
            report.baseline_rss_mb = stack.baseline_rss()
        if "updates" in replays:
            report.stages += stack.replay(whole, fmt, rows, "updates", updates_stages)

    log(f"{fmt}: {PARTS} × {rows // PARTS:,} rows through the upload path (fresh stack)")
    with UploadStack(f"{fmt}-{PARTS}x{rows // PARTS}") as stack:
        report.idle_cpu_per_s[f"{fmt} {PARTS}×"] = stack.idle_cpu_per_s()
        runs = []
        for part_rows, path in parts:
            runs.append(stack.upload_import(path, fmt, part_rows))
            log(f"  {path.name}: {runs[-1].seconds:.1f} s, our CPU {runs[-1].cpu_seconds:.1f} s")
        report.imports[(fmt, str(PARTS))] = runs
        if fresh is not None:
            report.stages += stack.replay(fresh, fmt, rows, "creates", creates_stages)


# --- report ---------------------------------------------------------------------------------


def _table(header: tuple[str, ...], lines: list[tuple[str, ...]], right: set[int]) -> None:
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(header)]

    def fmt_line(cells: tuple[str, ...]) -> str:
        return "  ".join(
            cell.rjust(w) if i in right else cell.ljust(w)
            for i, (cell, w) in enumerate(zip(cells, widths, strict=True))
        ).rstrip()

    print(fmt_line(header))
    print(fmt_line(tuple("-" * w for w in widths)))
    for line in lines:
        print(fmt_line(line))


def _totals(runs: list[ImportRun]) -> tuple[int, float, float, float, float, float]:
    rows = sum(r.rows for r in runs)
    return (
        rows,
        sum(r.seconds for r in runs),
        sum(r.put_seconds for r in runs),
        sum(r.cpu_seconds for r in runs),
        sum(r.store_cpu_seconds for r in runs),
        max(r.peak_rss_mb for r in runs),
    )


def print_report(report: Report) -> list[tuple[str, bool | None, str]]:
    verdicts: list[tuple[str, bool | None, str]] = []
    lines = []
    for (fmt, parts), runs in report.imports.items():
        rows, seconds, put, cpu, store, rss = _totals(runs)
        shape = f"1 × {rows:,}" if parts == "1" else f"{parts} × {rows // int(parts):,}"
        lines.append(
            (
                fmt,
                shape,
                f"{seconds:,.1f}",
                f"{put:,.1f}",
                f"{rows / seconds:,.0f}",
                f"{cpu:,.1f}",
                f"{cpu * 1e6 / rows:,.0f}",
                f"{store * 1e6 / rows:,.0f}",
                f"{rss:,.0f}",
            )
        )
    if lines:
        print("Imports through the upload path (POST uploads → PUT → S3 event → completed)")
        _table(
            (
                "format",
                "files × rows",
                "total s",
                "PUT s",
                "rows/s",
                "our CPU s",
                "our CPU µs/row",
                "store CPU µs/row (info)",
                "stack RSS MB (sampled)",
            ),
            lines,
            set(range(2, 9)),
        )
        for fmt in FORMATS:
            single, split = report.imports.get((fmt, "1")), report.imports.get((fmt, str(PARTS)))
            if single and split:
                _, s1, _, c1, _, _ = _totals(single)
                _, s4, _, c4, _, _ = _totals(split)
                each = ", ".join(f"{r.seconds:.1f}" for r in split)
                print(
                    f"  {fmt}: {PARTS} files / 1 file: time {s4 / s1:.3f}, our CPU {c4 / c1:.3f} "
                    f"(each of the {PARTS}: {each} s)"
                )
                verdicts.append(
                    (
                        f"{fmt}: time(1 file) / time({PARTS} files) <= {LINEAR_SLACK}",
                        s1 / s4 <= LINEAR_SLACK,
                        f"{s1 / s4:.3f} ({s1:.1f} s / {s4:.1f} s)",
                    )
                )
                verdicts.append(
                    (
                        f"{fmt}: our CPU(1 file) / CPU({PARTS} files) <= {LINEAR_SLACK}",
                        c1 / c4 <= LINEAR_SLACK,
                        f"{c1 / c4:.3f} ({c1:.1f} s / {c4:.1f} s)",
                    )
                )
            if single:
                rows, _, _, cpu, _, _ = _totals(single)
                verdicts.append(
                    (
                        f"{fmt}: our CPU per row <= {MAX_CPU_US_PER_ROW} µs (1 file)",
                        cpu * 1e6 / rows <= MAX_CPU_US_PER_ROW,
                        f"{cpu * 1e6 / rows:,.0f} µs/row",
                    )
                )
        idle = ", ".join(f"{k} {v * 1000:.0f}" for k, v in report.idle_cpu_per_s.items())
        print(f"  stack idle CPU (ms/s, included above): {idle}")
        for fmt, times in report.stage_times.items():
            if times:
                split = ", ".join(f"{k} {v:.1f} s" for k, v in times.items())
                print(f"  {fmt} 1 file, stages from the stack's log: {split}")
    if report.stages:
        print()
        print(
            "Stages replayed one by one, each in a fresh process (peak RSS = VmHWM of the "
            "process: interpreter + imports + the stage)"
        )
        if report.baseline_rss_mb is not None:
            print(f"  baseline (import the handlers' module only): {report.baseline_rss_mb:.0f} MB")
        _table(
            (
                "format",
                "replay",
                "stage",
                "rows",
                "duration s",
                "CPU s",
                "init s",
                "peak RSS MB",
                "store CPU s (info)",
                "template MB/timeout",
            ),
            [
                (
                    s.fmt,
                    s.replay,
                    s.stage,
                    f"{s.rows:,}",
                    f"{s.seconds:,.2f}",
                    f"{s.cpu_seconds:,.2f}",
                    f"{s.init_seconds:.2f}",
                    f"{s.rss_mb:,.0f}",
                    f"{s.store_cpu_seconds:,.1f}",
                    f"{s.memory_mb}/{s.timeout_s}",
                )
                for s in report.stages
            ],
            {3, 4, 5, 6, 7, 8, 9},
        )
        worst = max(report.stages, key=lambda s: s.rss_mb)
        verdicts.append(
            (
                f"peak RSS of every stage <= {MAX_RSS_MB} MB",
                worst.rss_mb <= MAX_RSS_MB,
                f"worst {worst.rss_mb:.0f} MB ({worst.stage}, {worst.fmt}, {worst.replay})",
            )
        )
    return verdicts


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--rows", type=int, default=DEFAULT_ROWS, help="rows (default %(default)s)")
    parser.add_argument(
        "--formats", default=",".join(FORMATS), help="comma separated (default %(default)s)"
    )
    parser.add_argument(
        "--replays",
        default="updates,creates",
        help="stage replays: 'updates' (the same file again, on the 1-file stack), 'creates' "
        "(rows n+1..2n, on the 4-file stack), or 'none' (default %(default)s)",
    )
    parser.add_argument(
        "--full-replays",
        dest="full_replays_first_only",
        action="store_false",
        help="replay every stage for every format (default: the first format only; later "
        "formats replay the stages that read the file: validate, and finalize on the creates "
        "replay with the stages it needs)",
    )
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    parser.add_argument("--create-record", nargs=3, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    if args.child:
        return child_main(*args.child)
    if args.create_record:
        return create_record_main(*args.create_record)
    formats = [f.strip().lower() for f in args.formats.split(",") if f.strip()]
    replays = {r.strip().lower() for r in args.replays.split(",") if r.strip()} - {"none"}
    if set(formats) - set(FORMATS) or replays - {"updates", "creates"} or args.rows < PARTS:
        raise SystemExit(f"bad arguments: formats {formats}, replays {replays}, rows {args.rows}")
    os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")
    BENCH_DIR.mkdir(exist_ok=True)
    started = time.perf_counter()
    load_before = os.getloadavg()
    report = Report()
    for fmt in formats:
        attempt(
            report,
            f"{fmt} {args.rows}",
            lambda f=fmt: measure_format(
                report, f, args.rows, replays, f == formats[0] or not args.full_replays_first_only
            ),
        )
    print()
    print(
        f"ECM Imports upload-path benchmark — {args.rows:,} rows; python "
        f"{sys.version.split()[0]}; {os.cpu_count()} CPUs; load average (1/5/15 min) "
        f"{'/'.join(f'{x:.2f}' for x in load_before)} before, "
        f"{'/'.join(f'{x:.2f}' for x in os.getloadavg())} after; "
        f"{time.perf_counter() - started:.0f} s; ECM_CHUNK_ROWS "
        f"{os.environ.get('ECM_CHUNK_ROWS') or f'{DEFAULT_CHUNK_ROWS} (default)'}"
    )
    print()
    verdicts = print_report(report)
    if verdicts:
        print()
        print("targets")
        width = max(len(v[0]) for v in verdicts)
        for label, passed, detail in verdicts:
            print(f"  {'PASS' if passed else 'MISS'}  {label.ljust(width)}  {detail}")
    if report.errors:
        print()
        print("ERRORS (measurements that broke):")
        for message in report.errors:
            print(f"  - {message}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
