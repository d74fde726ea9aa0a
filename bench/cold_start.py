"""Cold start of every function as Lambda runs it: the packaged artifacts, imported from read-only code.

The artifacts are built by the stack's own packaging (``stacks.packaging``) into ``.local/bench/``,
each again only when its fingerprint changes: the dependency layer for this machine's architecture,
the shared layer, and each service's code, all with the bytecode the stack ships.  The runtime's own
boto3, botocore and s3transfer come from the venv's site-packages, compiled the same way (the
runtime ships them compiled).

Each sample is a fresh interpreter without site-packages (``-S``), with ``PYTHONDONTWRITEBYTECODE=1``
and ``sys.path`` laid out as Lambda lays it out: the service's code (``/var/task``), the layers'
``python/`` folders (``/opt/python``), then the runtime's packages; nothing else from the venv.  It
imports the handler module and reports the time from the first import to the handler being ready,
and the process's peak memory.  Three floors are measured the same way in the same run: a bare
interpreter whose probe imports nothing, the web stack every HTTP handler stands on (``import
fastapi, mangum, pydantic``) from the packaged layer, and the same import from the layer's sources
alone, which is what a package without bytecode costs on every cold start.

Samples are taken round-robin: every round measures the floors and then every function once, so a
change of load during the run shows up in the floors' spread (and in the per-round load kept in the
JSON) instead of silently skewing whichever functions happened to be measured then.  One untimed
round first brings the artifacts into the page cache.

    python -m bench.cold_start [--runs N]   # prints the table, writes bench/results/cold_start.{json,md}

Timings are reported, never asserted: the budget column only marks medians over their budget.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import sysconfig
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "layers" / "shared" / "python"), str(ROOT / "functions")]

from agora.operations import Consumer, Internal, Operation, Service, load_all  # noqa: E402
from bench.results_file import describe_load, footer, header, load_average, write  # noqa: E402

RUNS = 7
WARMUP_ROUNDS = 1
# An HTTP function may cost this much more than the web stack it stands on; the others have no web stack.
HTTP_BUDGET_X_FLOOR = 1.25
BUDGET_MS = {"consumer": 250.0, "internal": 250.0}
RESULTS = ROOT / "bench" / "results"
ARTIFACTS = ROOT / ".local" / "bench"
WEB_STACK = ("fastapi", "mangum", "pydantic")
# Spelled by name: ruff flags the literal characters as look-alikes of x and -.
TIMES, DASH = "\N{MULTIPLICATION SIGN}", "\N{EN DASH}"
GROUPS = {
    "http": "HTTP operations",
    "consumer": "consumers",
    "internal": "internal functions",
    "floor": "floors",
}

# Lays out sys.path, then times the imports named after the handler's attribute (none for a floor)
# and the handler lookup.
PROBE = r"""
import sys
sys.path[:0] = sys.argv[1].split(":")
import importlib, json, resource, time
attribute, modules = sys.argv[2], sys.argv[3:]
started = time.perf_counter()
loaded = [importlib.import_module(name) for name in modules]
handler = getattr(loaded[-1], attribute) if attribute else None
elapsed = (time.perf_counter() - started) * 1000
assert handler is None or callable(handler)
assert sys.dont_write_bytecode and not any(p.endswith("site-packages") for p in sys.path), sys.path
try:  # this process's own high-water mark; getrusage's would include the bench's, kept across exec
    with open("/proc/self/status") as status:
        rss_kb = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
except OSError:
    rss_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"ms": elapsed, "rss_mb": rss_kb / 1024}))
