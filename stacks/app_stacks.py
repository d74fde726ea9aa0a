"""Every stack of the app: the platform, one per service, and the monitoring overview.

``-c stacks=Agora-Orders,...`` builds only the named stacks (the others are not even synthesized):
a stack refers to no other, so any subset stands alone.  Service stacks are ordered after the
platform for ``cdk deploy --all``; that ordering is all that links them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import aws_cdk as cdk

from agora.operations import Service, load_all
from stacks import names
from stacks.config import LOCALSTACK_ACCOUNT, DeployConfig
from stacks.monitoring_stack import MonitoringStack
from stacks.platform_stack import PlatformStack
from stacks.service_stack import ServiceStack


@dataclass
class AgoraStacks:
    platform: PlatformStack | None = None
    services: dict[str, ServiceStack] = field(default_factory=dict)
    monitoring: MonitoringStack | None = None

    @property
    def all(self) -> list[cdk.Stack]:
        stacks: list[cdk.Stack] = [self.platform] if self.platform else []
        stacks.extend(self.services.values())
        return [*stacks, *([self.monitoring] if self.monitoring else [])]


def build(app: cdk.App, config: DeployConfig, services: tuple[Service, ...] | None = None) -> AgoraStacks:
    services = services if services is not None else load_all()
    wanted = app.node.try_get_context("stacks")
    selected = set(wanted.split(",")) if wanted else set(names.stack_names(s.name for s in services))
    unknown = selected - set(names.stack_names(s.name for s in services))
    if unknown:
        raise ValueError(f"no such stacks: {', '.join(sorted(unknown))}")
    env = cdk.Environment(account=LOCALSTACK_ACCOUNT, region="us-east-1") if config.is_localstack else None
    stacks = AgoraStacks()
    if names.PLATFORM in selected:
        stacks.platform = PlatformStack(
            app,
            names.PLATFORM,
            config=config,
            services=services,
            env=env,
            description="Agora platform: event bus, discovery, data plane, REST API and stage",
        )
    for service in services:
        name = names.service_stack(service.name)
        if name in selected:
            stack = ServiceStack(
                app,
                name,
                config=config,
                service=service,
                services=services,
                env=env,
                description=f"Agora {service.name} service",
            )
            if stacks.platform is not None:
                stack.add_stack_dependency(stacks.platform, reason="runs on the platform's values")
            stacks.services[service.name] = stack
    if names.MONITORING in selected:
        stacks.monitoring = MonitoringStack(
            app, names.MONITORING, config=config, services=services, env=env, description="Agora overview"
        )
    return stacks
