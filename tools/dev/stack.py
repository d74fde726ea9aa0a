"""The whole system on one machine: PostgreSQL, Redis and LocalStack on the host, the real stacks in it.

    python -m tools.dev.stack up        # start what is missing, deploy, seed, print the API URL
    python -m tools.dev.stack down      # stop what 'up' started, and only that
    python -m tools.dev.stack seed      # (re)load the catalog and the admin user
    python -m tools.dev.stack deploy --stacks Agora-Orders   # deploy those stacks of the running system
    python -m tools.dev.stack e2e       # up in a scratch state dir, tests/client and tests/e2e, always down
    python -m tools.dev.stack deploy-compose   # deploy into LocalStack from localstack-compose.yml

State lives in ``AGORA_LOCAL_DIR`` (default ``.local``).  Ports: ``LOCALSTACK_PORT``
(4566), ``AGORA_DEV_POSTGRES_PORT`` (54329), ``AGORA_DEV_REDIS_PORT`` (63799).
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tools.dev import backing

ROOT = Path(__file__).resolve().parents[2]
CTL = ROOT / "tools" / "localstack" / "ctl.py"
# The CDK CLI and the Node it runs on come from node_modules (package-lock.json), never from PATH.
NODE_BIN = ROOT / "node_modules" / ".bin"
STAGE = "local"
API_ID = "agora"
DEV_ADMIN_EMAIL = "admin@agora.local"


@dataclass(frozen=True)
class Paths:
    state: Path

    @property
    def api_url(self) -> Path:
        return self.state / "api-url"

    @property
    def admin(self) -> Path:
        return self.state / "admin.json"

    @property
    def outputs(self) -> Path:
        return self.state / "outputs.json"

    @property
    def dev_env(self) -> Path:
        return self.state / "dev.env"

    def backing(self) -> dict[str, str]:
        """DATABASE_URL and REDIS_URL of the running system's servers."""
        return dict(line.split("=", 1) for line in self.dev_env.read_text().splitlines() if "=" in line)

    @property
    def hot(self) -> Path:
        """The trees the functions run from (see ``stacks.packaging.hot_tree``)."""
        return self.state / "hot"

    @property
    def deployed(self) -> Path:
        """Per stack, the fingerprint it was last deployed with (``tools.dev.inputs``)."""
        return self.state / "deployed.json"

    @property
    def seeded(self) -> Path:
        return self.state / "seeded"


def state_dir() -> Path:
    return Path(os.environ.get("AGORA_LOCAL_DIR", ROOT / ".local")).resolve()


def running_dev() -> Paths | None:
    """The paths of the running ``make dev``, or None once the user is told none is running."""
    paths = Paths(state_dir())
    if paths.api_url.exists():
        return paths
    print(
        f"error: no dev system is running ({paths.api_url} is missing); start one with 'make dev'",
        file=sys.stderr,
    )
    return None


def localstack_port() -> int:
    return int(os.environ.get("LOCALSTACK_PORT", "4566"))


def endpoint() -> str:
    return f"http://127.0.0.1:{localstack_port()}"


def api_base_url() -> str:
    # LocalStack's path-style URL for a REST API; the `_custom_id_` tag keeps the id stable.
    return f"{endpoint()}/restapis/{API_ID}/{STAGE}/_user_request_"


def aws_env(state: Path) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_ENDPOINT_URL": endpoint(),
        "AWS_ENDPOINT_URL_S3": endpoint(),
        "AWS_ACCESS_KEY_ID": "test",
        "AWS_SECRET_ACCESS_KEY": "test",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "CDK_HOME": str(state / "cdk-home"),
        "AGORA_LOCAL_DIR": str(state),
        "PATH": os.pathsep.join(
            [str(NODE_BIN), str(Path(sys.executable).parent), os.environ.get("PATH", "")]
        ),
    }


def step(message: str) -> None:
    print(f"==> {message}", flush=True)


def ctl(command: str, state: Path) -> None:
    subprocess.run([sys.executable, str(CTL), command], check=True, env=aws_env(state))


def cdk(args: list[str], state: Path, cwd: Path = ROOT) -> None:
    subprocess.run([str(NODE_BIN / "cdklocal"), *args], check=True, cwd=cwd, env=aws_env(state))


def boto(service: str, state: Path) -> Any:
    import boto3

    env = aws_env(state)
    return boto3.client(
        service,
        endpoint_url=env["AWS_ENDPOINT_URL"],
        region_name=env["AWS_DEFAULT_REGION"],
        aws_access_key_id="test",
        aws_secret_access_key="test",
    )