"""

# What the stack sets in every function on AWS; names and ARNs are placeholders no import touches.
SECRET = "arn:aws:secretsmanager:us-east-1:000000000000:secret:agora"
ENVIRONMENT = {
    "AGORA_STAGE": "prod",
    "AGORA_VERSION": "1.0.0",
    "AGORA_EVENT_BUS_NAME": "agora",
    "AGORA_NAMESPACE": "agora",
    "AGORA_TRACE_EXPORT": "daemon",
    "AGORA_JWT_PUBLIC_KEYS_ARN": f"{SECRET}-jwks",
    "AGORA_REDIS_URL": "redis://127.0.0.1:6379/0",
    "AGORA_IDEMPOTENCY_TABLE": "agora-idempotency",
    "POWERTOOLS_METRICS_NAMESPACE": "Agora",
    "POWERTOOLS_LOG_LEVEL": "INFO",
    "PYDANTIC_DISABLE_PLUGINS": "__all__",
    "AWS_DEFAULT_REGION": "us-east-1",
    "AWS_REGION": "us-east-1",
    # /var/task and /opt are read-only: nothing a cold start compiles is kept for the next one.
    "PYTHONDONTWRITEBYTECODE": "1",
}


def service_environment(service: Service) -> dict[str, str]:
    """What the stack adds for one service's functions."""
    env = {}
    if service.uses_postgres:
        env["AGORA_DATABASE_SECRET_ARN"] = f"{SECRET}-{service.name}-db"
        env["AGORA_DATABASE_NAME"] = f"agora_{service.name}"
    if service.uses_dynamodb:
        env["AGORA_USERS_TABLE"] = "agora-users"
    if service.name == "users":
        env["AGORA_JWT_SIGNING_KEY_ARN"] = f"{SECRET}-signing-keys"
    if service.name == "payments":
        env["AGORA_WEBHOOK_SECRET_ARN"] = f"{SECRET}-webhook"
        env["AGORA_REQUEST_HASH_KEY_ARN"] = f"{SECRET}-request-hash"
    return env


@dataclass(frozen=True)
class Artifacts:
    """Where the packaged artifacts are, each folder being what Lambda would put on ``sys.path``."""

    services: dict[str, Path]
    shared: Path
    dependencies: Path
    dependency_sources: Path
    runtime: Path
    fingerprints: dict[str, str]

    def layout(self, service: str | None, dependencies: Path | None = None) -> tuple[str, ...]:
        """``/var/task``, then ``/opt/python``, then the runtime's own packages, in Lambda's order."""
        task = [self.services[service]] if service else []
        return tuple(str(p) for p in (*task, self.shared, dependencies or self.dependencies, self.runtime))


def host_platform_tag() -> str:
    """The wheels the LocalStack target installs (``stacks.config``): this machine's architecture."""
    machine = "aarch64" if platform.machine().lower() in ("arm64", "aarch64") else "x86_64"
    return f"{machine}-manylinux_2_28"


def materialise(name: str, fingerprint: str, build: Callable[[Path], None]) -> Path:
    """``.local/bench/<name>``, built again only when the fingerprint of what it holds has changed."""
    target, stamp = ARTIFACTS / name, ARTIFACTS / f"{name}.fingerprint"
    if target.is_dir() and stamp.is_file() and stamp.read_text() == fingerprint:
        return target
    print(f"  packaging {name}", file=sys.stderr, flush=True)
    staging = ARTIFACTS / f"{name}.building"
    for stale in (staging, target):
        shutil.rmtree(stale, ignore_errors=True)
    stamp.unlink(missing_ok=True)
    staging.mkdir(parents=True)
    build(staging)
    staging.rename(target)
    stamp.write_text(fingerprint)
    return target


def package(services: Sequence[Service]) -> Artifacts:
    """Build (or reuse) every artifact the stack deploys, exactly as the stack's packaging builds it."""
    # The CDK libraries load with the packaging; the bench needs them nowhere else.
    from stacks import packaging
    from stacks.layout import declared_files

    site = Path(sysconfig.get_paths()["purelib"])
    assets = {
        **{f"code-{s.name}": packaging.service_asset(s.name, declared_files(s)) for s in services},
        "layer-shared": packaging.shared_layer_asset(),
        "layer-dependencies": packaging.dependencies_layer_asset(host_platform_tag()),
        # Not an asset the stack deploys: the runtime's own packages, compiled as the runtime has them.
        "runtime": packaging.CompiledAsset(
            site, *(packaging.Files(site / name, name) for name in packaging.RUNTIME_PROVIDED)
        ),
    }
    fingerprints = {name: asset.fingerprint() for name, asset in assets.items()}
    built = {name: materialise(name, fingerprints[name], asset.put) for name, asset in assets.items()}
    dependencies = built["layer-dependencies"] / "python"

    def sources_only(staging: Path) -> None:
        shutil.copytree(
            dependencies,
            staging / "python",
            ignore=shutil.ignore_patterns("__pycache__"),
            copy_function=packaging.link_or_copy,
        )

    sources = materialise("layer-dependencies-sources", fingerprints["layer-dependencies"], sources_only)
    return Artifacts(
        services={s.name: built[f"code-{s.name}"] for s in services},
        shared=built["layer-shared"] / "python",
        dependencies=dependencies,
        dependency_sources=sources / "python",
        runtime=built["runtime"],
        fingerprints={name: fingerprint[:16] for name, fingerprint in fingerprints.items()},
    )


