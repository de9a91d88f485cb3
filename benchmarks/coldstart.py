"""Cold start of every handler: the import of ``functions/<name>/app.py`` from the built layer,
in a fresh interpreter that sees only what Lambda's does (the function's code directory and
the layer's ``python`` directory, the standard library, no site-packages), N times, median.

Each handler is imported from the layer as ``make build`` left it (its ``.pyc``) and from a
copy without any ``__pycache__`` (what Lambda does with a layer that ships none: it compiles
every module at each cold start, ``/opt`` being read-only), side by side with their ratio.
``--baseline REV`` adds the same two columns for the ``ecm`` package and handlers of a git
revision, on the same third-party packages, measured in the same rounds.

The layer is built for arm64 (Lambda's architecture here): its few compiled extensions
(pydantic-core, orjson, wrapt, charset-normalizer, python-calamine) are replaced, in the
measured copies only, by this machine's builds of the same versions from the dev venv.

Run ``make build`` first. Nothing may use the network at import: each measured process
refuses any connection or name lookup (an audit hook) and the table names, queues and
endpoints are the local stack's, on 127.0.0.1.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import sysconfig
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, revision_tree

from devstack.template import Function, LocalTemplate, load_template

BUILD = ROOT / ".aws-sam" / "build"
LAYER = "SharedLayer"
TARGET_SECONDS = 0.5
#: A port nothing listens on: a call that slipped through would fail fast, on loopback.
DEAD_PORT = 9

# Runs in the measured process (python -I -S -B): the paths Lambda gives, a guard against
# any network use, then the handler's import, timed.
PROBE = r"""
import sys, time, json
code_dir, layer_dir, module = sys.argv[1:4]
network = []
def guard(event, args):
    if event in ("socket.connect", "socket.getaddrinfo", "socket.sendto", "socket.sendmsg"):
        network.append(event)
        raise ConnectionRefusedError("no network at import: " + event)
sys.addaudithook(guard)
sys.path[:0] = [code_dir, layer_dir]
leaks = [p for p in sys.path if "site-packages" in p or "dist-packages" in p]
start, cpu = time.perf_counter(), time.process_time()
__import__(module)
seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
print(json.dumps({"seconds": seconds, "cpu": cpu, "modules": len(sys.modules), "network": network,
                  "leaks": leaks, "xray": "aws_xray_sdk.core" in sys.modules}))
