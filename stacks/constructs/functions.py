"""A Lambda function per declared operation and consumer, with the settings every function shares.

On AWS a function declared with SnapStart (``agora.operations``) publishes a version on every change
and gets an alias, ``live``, on it: SnapStart serves published versions only, so routes, queues,
schedules and internal callers all invoke ``DeclaredFunction.invoke_target``, the alias.  Elsewhere
(LocalStack, SnapStart off) the target is the function itself.
"""

from __future__ import annotations

from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from agora.operations import Consumer, Internal, Operation, Service
from stacks.config import DeployConfig
from stacks.constructs.data import DataStores
from stacks.packaging import (
    declared_files,
    dependencies_layer_code,
    migrations_fingerprint,
    service_code,
    shared_layer_code,
)

RUNTIME = lambda_.Runtime.PYTHON_3_13
LIVE_ALIAS = "live"


def service_log_group(stage: str, service: str) -> str:
    """Where every function of a service logs (each function has its own streams in it)."""
    return f"/aws/lambda/agora-{stage}-{service}"


def lambda_role(scope: Construct, construct_id: str, description: str, in_vpc: bool) -> iam.Role:
    """A role Lambda functions assume: logs (and network interfaces in the VPC) and X-Ray, nothing else."""
    return iam.Role(
        scope,
        construct_id,
        assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
        description=description,
        managed_policies=[
            iam.ManagedPolicy.from_aws_managed_policy_name(
                "service-role/AWSLambdaVPCAccessExecutionRole"
                if in_vpc
                else "service-role/AWSLambdaBasicExecutionRole"
            ),
            iam.ManagedPolicy.from_aws_managed_policy_name("AWSXRayDaemonWriteAccess"),
        ],
    )


class DeclaredFunction(lambda_.Function):
    """A declared function and what everything that calls it invokes (``invoke_target``)."""

    def __init__(self, scope: Construct, construct_id: str, *, snap_start: bool, **props: Any) -> None:
        super().__init__(
            scope,
            construct_id,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            **props,
        )
        self.invoke_target: lambda_.IFunction = (
            lambda_.Alias(self, "Live", alias_name=LIVE_ALIAS, version=self.current_version)
            if snap_start
            else self
        )

    @property
    def invoke_arns(self) -> list[str]:
        """What a caller's policy must allow: the alias alone, or the function and its versions."""
        if self.invoke_target is self:
            return [self.function_arn, f"{self.function_arn}:*"]
        return [self.invoke_target.function_arn]


class SharedLayers(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, config: DeployConfig) -> None:
        super().__init__(scope, construct_id)
        runtimes = [RUNTIME]
        self.dependencies = lambda_.LayerVersion(
            self,
            "Dependencies",
            code=dependencies_layer_code(config.platform_tag),
            compatible_runtimes=runtimes,
            compatible_architectures=[config.architecture],
            description="Agora third-party dependencies (from uv.lock)",
        )
        self.shared = lambda_.LayerVersion(
            self,
            "Shared",
            code=shared_layer_code(),
            compatible_runtimes=runtimes,
            description="Agora shared library (agora.*)",
        )

    @property
    def all(self) -> list[lambda_.ILayerVersion]:
        return [self.dependencies, self.shared]


class ServiceFunctions(Construct):
    """Every function of one service: its operations and its event consumers."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: Service,
        config: DeployConfig,
        layers: SharedLayers,
        data: DataStores,
        environment: dict[str, str],
        own_roles: tuple[str, ...] = (),
        own_environment: dict[str, dict[str, str]] | None = None,
        snap_start: bool = False,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = service
        self._config = config
        # Whether the functions declared with SnapStart get it here (never on LocalStack).
        self._snap_start = snap_start and not config.is_localstack
        self._layers = layers
        self._data = data
        self._code = service_code(service.name, declared_files(service))
        # Settings only one function of the service may see (the migrator's master secret).
        self._own_environment = own_environment or {}
        self._environment = {
            **environment,
            "AGORA_SERVICE": service.name,
            "POWERTOOLS_SERVICE_NAME": service.name,
        }
        # One role and one log group per service, shared by its functions: the service is the unit of
        # privilege and of logs, and the stack stays well inside CloudFormation's 500-resource limit.
        self.role = lambda_role(self, "Role", f"Agora {service.name} functions", in_vpc=data.vpc is not None)
        # A function that may do what the rest of its service must not gets a role of its own.
        self.own_roles: dict[str, iam.Role] = {
            fn_id: lambda_role(
                self,
                f"{fn_id.title().replace('_', '')}Role",
                f"Agora {service.name}.{fn_id}",
                in_vpc=data.vpc is not None,
            )
            for fn_id in own_roles
        }
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=service_log_group(config.stage, service.name),
            retention=config.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        self.operations: dict[str, DeclaredFunction] = {
            op.id: self._function(op, op.function_id) for op in service.operations
        }
        self.consumers: dict[str, DeclaredFunction] = {
            c.id: self._function(c, c.function_id) for c in service.consumers
        }
        internal = (*service.internal, *service.plumbing)
        self.internal: dict[str, DeclaredFunction] = {
            i.id: self._function(i, i.function_id) for i in internal
        }
        for decl in internal:
            if decl.schedule_minutes:
                events.Rule(
                    self,
                    f"{decl.function_id}Schedule",
                    description=f"{decl.service}.{decl.id} every {decl.schedule_minutes} min",
                    schedule=events.Schedule.rate(cdk.Duration.minutes(decl.schedule_minutes)),
                    targets=[targets.LambdaFunction(self.internal[decl.id].invoke_target)],
                )
        if service.uses_postgres:
            cdk.CustomResource(
                self,
                "Migrations",
                service_token=self.internal["migrate"].invoke_target.function_arn,
                resource_type="Custom::AgoraMigrations",
                # A new fingerprint on every change of the SQL makes CloudFormation run the migrator again.
                properties={"Fingerprint": migrations_fingerprint(service.name)},
            )

    @property
    def all(self) -> list[DeclaredFunction]:
        return [*self.operations.values(), *self.consumers.values(), *self.internal.values()]

    def _function(self, decl: Operation | Consumer | Internal, construct_id: str) -> DeclaredFunction:
        name = f"agora-{self._config.stage}-{decl.function_name_suffix}"[:64]
        vpc = self._data.vpc
        function = DeclaredFunction(
            self,
            construct_id,
            snap_start=self._snap_start and decl.starts_from_snapshot,
            function_name=name,
            description=decl.description or f"{decl.service}.{decl.id}",
            runtime=RUNTIME,
            architecture=self._config.architecture,
            handler=decl.handler,
            code=self._code,
            layers=self._layers.all,
            memory_size=decl.memory_mb,
            timeout=cdk.Duration.seconds(decl.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            role=self.own_roles.get(decl.id, self.role),
            log_group=self.log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={
                **self._environment,
                **self._own_environment.get(decl.id, {}),
                "AGORA_OPERATION": decl.id,
            },
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS) if vpc else None,
            security_groups=[self._data.function_security_group]
            if self._data.function_security_group
            else None,
        )
        return function
