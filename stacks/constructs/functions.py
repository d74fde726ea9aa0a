"""A Lambda function per declared operation, consumer and internal function of one service.

Each function has a role and a log group of its own: a function holds only its grants, and its logs
are where Lambda puts them by default (``/aws/lambda/<name>``).  Names are fixed
(``stacks.names.function_name``), so another stack can name a function without importing it.

On AWS a function declared with SnapStart (``agora.operations``) publishes a version on every change
and gets an alias, ``live``, on it: SnapStart serves published versions only, so routes, queues,
schedules and internal callers all invoke ``DeclaredFunction.invoke_target``, the alias.  Elsewhere
(LocalStack, SnapStart off) the target is the function itself.

On AWS a function declared with ``reserved_concurrency`` gets it (``agora.operations`` says where and
why); LocalStack gets none: a laptop has no account's pool to share out.
"""

from __future__ import annotations

from dataclasses import dataclass

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from agora.operations import Consumer, Internal, Operation, Service
from stacks import names
from stacks.config import DeployConfig
from stacks.layout import declared_files, migrations_fingerprint
from stacks.packaging import dependencies_layer_code, service_code, shared_layer_code

RUNTIME = lambda_.Runtime.PYTHON_3_13
LIVE_ALIAS = "live"
# LocalStack's marker bucket: a function whose code is in it runs from the host path named by the key.
HOT_RELOAD_BUCKET = "hot-reload"

Declaration = Operation | Consumer | Internal


@dataclass(frozen=True)
class Network:
    """Where functions run on AWS: the platform's private subnets, behind its functions' group."""

    subnet_ids: list[str]
    security_group_id: str


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


def function_arn(stack: cdk.Stack, name: str) -> str:
    """A function's ARN from its fixed name, for a stack that does not hold the function."""
    return stack.format_arn(
        service="lambda",
        resource="function",
        resource_name=name,
        arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
    )


def invoke_arns(stack: cdk.Stack, config: DeployConfig, decl: Declaration) -> list[str]:
    """What a caller's policy must allow to invoke a declared function: its alias, or it and its versions."""
    arn = function_arn(stack, names.function_name(config.stage, decl.function_name_suffix))
    if uses_snap_start(config, decl):
        return [f"{arn}:{LIVE_ALIAS}"]
    return [arn, f"{arn}:*"]


def uses_snap_start(config: DeployConfig, decl: Declaration) -> bool:
    return not config.is_localstack and decl.starts_from_snapshot


def reserved_concurrency(config: DeployConfig, decl: Declaration) -> int | None:
    """The executions reserved for a declared function on this target (None: none)."""
    return None if config.is_localstack else decl.reserved_concurrency


class DeclaredFunction(lambda_.Function):
    """A declared function with its own role and log group, and what callers invoke (``invoke_target``)."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        decl: Declaration,
        config: DeployConfig,
        code: lambda_.Code,
        layers: list[lambda_.ILayerVersion],
        environment: dict[str, str],
        network: Network | None,
    ) -> None:
        name = names.function_name(config.stage, decl.function_name_suffix)
        role = lambda_role(
            scope, f"{construct_id}Role", f"Agora {decl.service}.{decl.id}", network is not None
        )
        log_group = logs.LogGroup(
            scope,
            f"{construct_id}Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=config.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        snap_start = uses_snap_start(config, decl)
        super().__init__(
            scope,
            construct_id,
            function_name=name,
            description=decl.description or f"{decl.service}.{decl.id}",
            runtime=RUNTIME,
            architecture=config.architecture,
            handler=decl.handler,
            code=code,
            layers=layers,
            memory_size=decl.memory_mb,
            timeout=cdk.Duration.seconds(decl.timeout_s),
            tracing=lambda_.Tracing.ACTIVE,
            role=role,
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment=environment,
            snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS if snap_start else None,
            reserved_concurrent_executions=reserved_concurrency(config, decl),
        )
        self.declaration = decl
        if network is not None:
            cfn = self.node.default_child
            assert isinstance(cfn, lambda_.CfnFunction)
            cfn.vpc_config = lambda_.CfnFunction.VpcConfigProperty(
                subnet_ids=network.subnet_ids, security_group_ids=[network.security_group_id]
            )
        self.invoke_target: lambda_.IFunction = (
            lambda_.Alias(self, "Live", alias_name=LIVE_ALIAS, version=self.current_version)
            if snap_start
            else self
        )

    def grant_to_role(self, statement: iam.PolicyStatement) -> None:
        assert self.role is not None
        self.role.add_to_principal_policy(statement)


def service_layers(scope: Construct, config: DeployConfig) -> list[lambda_.ILayerVersion]:
    """The dependency layer and, unless the service's tree carries it (hot reload), the shared library.

    Each service stack publishes its own versions of the same assets: a stack never waits on a layer
    another stack owns, and an unchanged layer uploads nothing.
    """
    layers: list[lambda_.ILayerVersion] = [
        lambda_.LayerVersion(
            scope,
            "Dependencies",
            code=dependencies_layer_code(config.platform_tag),
            compatible_runtimes=[RUNTIME],
            compatible_architectures=[config.architecture],
            description="Agora third-party dependencies (from uv.lock)",
        )
    ]
    if config.hot_reload is None:
        layers.append(
            lambda_.LayerVersion(
                scope,
                "Shared",
                code=shared_layer_code(),
                compatible_runtimes=[RUNTIME],
                description="Agora shared library (agora.*)",
            )
        )
    return layers


def code_of(scope: Construct, config: DeployConfig, service: Service) -> lambda_.Code:
    """The service's package, or on a hot-reloading LocalStack the host folder its functions run from."""
    if config.hot_reload is None:
        return service_code(service.name, declared_files(service))
    bucket = s3.Bucket.from_bucket_name(scope, "HotReload", HOT_RELOAD_BUCKET)
    return lambda_.Code.from_bucket(bucket, str(config.hot_reload / service.name))


class ServiceFunctions(Construct):
    """Every function of one service: its operations, its event consumers and its internal functions."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        service: Service,
        config: DeployConfig,
        environment: dict[str, str],
        own_environment: dict[str, dict[str, str]],
        network: Network | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = service
        code = code_of(self, config, service)
        layers = service_layers(self, config)
        base = {**environment, "AGORA_SERVICE": service.name, "POWERTOOLS_SERVICE_NAME": service.name}

        def function(decl: Declaration) -> DeclaredFunction:
            return DeclaredFunction(
                self,
                decl.function_id,
                decl=decl,
                config=config,
                code=code,
                layers=layers,
                environment={**base, **own_environment.get(decl.id, {})},
                network=network,
            )

        self.operations = {op.id: function(op) for op in service.operations}
        self.consumers = {c.id: function(c) for c in service.consumers}
        internal = (*service.internal, *service.plumbing)
        self.internal = {i.id: function(i) for i in internal}
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