"""


@dataclass
class Handler:
    name: str  # functions/<name>
    function: Function  # one function of the template that runs it
    api: bool


@dataclass
class Variant:
    label: str
    layer: Path
    functions: Path  # functions/<name>/ under it


def handlers() -> list[Handler]:
    by_dir: dict[str, Handler] = {}
    for function in LocalTemplate(load_template(), {}, DEAD_PORT).functions().values():
        name = function.code_uri.name
        # API: the admin functions behind the authorizer (public_api answers without one).
        api = any(auth for _method, _path, auth in function.routes)
        by_dir.setdefault(name, Handler(name, function, api))
    missing = {p.parent.name for p in (ROOT / "functions").glob("*/app.py")} - set(by_dir)
    if missing:
        raise SystemExit(f"functions not in template.yaml: {sorted(missing)}")
    return sorted(by_dir.values(), key=lambda h: (not h.api, h.name))


def environment(handler: Handler) -> dict[str, str]:
    """What Lambda sets (tracing on, as ``Tracing: Active`` has it) and what the template
    gives the function, resolved as the local stack resolves it (loopback only)."""
    function = handler.function
    env = {k: str(v) for k, v in function.environment.items()}
    env.update(
        {
            "PATH": "/usr/bin:/bin",
            "LANG": "C.UTF-8",
            "TZ": ":UTC",
            "LAMBDA_TASK_ROOT": "/var/task",
            "LAMBDA_RUNTIME_DIR": "/var/runtime",
            "AWS_EXECUTION_ENV": "AWS_Lambda_python3.11",
            "AWS_LAMBDA_FUNCTION_NAME": function.logical_id,
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "1024",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{function.logical_id}",
            "AWS_LAMBDA_LOG_STREAM_NAME": "coldstart",
            "_HANDLER": function.handler,
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "coldstart",
            "AWS_SECRET_ACCESS_KEY": "coldstart",
            "AWS_SESSION_TOKEN": "coldstart",
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{DEAD_PORT}",
            "AWS_XRAY_DAEMON_ADDRESS": "127.0.0.1:2000",
            "AWS_XRAY_CONTEXT_MISSING": "LOG_ERROR",
            "NO_PROXY": "*",
        }
    )
    return env


# --- the measured trees ------------------------------------------------------------------


def _host_natives(layer: Path) -> list[str]:
    """Put this machine's build of each foreign extension module next to it (same package
    version, from the dev venv): Python ignores the arm64 one, the rest stays as built."""
    suffix = str(sysconfig.get_config_var("EXT_SUFFIX"))
    site = Path(sysconfig.get_paths()["purelib"])
    replaced = []
    for binary in sorted(layer.rglob("*.so")):
        if binary.name.endswith(suffix):
            continue
        relative = binary.relative_to(layer)
        host = site / relative.parent / (binary.name.split(".")[0] + suffix)
        if not host.exists():
            raise SystemExit(f"no host build of {relative} in {site}")
        shutil.copy2(host, layer / relative.parent / host.name)
        replaced.append(relative.parts[0])
    packages = {r.lower() for r in replaced}
    for info in layer.glob("*.dist-info"):
        if info.name.split("-")[0].lower() in packages and not (site / info.name).exists():
            raise SystemExit(f"the dev venv has another version than {info.name}")
    return sorted(set(replaced))


def _without_bytecode(tree: Path) -> int:
    caches = [p for p in tree.rglob("__pycache__") if p.is_dir()]
    for cache in caches:
        shutil.rmtree(cache)
    return len(caches)


def _count_pyc(tree: Path) -> int:
    return sum(1 for _ in tree.rglob("*.pyc"))


def _compile(tree: Path) -> None:
    subprocess.run(
        [sys.executable, "-m", "compileall", "-q", "--invalidation-mode", "unchecked-hash", tree],
        check=True,
    )


def stage_built(work: Path, names: list[str], function_ids: dict[str, str]) -> Variant:
    layer_src = BUILD / LAYER / "python"
    if not layer_src.is_dir():
        raise SystemExit(f"{layer_src} is missing: run `make build` first")
    tree = work / "built"
    shutil.copytree(layer_src, tree / "layer")
    for name in names:
        shutil.copytree(BUILD / function_ids[name], tree / "functions" / name)
    print(f"built layer: {_count_pyc(tree / 'layer')} .pyc", flush=True)
    replaced = _host_natives(tree / "layer")
    if replaced:
        print(f"extension modules taken from the dev venv: {', '.join(replaced)}", flush=True)
    return Variant("bytecode", tree / "layer", tree / "functions")


def stage_copy(source: Variant, work: Path, label: str, bytecode: bool) -> Variant:
    tree = work / label.replace(" ", "-")
    shutil.copytree(source.layer, tree / "layer")
    shutil.copytree(source.functions, tree / "functions")
    if not bytecode:
        _without_bytecode(tree)
    return Variant(label, tree / "layer", tree / "functions")


def stage_revision(built: Variant, work: Path, rev: str) -> tuple[Variant, Variant]:
    """The third-party packages as built, ``ecm`` and the handlers from ``rev``."""
    source = revision_tree(rev, work / "rev-src", ("layers/shared", "functions"))
    ours = (ROOT / "layers/shared/requirements.txt").read_text()
    if (source / "layers/shared/requirements.txt").read_text() != ours:
        print(f"warning: {rev} locks other layer packages; measured on today's", flush=True)
    tree = work / "rev"
    shutil.copytree(built.layer, tree / "layer", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.rmtree(tree / "layer" / "ecm")
    shutil.copytree(source / "layers/shared/ecm", tree / "layer" / "ecm")
    shutil.copytree(source / "functions", tree / "functions")
    _without_bytecode(tree)
    without = Variant(f"{rev} no bytecode", tree / "layer", tree / "functions")
    compiled = stage_copy(without, work, f"{rev} bytecode", bytecode=True)
    _compile(compiled.layer.parent)
    return without, compiled


def _present_at(rev: str, chosen: list[Handler]) -> list[Handler]:
    """The handlers that exist at ``rev`` too: a function added since has no before."""
    listed = subprocess.run(
        ["git", "-C", ROOT, "ls-tree", "-r", "--name-only", rev, "functions"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.split()
    there = [h for h in chosen if f"functions/{h.name}/app.py" in listed]
    left_out = sorted({h.name for h in chosen} - {h.name for h in there})
    if left_out:
        print(f"not at {rev}, left out of this run: {', '.join(left_out)}", flush=True)
    return there


# --- measuring -----------------------------------------------------------------------------


def measure(variant: Variant, handler: Handler) -> dict[str, object]:
    module = handler.function.handler.rsplit(".", 1)[0]
    code = variant.functions / handler.name
    command = [sys.executable, "-I", "-S", "-B", "-c", PROBE, str(code), str(variant.layer)]
    done = subprocess.run(
        [*command, module],
        env=environment(handler),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{handler.name} ({variant.label}) failed:\n{done.stderr}")
    result: dict[str, object] = json.loads(done.stdout.strip().splitlines()[-1])
    if result["network"] or result["leaks"]:
        raise SystemExit(f"{handler.name} ({variant.label}): {result}")
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("-n", "--repeat", type=int, default=5, help="imports per handler")
    parser.add_argument("--baseline", help="a git revision measured beside (e.g. main)")
    parser.add_argument("--only", help="comma-separated functions/<name> to measure")
    args = parser.parse_args()

    chosen = handlers()
    if args.only:
        chosen = [h for h in chosen if h.name in args.only.split(",")]
    if args.baseline:
        chosen = _present_at(args.baseline, chosen)
    ids = {h.name: h.function.logical_id for h in chosen}
    with tempfile.TemporaryDirectory(prefix="coldstart-") as tmp:
        work = Path(tmp)
        built = stage_built(work, list(ids), ids)
        variants = [stage_copy(built, work, "no bytecode", bytecode=False), built]
        if args.baseline:
            variants[:0] = stage_revision(built, work, args.baseline)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs", flush=True)
        load_before = os.getloadavg()
        started = time.monotonic()
        samples: dict[tuple[str, str], list[dict[str, object]]] = {}
        # Round-robin: every variant of every handler once per round, so a change in the
        # machine's speed during the run weighs on each of them alike.
        for _ in range(args.repeat):
            for handler in chosen:
                for variant in variants:
                    key = (handler.name, variant.label)
                    samples.setdefault(key, []).append(measure(variant, handler))
        load_after = os.getloadavg()
    report("wall", "seconds", chosen, variants, samples)
    report("CPU, user+system", "cpu", chosen, variants, samples)
    print(
        f"load average before {load_before[0]:.2f} {load_before[1]:.2f} {load_before[2]:.2f}, "
        f"after {load_after[0]:.2f} {load_after[1]:.2f} {load_after[2]:.2f}; "
        f"{time.monotonic() - started:.0f} s"
    )
    return 0


def report(
    what: str,
    field: str,
    chosen: list[Handler],
    variants: list[Variant],
    samples: dict[tuple[str, str], list[dict[str, object]]],
) -> None:
    """One table: the median of each variant, the ratio of no bytecode to bytecode (the code
    measured last), and with a baseline the ratio of its no-bytecode import to ours."""
    first, before, after = variants[0].label, variants[-2].label, variants[-1].label
    ratios = [f"{before} / {after}"] + ([f"{first} / {after}"] if len(variants) > 2 else [])
    head = ["handler", "API", *[v.label for v in variants], *ratios, "modules", "X-Ray"]
    rows = [head]
    fast = []
    for handler in chosen:
        runs = {v.label: samples[(handler.name, v.label)] for v in variants}
        median = {k: statistics.median(float(r[field]) for r in v) for k, v in runs.items()}  # type: ignore[arg-type]
        old, new = runs[first][-1], runs[after][-1]
        rows.append(
            [
                handler.name,
                "API" if handler.api else "",
                *[f"{median[v.label]:.3f}" for v in variants],
                f"{median[before] / median[after]:.2f}x",
                *([f"{median[first] / median[after]:.2f}x"] if len(variants) > 2 else []),
                f"{old['modules']} -> {new['modules']}" if old is not new else str(new["modules"]),
                f"{_yes(old['xray'])} -> {_yes(new['xray'])}"
                if old is not new
                else _yes(new["xray"]),
            ]
        )
        if handler.api and median[after] <= TARGET_SECONDS:
            fast.append(handler.name)
    repeat = len(samples[(chosen[0].name, after)])
    print(f"\nimport seconds ({what}), median of {repeat} fresh processes each")
    print(f"modules, X-Ray: sys.modules after the import ({first} -> {after})\n")
    widths = [max(len(r[i]) for r in rows) for i in range(len(head))]
    for i, row in enumerate(rows):
        cells = zip(row, widths, strict=True)
        print("  ".join(c.ljust(w) if j < 2 else c.rjust(w) for j, (c, w) in enumerate(cells)))
        if i == 0:
            print("  ".join("-" * w for w in widths))
    api = [h.name for h in chosen if h.api]
    named = f": {', '.join(fast)}" if fast else ""
    print(
        f"\nAPI handlers <= {TARGET_SECONDS} s ({what}, {after}): {len(fast)} of {len(api)}{named}"
    )


def _yes(flag: object) -> str:
    return "yes" if flag else "no"


if __name__ == "__main__":
    sys.exit(main())