@dataclass
class Target:
    """One thing measured: a declared function, or a floor whose probe imports only ``modules``."""

    name: str
    kind: str
    handler: str
    modules: tuple[str, ...]
    attribute: str
    env: dict[str, str]
    path: tuple[str, ...]
    samples: list[dict[str, float]] = field(default_factory=list)

    def probe(self) -> dict[str, float]:
        started = time.perf_counter()
        done = subprocess.run(
            # -S: no site-packages; -P: not the working directory either.  Only the layout's folders.
            [sys.executable, "-S", "-P", "-c", PROBE, ":".join(self.path), self.attribute, *self.modules],
            env=self.env,
            cwd=self.path[0],
            capture_output=True,
            text=True,
            check=False,
        )
        process_ms = (time.perf_counter() - started) * 1000
        if done.returncode != 0:
            raise SystemExit(f"{self.name}: the probe failed\n{done.stderr.strip()}")
        return {**json.loads(done.stdout), "process_ms": process_ms}


def environment(service: str, extra: dict[str, str]) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", ""),
        **ENVIRONMENT,
        **extra,
        "AGORA_SERVICE": service,
        "POWERTOOLS_SERVICE_NAME": service,
    }


def kind_of(decl: Operation | Consumer | Internal) -> str:
    if isinstance(decl, Operation):
        return "http"
    return "consumer" if isinstance(decl, Consumer) else "internal"


def function_targets(services: Sequence[Service], artifacts: Artifacts) -> list[Target]:
    """Every declared function, grouped by kind so each group's range reads off one block of rows."""
    targets = []
    for service in services:
        extra = service_environment(service)
        path = artifacts.layout(service.name)
        for decl in service.functions:
            module, attribute = decl.handler.rsplit(".", 1)
            own = {"AGORA_DATABASE_MASTER_SECRET_ARN": f"{SECRET}-db-master"} if decl.id == "migrate" else {}
            env = environment(service.name, {**extra, **own, "AGORA_OPERATION": decl.id})
            name = f"{service.name}.{decl.id}"
            targets.append(Target(name, kind_of(decl), decl.handler, (module,), attribute, env, path))
    order = list(GROUPS)
    return sorted(targets, key=lambda t: order.index(t.kind))


def floor_targets(artifacts: Artifacts) -> tuple[Target, Target, Target]:
    env = environment("bench", {})
    web = f"import {', '.join(WEB_STACK)}"
    compiled = artifacts.layout(None)
    return (
        Target("floor.bare", "floor", "python -S -c pass", (), "", env, compiled),
        Target("floor.web", "floor", web, WEB_STACK, "", env, compiled),
        Target(
            "floor.web_sources",
            "floor",
            f"{web} (no bytecode)",
            WEB_STACK,
            "",
            env,
            artifacts.layout(None, artifacts.dependency_sources),
        ),
    )


def run_rounds(targets: Sequence[Target], runs: int, web: Target) -> list[dict[str, Any]]:
    """Measure every target once per round; return what each round took and the load after it."""
    for _ in range(WARMUP_ROUNDS):
        for target in targets:
            target.probe()
    rounds = []
    for number in range(1, runs + 1):
        started = time.perf_counter()
        for target in targets:
            target.samples.append(target.probe())
        load = load_average()
        rounds.append(
            {
                "round": number,
                "seconds": round(time.perf_counter() - started, 1),
                "load": load,
                "floor_web_ms": round(web.samples[-1]["ms"], 1),
            }
        )
        print(
            f"  round {number}/{runs}: {rounds[-1]['seconds']:6.1f} s, load {load[0] if load else '?'}, "
            f"web floor {rounds[-1]['floor_web_ms']:.1f} ms",
            file=sys.stderr,
            flush=True,
        )
    return rounds


def spread(values: Sequence[float]) -> dict[str, float]:
    low, high = min(values), max(values)
    # quantiles needs two points; a single sample has no spread at all.
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (low, low, low)
    return {
        "min_ms": round(low, 1),
        "median_ms": round(statistics.median(values), 1),
        "max_ms": round(high, 1),
        "spread_ms": round(high - low, 1),
        "iqr_ms": round(q3 - q1, 1),
    }


def budget_of(kind: str, floor_ms: float) -> tuple[float, str] | None:
    """The median a function of this kind may reach in this run, and how the budget reads."""
    if kind == "http":
        return floor_ms * HTTP_BUDGET_X_FLOOR, f"{HTTP_BUDGET_X_FLOOR:.2f} {TIMES} floor"
    if kind in BUDGET_MS:
        return BUDGET_MS[kind], f"{BUDGET_MS[kind]:.0f} ms"
    return None