def live_stacks(state: Path) -> set[str]:
    """The stacks LocalStack holds in a settled state (it keeps nothing across restarts)."""
    cfn = boto("cloudformation", state)
    settled = ("CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE")
    paginator = cfn.get_paginator("list_stacks")
    return {
        summary["StackName"]
        for page in paginator.paginate(StackStatusFilter=list(settled))
        for summary in page["StackSummaries"]
    }


def stack_outputs(paths: Paths) -> dict[str, str]:
    """Every deployed stack's outputs in one mapping (their names do not clash)."""
    if not paths.outputs.exists():
        return {}
    by_stack: dict[str, dict[str, str]] = json.loads(paths.outputs.read_text())
    return {key: value for outputs in by_stack.values() for key, value in outputs.items()}


@dataclass(frozen=True)
class Plan:
    """What a deploy synthesizes and with what: the stacks, their context and fingerprints."""

    context: dict[str, str]
    fingerprints: dict[str, str]
    stacks: list[str]


def plan(
    state: Path,
    database_url: str,
    redis_url: str,
    *,
    live: set[str] | None,
    only: list[str] | None = None,
    extra_context: dict[str, str] | None = None,
    hot: bool = True,
) -> Plan:
    """The stacks to deploy: ``only`` those, or those whose fingerprint moved since they were last
    deployed here or that LocalStack does not hold (``live``; None: a LocalStack just started).

    With ``hot``, functions run from ``<state>/hot/<service>`` (LocalStack's hot reload): links into
    the working tree, or with ``AGORA_HOT_RELOAD_COPY=1`` a scratch copy of it; otherwise from their
    packaged assets.
    """
    from agora.operations import load_all
    from stacks.layout import hot_tree
    from stacks.names import stack_names
    from tools.dev.inputs import fingerprints

    paths = Paths(state)
    services = load_all()
    copy = os.environ.get("AGORA_HOT_RELOAD_COPY") == "1"
    for service in services if hot else ():
        # Links are made again (a new top-level module appears); a scratch copy is kept as edited.
        if not (copy and (paths.hot / service.name).is_dir()):
            hot_tree(service, paths.hot, copy=copy)
    context = {
        "target": "localstack",
        "database_url": database_url,
        "redis_url": redis_url,
        **({"hot_reload": str(paths.hot)} if hot else {}),
        **(extra_context or {}),
    }
    wanted = fingerprints(context, services)
    record: dict[str, str] = json.loads(paths.deployed.read_text()) if paths.deployed.exists() else {}
    names = stack_names(s.name for s in services)
    if only:
        todo = [name for name in names if name in only]
    elif live is None:
        todo = names
    else:
        todo = [name for name in names if record.get(name) != wanted[name] or name not in live]
    return Plan(context, wanted, todo)


def synthesize(state: Path, planned: Plan) -> subprocess.Popen[bytes]:
    """Start synthesizing the planned stacks into ``<state>/cdk.out``; the caller waits."""
    assembly = state / "cdk.out"
    shutil.rmtree(assembly, ignore_errors=True)
    # The app itself, not `cdk synth`: no CLI start-up, and no template validation (make lint has it).
    return subprocess.Popen(
        [sys.executable, "app.py"],
        cwd=ROOT,
        env={
            **aws_env(state),
            "CDK_OUTDIR": str(assembly),
            "CDK_CONTEXT_JSON": json.dumps({**planned.context, "stacks": ",".join(planned.stacks)}),
            "CDK_VALIDATION": "false",
        },
    )


def deploy(state: Path, planned: Plan, synthesis: subprocess.Popen[bytes] | None = None) -> list[str]:
    """Deploy the planned stacks (synthesized by ``synthesis`` if it was started already); returns
    the stacks it created (the others it deployed existed already)."""
    paths = Paths(state)
    if not planned.stacks:
        if synthesis is not None:
            synthesis.wait()
        step("every stack is deployed as it is")
        return []
    live = live_stacks(state)
    if "CDKToolkit" not in live:
        step("bootstrapping CDK in LocalStack")
        # Away from cdk.json: with an app to read, the CLI would synthesize all of it first.
        cdk(["bootstrap", "aws://000000000000/us-east-1"], state, cwd=state)
    step(f"deploying {', '.join(planned.stacks)} to LocalStack")
    synthesis = synthesis or synthesize(state, planned)
    if synthesis.wait() != 0:
        raise SystemExit("synthesizing the stacks failed (see above)")
    fresh_outputs = state / "outputs-new.json"
    cdk(
        [
            "deploy",
            *planned.stacks,
            "--app",
            str(state / "cdk.out"),
            "--exclusively",
            "--require-approval",
            "never",
            "--concurrency",
            "4",
            "--progress",
            "events",
            "--outputs-file",
            str(fresh_outputs),
        ],
        state,
    )
    outputs = json.loads(paths.outputs.read_text()) if paths.outputs.exists() else {}
    outputs.update(json.loads(fresh_outputs.read_text()))
    paths.outputs.write_text(json.dumps(outputs, indent=2) + "\n")
    record: dict[str, str] = json.loads(paths.deployed.read_text()) if paths.deployed.exists() else {}
    record.update({name: planned.fingerprints[name] for name in planned.stacks})
    paths.deployed.write_text(json.dumps(record, indent=2) + "\n")
    return [name for name in planned.stacks if name not in live]


