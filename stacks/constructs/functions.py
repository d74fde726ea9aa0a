"""A Lambda function per declared operation and consumer, with the settings every function shares."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from agora.operations import Consumer, Internal, Operation, Service
from stacks.config import DeployConfig
from stacks.constructs.data import DataStores
from stacks.packaging import dependencies_layer_code, migrations_fingerprint, service_code, shared_layer_code

RUNTIME = lambda_.Runtime.PYTHON_3_13


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
    ) -> None:
        super().__init__(scope, construct_id)
        self.service = service
        self._config = config
        self._layers = layers
        self._data = data
        self._code = service_code(service.name)
        self._environment = {
            **environment,
            "AGORA_SERVICE": service.name,
            "POWERTOOLS_SERVICE_NAME": service.name,
        }
        self.operations: dict[str, lambda_.Function] = {
            op.id: self._function(op, op.function_id) for op in service.operations
        }
        self.consumers: dict[str, lambda_.Function] = {
            c.id: self._function(c, c.function_id) for c in service.consumers
        }
        self.internal: dict[str, lambda_.Function] = {
            i.id: self._function(i, i.function_id) for i in service.internal
        }
        self.plumbing: dict[str, lambda_.Function] = {}
        if service.uses_postgres:
            self._outbox_and_migrations()

    @property
    def all(self) -> list[lambda_.Function]:
        return [
            *self.operations.values(),
            *self.consumers.values(),
            *self.internal.values(),
            *self.plumbing.values(),
        ]

    def _outbox_and_migrations(self) -> None:
        """What every PostgreSQL service gets: migrations on deploy and the scheduled outbox sweep."""
        name = self.service.name
        migrate, relay = self.service.plumbing
        migrator = self._function(migrate, migrate.function_id)
        relayer = self._function(relay, relay.function_id)
        self.plumbing = {migrate.id: migrator, relay.id: relayer}
        cdk.CustomResource(
            self,
            "Migrations",
            service_token=migrator.function_arn,
            resource_type="Custom::AgoraMigrations",
            # A new fingerprint on every change of the SQL makes CloudFormation run the migrator again.
            properties={"Fingerprint": migrations_fingerprint(name)},
        )
        events.Rule(
            self,
            "OutboxSweep",
            description=f"Sweep the {name} outbox for events a crash left unpublished",
            schedule=events.Schedule.rate(cdk.Duration.minutes(1)),
            targets=[targets.LambdaFunction(relayer)],
        )

    def _function(self, decl: Operation | Consumer | Internal, construct_id: str) -> lambda_.Function:
        name = f"agora-{self._config.stage}-{decl.function_name_suffix}"[:64]
        log_group = logs.LogGroup(
            self,
            f"{construct_id}Logs",
            log_group_name=f"/aws/lambda/{name}",
            retention=self._config.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        vpc = self._data.vpc
        function = lambda_.Function(
            self,
            construct_id,
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
            log_group=log_group,
            logging_format=lambda_.LoggingFormat.JSON,
            environment={**self._environment, "AGORA_OPERATION": decl.id},
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS) if vpc else None,
            security_groups=[self._data.function_security_group]
            if self._data.function_security_group
            else None,
        )
        return function