def summarise(target: Target, floor_ms: float) -> dict[str, Any]:
    timings = [s["ms"] for s in target.samples]
    stats = spread(timings)
    row: dict[str, Any] = {
        "function": target.name,
        "kind": target.kind,
        "handler": target.handler,
        **stats,
        "x_floor": round(stats["median_ms"] / floor_ms, 2),
        "process_median_ms": round(statistics.median(s["process_ms"] for s in target.samples), 1),
        "rss_mb": round(statistics.median(s["rss_mb"] for s in target.samples), 1),
        "samples_ms": [round(ms, 1) for ms in timings],
        "process_ms": [round(s["process_ms"], 1) for s in target.samples],
    }
    budget = budget_of(target.kind, floor_ms)
    if budget is not None:
        limit, described = budget
        row["budget"] = described
        row["budget_ms"] = round(limit, 1)
        row["within_budget"] = stats["median_ms"] <= limit
    return row


def groups(rows: Sequence[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per kind of function: how many, and the range of their medians, also as multiples of the floor."""
    summary = {}
    for kind in GROUPS:
        members = [r for r in rows if r["kind"] == kind]
        if members and kind != "floor":
            summary[kind] = {
                "count": len(members),
                "median_ms": [min(r["median_ms"] for r in members), max(r["median_ms"] for r in members)],
                "x_floor": [min(r["x_floor"] for r in members), max(r["x_floor"] for r in members)],
                "over_budget": [r["function"] for r in members if not r["within_budget"]],
            }
    return summary


def bytecode_saving(floors: Sequence[dict[str, Any]]) -> dict[str, float]:
    """What the packaged bytecode saves on the web stack's import, from this run's two web floors."""
    by_name = {f["function"]: f for f in floors}
    compiled, sources = by_name["floor.web"]["median_ms"], by_name["floor.web_sources"]["median_ms"]
    return {
        "compiled_ms": compiled,
        "sources_ms": sources,
        "saved_ms": round(sources - compiled, 1),
        "sources_x_compiled": round(sources / compiled, 2),
    }


def group_lines(
    summary: dict[str, dict[str, Any]], floors: Sequence[dict[str, Any]], saving: dict[str, float]
) -> list[str]:
    lines = []
    for kind, g in summary.items():
        over = f"; over budget: {', '.join(g['over_budget'])}" if g["over_budget"] else "; all within budget"
        low, high = g["median_ms"]
        lines.append(
            f"{GROUPS[kind]} ({g['count']}): medians {low:.1f}{DASH}{high:.1f} ms, "
            f"{g['x_floor'][0]:.2f}{DASH}{g['x_floor'][1]:.2f} {TIMES} floor{over}"
        )
    lines += [
        f"{f['function']} (`{f['handler']}`): median {f['median_ms']:.1f} ms "
        f"(min {f['min_ms']:.1f}, max {f['max_ms']:.1f}), process {f['process_median_ms']:.1f} ms"
        for f in floors
    ]
    lines.append(
        f"bytecode in the layer saves {saving['saved_ms']:.1f} ms of `import {', '.join(WEB_STACK)}`: "
        f"{saving['sources_ms']:.1f} ms from sources, {saving['compiled_ms']:.1f} ms compiled "
        f"({saving['sources_x_compiled']:.2f} {TIMES})"
    )
    return lines


COLUMNS = (
    "min ms",
    "median ms",
    "max ms",
    "spread ms",
    "IQR ms",
    f"{TIMES} floor",
    "process ms",
    "peak RSS MB",
    "budget",
)


LEGEND = (
    "Each sample is a fresh interpreter importing from the packaged artifacts, with Lambda's `sys.path` "
    "(function code, then the layers, then the runtime's boto3, botocore and s3transfer), no "
    "site-packages and `PYTHONDONTWRITEBYTECODE=1`.",
    "Samples are taken round-robin after one untimed round: each round measures the floors, then every "
    "function once, so a load change during the run widens the floors' spread too.",
    f"{TIMES} floor: the function's median over the median of `import {', '.join(WEB_STACK)}` from the "
    "packaged layer in the same run; floor.web_sources is that import from the layer's sources without "
    "bytecode. process ms: the probe's whole process as the benchmark sees it, interpreter start included "
    "(for floor.bare, the cost of `python -S -c pass`). Spread is max - min; IQR the interquartile range.",
    f"Budgets: an HTTP function's median within {HTTP_BUDGET_X_FLOOR:.2f} {TIMES} the floor; a consumer's "
    f"or internal function's within {BUDGET_MS['consumer']:.0f} ms on this machine.",
)


def cells(row: dict[str, Any]) -> list[str]:
    numbers = [row[key] for key in ("min_ms", "median_ms", "max_ms", "spread_ms", "iqr_ms")]
    return [
        *(f"{n:.1f}" for n in numbers),
        f"{row['x_floor']:.2f}",
        f"{row['process_median_ms']:.1f}",
        f"{row['rss_mb']:.1f}",
        row.get("budget", "—"),
    ]


def budget_cell(row: dict[str, Any], no: str) -> str:
    if "within_budget" not in row:
        return "—"
    return "yes" if row["within_budget"] else no


def text_table(rows: Sequence[dict[str, Any]]) -> str:
    """The terminal's view: the Markdown's columns without the handler, one block per kind."""
    head = ["function", *COLUMNS, "within"]
    body = [[r["function"], *cells(r), budget_cell(r, "NO")] for r in rows]
    widths = [max(len(line[i]) for line in [head, *body]) for i in range(len(head))]

    def line(values: Sequence[str]) -> str:
        return "  ".join(
            v.ljust(w) if i == 0 else v.rjust(w) for i, (v, w) in enumerate(zip(values, widths, strict=True))
        )

    out = [line(head)]
    for index, row in enumerate(rows):
        if index == 0 or row["kind"] != rows[index - 1]["kind"]:
            out.append(f"-- {GROUPS[row['kind']]}")
        out.append(line(body[index]))
    return "\n".join(out)


def parse(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="python -m bench.cold_start",
        description="Cold start of every function from its packaged artifacts, against three floors.",
    )
    parser.add_argument(
        "--runs", type=int, default=RUNS, help=f"fresh processes per function and floor (default {RUNS})"
    )
    args = parser.parse_args(argv)
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    runs = parse(argv).runs
    opened, started = header(), time.perf_counter()
    services = load_all()
    artifacts = package(services)
    floor_set = floor_targets(artifacts)
    web = floor_set[1]
    functions = function_targets(services, artifacts)
    print(
        f"cold start: {len(functions)} functions and {len(floor_set)} floors, "
        f"{runs} rounds after {WARMUP_ROUNDS} untimed",
        file=sys.stderr,
        flush=True,
    )
    rounds = run_rounds([*floor_set, *functions], runs, web)
    floor_ms = statistics.median(s["ms"] for s in web.samples)
    floors = [summarise(f, floor_ms) for f in floor_set]
    rows = [summarise(t, floor_ms) for t in functions]
    summary = groups(rows)
    saving = bytecode_saving(floors)
    report = {
        **opened,
        **footer(started),
        "runs": runs,
        "warmup_rounds": WARMUP_ROUNDS,
        "order": "round-robin: each round measures the floors, then every function once",
        "layout": "sys.path = function code, shared layer python/, dependency layer python/, runtime "
        "boto3/botocore/s3transfer; python -S -P, PYTHONDONTWRITEBYTECODE=1",
        "artifacts": artifacts.fingerprints,
        "budgets": {"http_x_floor": HTTP_BUDGET_X_FLOOR, **{f"{k}_ms": v for k, v in BUDGET_MS.items()}},
        "floor": "floor.web",
        "floors": floors,
        "bytecode": saving,
        "groups": summary,
        "rounds": rounds,
        "functions": rows,
    }
    notes = group_lines(summary, floors, saving)
    write(
        "cold_start",
        report,
        f"Cold start from the packaged artifacts: import and init of each handler module, {runs} fresh "
        f"processes each; budget {HTTP_BUDGET_X_FLOOR:.2f} {TIMES} floor (HTTP), "
        f"{BUDGET_MS['consumer']:.0f} ms (consumers, internal)",
        ["function", "kind", "handler", *COLUMNS, "within budget"],
        [
            [r["function"], r["kind"], f"`{r['handler']}`", *cells(r), budget_cell(r, "**no**")]
            for r in [*rows, *floors]
        ],
        notes=[*(f"- {line}" for line in notes), "", *LEGEND],
    )
    print(text_table([*rows, *floors]))
    print()
    print("\n".join(notes))
    print(f"({report['machine']}; {describe_load(report)})")
    over = [r["function"] for r in rows if not r["within_budget"]]
    if over:
        print(f"over budget (reported, not failed): {', '.join(over)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