def localstack_running(state: Path) -> bool:
    done = subprocess.run(
        [sys.executable, str(CTL), "status"], env=aws_env(state), stdout=subprocess.DEVNULL, check=False
    )
    return done.returncode == 0


def wait_for_api(url: str, timeout_s: float = 60) -> float:
    """Poll the users health route until it answers 200; return the seconds it took."""
    import urllib.request

    started = time.monotonic()
    last_error: Exception | None = None
    while time.monotonic() - started < timeout_s:
        try:
            with urllib.request.urlopen(f"{url}/api/users/health", timeout=10) as response:  # noqa: S310
                if response.status == 200:
                    return time.monotonic() - started
        except Exception as exc:
            last_error = exc
        time.sleep(0.5)
    raise RuntimeError(f"the API did not answer at {url} within {timeout_s:.0f}s: {last_error}")


def dev_admin(paths: Paths) -> dict[str, str]:
    """The dev admin's credentials: made once, kept in .local/admin.json (git-ignored)."""
    if paths.admin.exists():
        return dict(json.loads(paths.admin.read_text()))
    admin = {"email": DEV_ADMIN_EMAIL, "password": secrets.token_urlsafe(18)}
    paths.admin.write_text(json.dumps(admin, indent=2) + "\n")
    paths.admin.chmod(0o600)
    return admin


def seed(state: Path) -> None:
    """Run each service's seeder (``<service>.seed``) against the running system."""
    from agora.migrate import with_database

    paths = Paths(state)
    admin = dev_admin(paths)
    dev = paths.backing()
    outputs = stack_outputs(paths)
    common = {
        **aws_env(state),
        "PYTHONPATH": os.pathsep.join([str(ROOT / "functions"), str(ROOT / "layers" / "shared" / "python")]),
        "AGORA_TRACE_EXPORT": "off",
    }
    per_service = {
        "users": {
            "AGORA_USERS_TABLE": outputs.get("UsersTableName", ""),
            "AGORA_ADMIN_EMAIL": admin["email"],
            "AGORA_ADMIN_PASSWORD": admin["password"],
        },
        "products": {"AGORA_DATABASE_URL": with_database(dev["DATABASE_URL"], "agora_products")},
    }
    for service, env in per_service.items():
        step(f"seeding {service}")
        done = subprocess.run(
            [sys.executable, "-m", f"{service}.seed"],
            cwd=ROOT,
            env={**common, **env, "AGORA_SERVICE": service},
        )
        if done.returncode and service == "users":
            raise SystemExit(
                f"the admin seed failed (see above); the dev admin's credentials are in {paths.admin}"
            )
        done.check_returncode()


def up(state: Path) -> str:
    started = time.monotonic()
    state.mkdir(parents=True, exist_ok=True)
    paths = Paths(state)
    step("PostgreSQL and Redis")
    pg = backing.ensure_postgres(state)
    redis = backing.ensure_redis(state)
    paths.dev_env.write_text(f"DATABASE_URL={pg.url}\nREDIS_URL={redis.url}\n")
    # A LocalStack that is not running keeps no stacks: every stack is synthesized at once, while
    # LocalStack installs and starts, and deployed.
    live = live_stacks(state) if localstack_running(state) else None
    planned = plan(state, pg.url, redis.url, live=live)
    synthesis = synthesize(state, planned) if live is None else None
    step("LocalStack on the host")
    ctl("install", state)
    ctl("start", state)
    created = deploy(state, planned, synthesis)
    # Right after the deploy, before the URL is written or printed: the admin's email is not up for grabs.
    # A stack updated in place keeps its data; a new one (a fresh LocalStack) is seeded.
    if created or not paths.seeded.exists():
        seed(state)
        paths.seeded.touch()
    url = api_base_url()
    paths.api_url.write_text(url + "\n")
    wait_for_api(url)
    elapsed = time.monotonic() - started
    print(
        f"\nAgora is running ({elapsed:.0f}s).\n"
        f"  API:        {url}\n"
        f"  try:        curl {url}/api/users/health\n"
        f"  admin:      {paths.admin}\n"
        f"  console:    make console   (http://127.0.0.1:4580: dashboards, alarms, traces, logs, DLQs)\n"
        f"  LocalStack: {endpoint()}   PostgreSQL: {pg.url}   Redis: {redis.url}\n"
        f"  stop:       make dev-down\n",
        flush=True,
    )
    return url


