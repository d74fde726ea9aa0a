"""The Agora stack: data stores, event bus, functions, REST API, service registry and monitoring."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from constructs import Construct

from agora.operations import Service, load_all
from stacks.config import DeployConfig
from stacks.constructs.api import PublicApi
from stacks.constructs.data import DataStores
from stacks.constructs.discovery import NAMESPACE, ServiceRegistry
from stacks.constructs.event_bus import BUS_NAME, DomainEventBus
from stacks.constructs.functions import ServiceFunctions, SharedLayers
from stacks.constructs.monitoring import Monitoring


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
        self.data = DataStores(self, "Data", config=config)
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
            )
            self._grant(functions)
            for consumer in service.consumers:
                self.events.subscribe(consumer, functions.consumers[consumer.id])
            self.functions[service.name] = functions
        self._grant_internal_callers(services)

        self.api = PublicApi(
            self,
            "Api",
            config=config,
            services=[(s, dict(self.functions[s.name].operations)) for s in services if s.operations],
        )
        for service in services:
            if service.route_prefixes:
                internal = self.functions[service.name].internal
                self.registry.register(
                    service, base_url=self.api.url, functions={i.id: internal[i.id] for i in service.internal}
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

    def _environment(self, service: Service) -> dict[str, str]:
        trace_export = "api" if self.config.is_localstack else "daemon"
        env = {
            "AGORA_STAGE": self.config.stage,
            "AGORA_VERSION": self.config.version,
            "AGORA_EVENT_BUS_NAME": BUS_NAME,
            "AGORA_NAMESPACE": NAMESPACE,
            "AGORA_TRACE_EXPORT": trace_export,
            "AGORA_JWT_SECRET_ARN": self.data.jwt_secret.secret_arn,
            "AGORA_REDIS_URL": self.data.redis_url,
            "AGORA_IDEMPOTENCY_TABLE": self.data.idempotency_table.table_name,
            "POWERTOOLS_METRICS_NAMESPACE": "Agora",
            "POWERTOOLS_LOG_LEVEL": "INFO",
        }
        if service.uses_postgres:
            env["AGORA_DATABASE_SECRET_ARN"] = self.data.database_secret.secret_arn
            env["AGORA_DATABASE_NAME"] = f"agora_{service.name}"
        if service.uses_dynamodb:
            env["AGORA_USERS_TABLE"] = self.data.users_table.table_name
        if service.name == "payments":
            env["AGORA_WEBHOOK_SECRET_ARN"] = self.data.webhook_secret.secret_arn
        return env

    def _grant_internal_callers(self, services: tuple[Service, ...]) -> None:
        """An internal operation may be invoked by the services it names as callers, and only by those."""
        for service in services:
            for internal in service.internal:
                target = self.functions[service.name].internal[internal.id]
                for caller in internal.callers:
                    target.grant_invoke(self.functions[caller].role)

    def _grant(self, functions: ServiceFunctions) -> None:
        service, role = functions.service, functions.role
        self.data.jwt_secret.grant_read(role)
        self.events.bus.grant_put_events_to(role)
        self.data.idempotency_table.grant_read_write_data(role)
        if service.uses_postgres:
            self.data.database_secret.grant_read(role)
        if service.name == "payments":
            self.data.webhook_secret.grant_read(role)
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
