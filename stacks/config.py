"""Deploy-time configuration, read from CDK context (``-c key=value`` or cdk.json).

The two targets share every construct; this object names the few places where
LocalStack's community edition lacks something AWS has.
"""

from __future__ import annotations

import platform
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs

TARGETS = ("aws", "localstack")
LOCALSTACK_ACCOUNT = "000000000000"
# A fixed REST API id on LocalStack (its `_custom_id_` tag), so the local URL is stable.
LOCALSTACK_API_ID = "agora"


@dataclass(frozen=True)
class AlarmTiming:
    """How alarms judge their metric: over periods of ``period``, ``evaluation_periods`` of them
    (None: as many as each alarm declares)."""

    period: cdk.Duration
    evaluation_periods: int | None = None


# AWS: five-minute periods, each alarm's own number of them.
AWS_ALARMS = AlarmTiming(period=cdk.Duration.minutes(5))
# LocalStack: each alarm decides on the last minute alone, so that a local breach (and its end) shows
# within a minute or two rather than 5 to 15 (see tools/localstack/README.md, Metrics and alarms).
LOCAL_ALARMS = AlarmTiming(period=cdk.Duration.minutes(1), evaluation_periods=1)


@dataclass(frozen=True)
class DeployConfig:
    target: str
    stage: str
    architecture: lambda_.Architecture
    log_retention: logs.RetentionDays
    database_url: str | None
    redis_url: str | None
    alarm_email: str | None
    version: str
    # LocalStack only: run every function from ``<hot_reload>/<service>`` on the host (a tree of links
    # into the working tree, see ``stacks.packaging.hot_tree``) instead of a packaged asset.
    hot_reload: Path | None = None
    alarms: AlarmTiming = AWS_ALARMS

    @property
    def is_localstack(self) -> bool:
        return self.target == "localstack"

    @property
    def platform_tag(self) -> str:
        """The wheel platform the dependency layer is built for."""
        machine = "aarch64" if self.architecture == lambda_.Architecture.ARM_64 else "x86_64"
        return f"{machine}-manylinux_2_28"

    @classmethod
    def from_app(cls, app: cdk.App) -> DeployConfig:
        ctx = app.node.try_get_context
        target = ctx("target") or "aws"
        if target not in TARGETS:
            raise ValueError(f"unknown target {target!r}: use one of {', '.join(TARGETS)}")
        local = target == "localstack"
        database_url = ctx("database_url")
        redis_url = ctx("redis_url")
        hot_reload = ctx("hot_reload")
        if hot_reload and not (local and Path(hot_reload).is_absolute()):
            raise ValueError("hot_reload is for target=localstack, with an absolute path")
        if local and not (database_url and redis_url):
            raise ValueError("target=localstack needs -c database_url=... and -c redis_url=...")
        return cls(
            target=target,
            stage=ctx("stage") or ("local" if local else "prod"),
            architecture=_host_architecture() if local else lambda_.Architecture.ARM_64,
            log_retention=logs.RetentionDays.ONE_WEEK if local else logs.RetentionDays.ONE_MONTH,
            database_url=database_url if local else None,
            redis_url=redis_url if local else None,
            alarm_email=ctx("alarm_email"),
            version=ctx("version") or "1.0.0",
            hot_reload=Path(hot_reload) if hot_reload else None,
            alarms=LOCAL_ALARMS if local else AWS_ALARMS,
        )


def _host_architecture() -> lambda_.Architecture:
    # LocalStack runs functions as host processes: their wheels must match this machine.
    if platform.machine().lower() in ("arm64", "aarch64"):
        return lambda_.Architecture.ARM_64
    return lambda_.Architecture.X86_64