def down(state: Path) -> None:
    if CTL.exists():
        subprocess.run([sys.executable, str(CTL), "stop"], check=False, env=aws_env(state))
    if backing.stop_redis(state):
        step("stopped the embedded Redis")
    if backing.stop_postgres(state):
        step("stopped the embedded PostgreSQL")


def e2e(extra_args: list[str]) -> int:
    """Bring up a scratch system on ports apart from 'make dev', run tests/e2e against it, tear it down."""
    state = ROOT / ".local" / "e2e"
    os.environ.setdefault("LOCALSTACK_PORT", "4599")
    os.environ.setdefault("AGORA_DEV_POSTGRES_PORT", "54339")
    os.environ.setdefault("AGORA_DEV_REDIS_PORT", "63809")
    # The scratch system shares the installed LocalStack and Lambda runtime venvs with `make dev`.
    os.environ.setdefault("AGORA_LOCALSTACK_VENV", str(ROOT / ".local" / "localstack" / "venv"))
    os.environ.setdefault("AGORA_LAMBDA_VENV", str(ROOT / ".local" / "localstack" / "lambda-python"))
    # Functions run from a scratch copy of the working tree, which the hot reload test edits.
    os.environ["AGORA_HOT_RELOAD_COPY"] = "1"
    shutil.rmtree(Paths(state).hot, ignore_errors=True)
    try:
        url = up(state)
        # The tutorial's own client test first: it registers a fixed email on a system that has none.
        step("the tutorial's client test (tests/client, jest + supertest)")
        from tools.dev import client

        client_status = client.run(url, Paths(state).admin)
        env = {**aws_env(state), "AGORA_API_URL": url}
        status = subprocess.run(
            [sys.executable, "-m", "pytest", "tests/e2e", *extra_args], cwd=ROOT, env=env
        ).returncode
        return status or client_status
    finally:
        down(state)


def deploy_compose(state: Path, only: list[str] | None = None) -> None:
    """Deploy into LocalStack, PostgreSQL and Redis started with Docker from localstack-compose.yml.

    Functions run in LocalStack's Lambda containers on the compose network, so the
    stack gets in-network addresses; the seeders on the host use the published ports.
    """
    compose = ["docker", "compose", "-f", "localstack-compose.yml"]
    subprocess.run([*compose, "up", "-d", "--wait"], check=True, cwd=ROOT)
    state.mkdir(parents=True, exist_ok=True)
    Paths(state).dev_env.write_text(
        "DATABASE_URL=postgresql://postgres@127.0.0.1:55432/postgres\nREDIS_URL=redis://127.0.0.1:56379/0\n"
    )
    # LocalStack's Lambda containers cannot follow links into this tree: packaged code there.
    planned = plan(
        state,
        "postgresql://postgres@postgres:5432/postgres",
        "redis://redis:6379/0",
        live=live_stacks(state),
        only=only,
        hot=False,
    )
    deploy(state, planned)
    url = api_base_url()
    Paths(state).api_url.write_text(url + "\n")
    wait_for_api(url)
    seed(state)
    print(f"API: {url}\nstop: docker compose -f localstack-compose.yml down")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tools.dev.stack", description=__doc__.splitlines()[0])
    parser.add_argument("command", choices=["up", "down", "seed", "deploy", "e2e", "deploy-compose"])
    parser.add_argument("--stacks", help="deploy: these stacks (comma-separated) whether they changed or not")
    parser.add_argument(
        "-c", "--context", action="append", default=[], help="deploy: extra CDK context, key=value"
    )
    args, rest = parser.parse_known_args(argv)
    state = state_dir()
    if args.command == "up":
        up(state)
    elif args.command == "deploy":
        dev = Paths(state).backing()
        planned = plan(
            state,
            dev["DATABASE_URL"],
            dev["REDIS_URL"],
            live=live_stacks(state),
            only=args.stacks.split(",") if args.stacks else None,
            extra_context=dict(pair.split("=", 1) for pair in args.context),
        )
        deploy(state, planned)
    elif args.command == "down":
        down(state)
    elif args.command == "seed":
        seed(state)
    elif args.command == "e2e":
        return e2e(rest)
    else:
        deploy_compose(state, args.stacks.split(",") if args.stacks else None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
