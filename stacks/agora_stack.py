"""The Agora stack: data stores, event bus, functions, REST API, service registry and monitoring."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from agora.operations import DOMAIN_SERVICES, Service, load_all
from stacks.config import DeployConfig
from stacks.constructs.api import PublicApi
from stacks.constructs.data import DataStores
from stacks.constructs.discovery import NAMESPACE, ServiceRegistry
from stacks.constructs.event_bus import BUS_NAME, SOURCE_PREFIX, DomainEventBus
from stacks.constructs.functions import ServiceFunctions, SharedLayers
from stacks.constructs.monitoring import Monitoring

# The users function that creates, rotates and retires the signing keys, under a role of its own.
KEY_MANAGER = "signing_keys"
# The PostgreSQL function that alone reads the master secret (it creates the service's role).
MIGRATOR = "migrate"
# The services whose functions get SnapStart as declared.  Each such function adds a version and an
# alias: for every service that would take this one stack past CloudFormation's 500 resources (531),
# so until the stack is split per service, the entry points of a visit (browsing, signing in) and the
# stock reservation a checkout waits on.
SNAP_START_SERVICES = ("users", "products")


class AgoraStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        services: tuple[Service, ...] | None = None,
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        services = services if services is not None else load_all()
        self.config = config
        self.data = DataStores(
            self, "Data", config=config, postgres_services=[s.name for s in services if s.uses_postgres]
        )
        self.events = DomainEventBus(self, "Events", archive_days=7 if config.is_localstack else 90)
        self.layers = SharedLayers(self, "Layers", config=config)
        self.registry = ServiceRegistry(self, "Discovery")

        self.functions: dict[str, ServiceFunctions] = {}
        for service in services:
            functions = ServiceFunctions(
                self,
                f"{service.name.title()}Functions",
                service=service,
                config=config,
                layers=self.layers,
                data=self.data,
                environment=self._environment(service),
                own_roles=self._own_roles(service),
                own_environment=self._own_environment(service),
                snap_start=service.name in SNAP_START_SERVICES,
            )
            self._grant(functions)
            for consumer in service.consumers:
                self.events.subscribe(consumer, functions.consumers[consumer.id].invoke_target)
            self.functions[service.name] = functions
        self._grant_internal_callers(services)
        if "users" in self.functions:
            self._manage_signing_keys(self.functions["users"])

        self.api = PublicApi(
            self,
            "Api",
            config=config,
            services=[
                (s, {op_id: fn.invoke_target for op_id, fn in self.functions[s.name].operations.items()})
                for s in services
                if s.operations
            ],
        )
        for service in services:
            if service.route_prefixes:
                internal = self.functions[service.name].internal
                self.registry.register(
                    service,
                    base_url=self.api.url,
                    functions={i.id: internal[i.id].invoke_target for i in service.internal},
                )

        self.monitoring = Monitoring(
            self, "Monitoring", api=self.api.rest_api, alarm_email=config.alarm_email
        )
        for service in services:
            subs = [s for s in self.events.subscriptions if s.consumer.service == service.name]
            self.monitoring.add_service(service, self.functions[service.name].all, subs)
        self.monitoring.finish()

        cdk.CfnOutput(self, "ApiUrl", value=self.api.url, description="Base URL of the Agora REST API")
        cdk.CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
        cdk.CfnOutput(self, "UsersTableName", value=self.data.users_table.table_name)
        cdk.CfnOutput(self, "WebhookSecretArn", value=self.data.webhook_secret.secret_arn)
        cdk.CfnOutput(
            self,
            "JwtPublicKeysArn",
            value=self.data.public_keys.secret_arn,
            description="JWKS of the access-token verification keys, as GET /api/auth/.well-known/jwks.json",
        )

    @staticmethod
    def _own_roles(service: Service) -> tuple[str, ...]:
        if service.name == "users":
            return (KEY_MANAGER,)
        return (MIGRATOR,) if service.uses_postgres else ()

    def _own_environment(self, service: Service) -> dict[str, dict[str, str]]:
        if not service.uses_postgres:
            return {}
        return {MIGRATOR: {"AGORA_DATABASE_MASTER_SECRET_ARN": self.data.database_secret.secret_arn}}

    def _environment(self, service: Service) -> dict[str, str]:
        trace_export = "api" if self.config.is_localstack else "daemon"
        env = {
            "AGORA_STAGE": self.config.stage,
            "AGORA_VERSION": self.config.version,
            "AGORA_EVENT_BUS_NAME": BUS_NAME,
            "AGORA_NAMESPACE": NAMESPACE,
            "AGORA_TRACE_EXPORT": trace_export,
            "AGORA_JWT_PUBLIC_KEYS_ARN": self.data.public_keys.secret_arn,
            "AGORA_REDIS_URL": self.data.redis_url,
            "AGORA_IDEMPOTENCY_TABLE": self.data.idempotency_table.table_name,
            "POWERTOOLS_METRICS_NAMESPACE": "Agora",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            # No pydantic plugins are installed: skip scanning every package's entry points at cold start.
            "PYDANTIC_DISABLE_PLUGINS": "__all__",
        }
        if service.uses_postgres:
            env["AGORA_DATABASE_SECRET_ARN"] = self.data.service_database_secrets[service.name].secret_arn
            env["AGORA_DATABASE_NAME"] = f"agora_{service.name}"
        if service.uses_dynamodb:
            env["AGORA_USERS_TABLE"] = self.data.users_table.table_name
        if service.name == "users":
            env["AGORA_JWT_SIGNING_KEY_ARN"] = self.data.signing_keys.secret_arn
        if service.name == "payments":
            env["AGORA_WEBHOOK_SECRET_ARN"] = self.data.webhook_secret.secret_arn
            env["AGORA_REQUEST_HASH_KEY_ARN"] = self.data.request_hash_key.secret_arn
        return env

    def _grant_internal_callers(self, services: tuple[Service, ...]) -> None:
        """An internal operation may be invoked by the services it names as callers, and only by those.

        Each caller gets its own policy beside its role's default one: functions wait for their
        default policy, so two services calling each other through it would wait on each other.
        """
        targets: dict[str, list[str]] = {}
        for service in services:
            for internal in service.internal:
                arns = self.functions[service.name].internal[internal.id].invoke_arns
                for caller in internal.callers:
                    targets.setdefault(caller, []).extend(arns)
        for caller, arns in targets.items():
            iam.Policy(
                self.functions[caller],
                "InvokesInternal",
                roles=[self.functions[caller].role],
                statements=[iam.PolicyStatement(actions=["lambda:InvokeFunction"], resources=arns)],
            )

    def _manage_signing_keys(self, users: ServiceFunctions) -> None:
        """Only the key manager writes either key secret; on every deploy it makes sure a key exists."""
        manager = users.own_roles[KEY_MANAGER]
        for secret in (self.data.signing_keys, self.data.public_keys):
            secret.grant_read(manager)
            manager.add_to_principal_policy(
                iam.PolicyStatement(actions=["secretsmanager:PutSecretValue"], resources=[secret.secret_arn])
            )
        keys = cdk.CustomResource(
            users,
            "SigningKeys",
            service_token=users.internal[KEY_MANAGER].invoke_target.function_arn,
            resource_type="Custom::AgoraSigningKeys",
            # New secrets (a replaced stack resource) get their first key too.
            properties={
                "SigningKeys": self.data.signing_keys.secret_arn,
                "PublicKeys": self.data.public_keys.secret_arn,
            },
        )
        # No function runs before a key exists: a verifier would keep an empty key set for its cache age.
        for functions in self.functions.values():
            for function in functions.all:
                if function is not users.internal[KEY_MANAGER]:
                    function.node.add_dependency(keys)

    def _grant(self, functions: ServiceFunctions) -> None:
        service, role = functions.service, functions.role
        self.data.public_keys.grant_read(role)
        if service.name == "users":
            self.data.signing_keys.grant_read(role)
        if service.name in DOMAIN_SERVICES:
            # A service publishes its own events only: EventBridge refuses any other source from it.
            role.add_to_principal_policy(
                iam.PolicyStatement(
                    actions=["events:PutEvents"],
                    resources=[self.events.bus.event_bus_arn],
                    conditions={"StringEquals": {"events:source": f"{SOURCE_PREFIX}{service.name}"}},
                )
            )
        self.data.idempotency_table.grant_read_write_data(role)
        if service.uses_postgres:
            own = self.data.service_database_secrets[service.name]
            own.grant_read(role)
            migrator = functions.own_roles[MIGRATOR]
            own.grant_read(migrator)
            self.data.database_secret.grant_read(migrator)
        if service.name == "payments":
            self.data.webhook_secret.grant_read(role)
            self.data.request_hash_key.grant_read(role)
        if service.uses_dynamodb:
            self.data.users_table.grant_read_write_data(role)
            self.data.users_table.grant(role, "dynamodb:DescribeTable")
        role.add_to_principal_policy(
            iam.PolicyStatement(actions=["servicediscovery:DiscoverInstances"], resources=["*"])
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["events:DescribeEventBus"], resources=[self.events.bus.event_bus_arn]
            )
        )
