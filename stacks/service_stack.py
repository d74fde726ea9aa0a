"""One service's stack: its functions (each with its role and log group), routes, queues, DLQs, rules,
tables, secrets, Cloud Map entry, dashboard and alarms.

It stands on the platform through values the platform publishes in SSM (``PlatformValues``) and names
fixed by ``stacks.names``; it refers to no other service's stack.  A caller of another service's
internal function is granted that function by its fixed name.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_servicediscovery as servicediscovery
from aws_cdk import aws_sns as sns
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from agora.operations import DOMAIN_SERVICES, Service
from stacks import names
from stacks.config import DeployConfig
from stacks.constructs import data
from stacks.constructs.api import ServiceRoutes
from stacks.constructs.discovery import NAMESPACE, register
from stacks.constructs.event_bus import BUS_NAME, SOURCE_PREFIX, Subscription
from stacks.constructs.functions import (
    Network,
    ServiceFunctions,
    function_arn,
    invoke_arns,
    reserved_concurrency,
)
from stacks.constructs.monitoring import ServiceMonitoring
from stacks.platform_stack import DATABASE_PROXY_ENDPOINT, ROUTE_PUBLISHER

# The users function that creates, rotates and retires the signing keys, under grants of its own.
KEY_MANAGER = "signing_keys"
# The PostgreSQL function that alone reads the master secret (it creates the service's role).
MIGRATOR = "migrate"


class PlatformValues:
    """The platform's SSM parameters, each read by CloudFormation when this stack deploys."""

    def __init__(self, scope: Construct, stage: str) -> None:
        self._scope = scope
        self._stage = stage
        self._read: dict[str, str] = {}

    def __getitem__(self, key: str) -> str:
        if key not in self._read:
            self._read[key] = ssm.StringParameter.value_for_string_parameter(
                self._scope, names.parameter(self._stage, key)
            )
        return self._read[key]


class ServiceStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        service: Service,
        services: tuple[Service, ...],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.config = config
        self.service = service
        self.platform = PlatformValues(self, config.stage)
        self.users_table: dynamodb.Table | None = None
        self.secrets: dict[str, secretsmanager.ISecret] = {}
        self._platform_secrets: dict[str, secretsmanager.ISecret] = {}
        self._own_data()

        network = None
        if not config.is_localstack:
            network = Network(
                subnet_ids=cdk.Fn.split(",", self.platform["private-subnet-ids"], 2),
                security_group_id=self.platform["functions-security-group-id"],
            )
        self.functions = ServiceFunctions(
            self,
            "Functions",
            service=service,
            config=config,
            environment=self._environment(),
            own_environment=self._own_environment(),
            network=network,
        )
        self._grant()
        self._grant_internal_calls(services)

        bus = events.EventBus.from_event_bus_name(self, "Bus", BUS_NAME)
        self.subscriptions = [
            Subscription(
                self,
                consumer.function_id,
                bus=bus,
                consumer=consumer,
                function=self.functions.consumers[consumer.id].invoke_target,
                stage=config.stage,
                max_concurrency=reserved_concurrency(config, consumer),
            )
            for consumer in service.consumers
        ]
        if service.operations:
            self.routes = ServiceRoutes(
                self,
                "Routes",
                config=config,
                service=service,
                functions={op_id: fn.invoke_target for op_id, fn in self.functions.operations.items()},
                rest_api_id=self.platform["rest-api-id"],
                api_resource_id=self.platform["api-resource-id"],
                publisher_arn=function_arn(self, names.function_name(config.stage, ROUTE_PUBLISHER)),
            )
        if service.route_prefixes:
            namespace = servicediscovery.HttpNamespace.from_http_namespace_attributes(
                self,
                "Namespace",
                namespace_name=NAMESPACE,
                namespace_id=self.platform["namespace-id"],
                namespace_arn=self.format_arn(
                    service="servicediscovery",
                    resource="namespace",
                    resource_name=self.platform["namespace-id"],
                ),
            )
            register(
                self,
                namespace,
                service,
                base_url=self.platform["api-url"],
                functions={i.id: self.functions.internal[i.id].invoke_target for i in service.internal},
            )
        topic = sns.Topic.from_topic_arn(
            self, "AlarmTopic", self.format_arn(service="sns", resource=names.alarm_topic(config.stage))
        )
        self.monitoring = ServiceMonitoring(
            self,
            "Monitoring",
            config=config,
            topic=topic,
            service=service,
            functions=self.functions.all,
            subscriptions=self.subscriptions,
        )
        if service.name == "users":
            self._manage_signing_keys()
        for name, secret in self.secrets.items():
            cdk.CfnOutput(self, name, value=secret.secret_arn)
        if self.users_table is not None:
            cdk.CfnOutput(self, "UsersTableName", value=self.users_table.table_name)

    def _own_data(self) -> None:
        """What the service alone keeps: the users table, the secrets it declares."""
        if self.service.uses_dynamodb:
            self.users_table = data.users_table(self, self.config)
        for secret in self.service.secrets:
            self.secrets[secret.output] = data.own_secret(self, secret)

    def _secret(self, key: str) -> secretsmanager.ISecret:
        """A platform secret, by the ARN the platform published under ``key``."""
        if key not in self._platform_secrets:
            self._platform_secrets[key] = secretsmanager.Secret.from_secret_complete_arn(
                self, f"Platform{key.title().replace('-', '')}", self.platform[key]
            )
        return self._platform_secrets[key]

    def _environment(self) -> dict[str, str]:
        service, platform = self.service, self.platform
        env = {
            "AGORA_STAGE": self.config.stage,
            "AGORA_VERSION": self.config.version,
            "AGORA_EVENT_BUS_NAME": BUS_NAME,
            "AGORA_NAMESPACE": NAMESPACE,
            "AGORA_TRACE_EXPORT": "api" if self.config.is_localstack else "daemon",
            "AGORA_JWT_PUBLIC_KEYS_ARN": platform["public-keys-arn"],
            "AGORA_REDIS_URL": platform["redis-url"],
            "AGORA_IDEMPOTENCY_TABLE": platform["idempotency-table"],
            "POWERTOOLS_METRICS_NAMESPACE": "Agora",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # No pydantic plugins are installed: skip scanning every package's entry points at cold start.
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
        }
        if service.uses_postgres:
            env["AGORA_DATABASE_SECRET_ARN"] = platform[f"database-secret-arn-{service.name}"]
            env["AGORA_DATABASE_NAME"] = data.database_name(service.name)
        if self.users_table is not None:
            env["AGORA_USERS_TABLE"] = self.users_table.table_name
        if service.name == "users":
            env["AGORA_JWT_SIGNING_KEY_ARN"] = platform["signing-keys-arn"]
        for secret in service.secrets:
            env[secret.variable] = self.secrets[secret.output].secret_arn
        return env

    def _own_environment(self) -> dict[str, dict[str, str]]:
        """What some functions alone get.  On AWS every PostgreSQL function but the migrator connects
        through the RDS Proxy (``AGORA_DATABASE_HOST``, with its secret's credentials); the migrator
        connects to the cluster itself, as the master, whose secret the proxy does not hold."""
        if not self.service.uses_postgres:
            return {}
        own = {MIGRATOR: {"AGORA_DATABASE_MASTER_SECRET_ARN": self.platform["database-master-secret-arn"]}}
        if not self.config.is_localstack:
            proxy = {"AGORA_DATABASE_HOST": self.platform[DATABASE_PROXY_ENDPOINT]}
            own |= {decl.id: proxy for decl in self.service.functions if decl.id != MIGRATOR}
        return own

    def _grant(self) -> None:
        """What every function of the service may do; the migrator and the key manager get their own."""
        service = self.service
        own = {MIGRATOR, KEY_MANAGER}
        idempotency = dynamodb.Table.from_table_name(
            self, "IdempotencyTable", self.platform["idempotency-table"]
        )
        for fn in self.functions.all:
            decl_id = fn.declaration.id
            role = fn.role
            assert role is not None
            self._secret("public-keys-arn").grant_read(role)
            if service.uses_postgres and decl_id == MIGRATOR:
                self._secret(f"database-secret-arn-{service.name}").grant_read(role)
                self._secret("database-master-secret-arn").grant_read(role)
            if decl_id in own:
                continue
            if service.name == "users":
                self._secret("signing-keys-arn").grant_read(role)
            if service.name in DOMAIN_SERVICES:
                # A service publishes its own events only: EventBridge refuses any other source from it.
                fn.grant_to_role(
                    iam.PolicyStatement(
                        actions=["events:PutEvents"],
                        resources=[self._bus_arn()],
                        conditions={"StringEquals": {"events:source": f"{SOURCE_PREFIX}{service.name}"}},
                    )
                )
            fn.grant_to_role(
                iam.PolicyStatement(actions=["events:DescribeEventBus"], resources=[self._bus_arn()])
            )
            idempotency.grant_read_write_data(role)
            if service.uses_postgres:
                self._secret(f"database-secret-arn-{service.name}").grant_read(role)
            for secret in self.secrets.values():
                secret.grant_read(role)
            if self.users_table is not None:
                self.users_table.grant_read_write_data(role)
                self.users_table.grant(role, "dynamodb:DescribeTable")
            fn.grant_to_role(
                iam.PolicyStatement(actions=["servicediscovery:DiscoverInstances"], resources=["*"])
            )

    def _bus_arn(self) -> str:
        return self.format_arn(service="events", resource="event-bus", resource_name=BUS_NAME)

    def _grant_internal_calls(self, services: tuple[Service, ...]) -> None:
        """This service's functions may invoke the internal functions that name it as a caller, and only
        those (granted by the callee's fixed name: the callee's stack is not referred to)."""
        arns = [
            arn
            for other in services
            for internal in other.internal
            if self.service.name in internal.callers
            for arn in invoke_arns(self, self.config, internal)
        ]
        if not arns:
            return
        for fn in self.functions.all:
            if fn.declaration.id in (MIGRATOR, KEY_MANAGER):
                continue
            fn.grant_to_role(iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=arns))

    def _manage_signing_keys(self) -> None:
        """Only the key manager writes either key secret; on every deploy it makes sure a key exists."""
        manager = self.functions.internal[KEY_MANAGER]
        assert manager.role is not None
        for key in ("signing-keys-arn", "public-keys-arn"):
            secret = self._secret(key)
            secret.grant_read(manager.role)
            secret.grant_write(manager.role)
        keys = cdk.CustomResource(
            self,
            "SigningKeys",
            service_token=manager.invoke_target.function_arn,
            resource_type="Custom::AgoraSigningKeys",
            # New secrets (a replaced platform) get their first key too.
            properties={
                "SigningKeys": self.platform["signing-keys-arn"],
                "PublicKeys": self.platform["public-keys-arn"],
            },
        )
        # No users function runs before a key exists: the signer would keep an empty ring for its cache
        # age.  Other services need no key before a token exists, and find a new kid when they meet one.
        for function in self.functions.all:
            if function is not manager:
                function.node.add_dependency(keys)
