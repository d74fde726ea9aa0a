"""The platform: what every service stands on and no service owns.

The event bus and its archive, the Cloud Map namespace, the shared data plane (on AWS the VPC, Aurora
with its RDS Proxy and ElastiCache; on LocalStack the endpoints given as context), the token keys, the
idempotency table, the REST API with its stage, the alarm topic and the route publisher that service
stacks deploy the stage through.  Service stacks read its values from SSM parameters
(``PlatformValues``) at deploy time: no CloudFormation export ties a service stack to it.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from aws_cdk import aws_sqs as sqs
from aws_cdk import aws_ssm as ssm
from constructs import Construct

from agora.operations import Service
from stacks import names
from stacks.config import DeployConfig
from stacks.constructs.api import PlatformApi
from stacks.constructs.data import PlatformData
from stacks.constructs.discovery import namespace
from stacks.constructs.event_bus import DomainEventBus
from stacks.constructs.functions import RUNTIME, lambda_role
from stacks.packaging import route_publisher_code

# The route publisher's name within the platform (see agora.api_routes).
ROUTE_PUBLISHER = "platform-api-routes"
# The parameter key of the RDS Proxy's endpoint (AWS only), where PostgreSQL functions connect.
DATABASE_PROXY_ENDPOINT = "database-proxy-endpoint"


def alarm_notifications_queue(stage: str) -> str:
    """LocalStack only: the queue subscribed to the alarm topic (raw delivery: each message is the
    alarm's state change as CloudWatch publishes it)."""
    return f"{names.alarm_topic(stage)}-notifications"


class PlatformStack(cdk.Stack):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        services: tuple[Service, ...],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        stage = config.stage
        self.data = PlatformData(
            self, "Data", config=config, postgres_services=[s.name for s in services if s.uses_postgres]
        )
        self.events = DomainEventBus(self, "Events", archive_days=7 if config.is_localstack else 90)
        self.namespace = namespace(self)
        self.api = PlatformApi(self, "Api", config=config, services=services)
        self.topic = sns.Topic(
            self, "Alarms", topic_name=names.alarm_topic(stage), display_name="Agora alarms"
        )
        if config.alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(config.alarm_email))
        if config.is_localstack:
            # No mail locally: the notifications wait in a queue for whoever reads them (tests, the console).
            self.alarm_notifications = sqs.Queue(
                self,
                "AlarmNotifications",
                queue_name=alarm_notifications_queue(stage),
                retention_period=cdk.Duration.days(1),
                removal_policy=cdk.RemovalPolicy.DESTROY,
            )
            self.topic.add_subscription(
                subscriptions.SqsSubscription(self.alarm_notifications, raw_message_delivery=True)
            )
        self.route_publisher = self._route_publisher(config)

        values = {
            "rest-api-id": self.api.rest_api.rest_api_id,
            "api-resource-id": self.api.api_resource.resource_id,
            "api-url": self.api.base_url,
            "namespace-id": self.namespace.namespace_id,
            "redis-url": self.data.redis_url,
            "idempotency-table": self.data.idempotency_table.table_name,
            "signing-keys-arn": self.data.signing_keys.secret_arn,
            "public-keys-arn": self.data.public_keys.secret_arn,
            "database-master-secret-arn": self.data.database_secret.secret_arn,
            **{
                f"database-secret-arn-{service}": secret.secret_arn
                for service, secret in self.data.service_database_secrets.items()
            },
        }
        if self.data.vpc is not None and self.data.function_security_group is not None:
            private = self.data.vpc.select_subnets(subnet_type=PlatformData.FUNCTION_SUBNETS)
            values["private-subnet-ids"] = cdk.Fn.join(",", private.subnet_ids)
            values["functions-security-group-id"] = self.data.function_security_group.security_group_id
        if self.data.proxy is not None:
            values[DATABASE_PROXY_ENDPOINT] = self.data.proxy.endpoint
        for key, value in values.items():
            ssm.StringParameter(
                self,
                f"Param{key.title().replace('-', '')}",
                parameter_name=names.parameter(stage, key),
                string_value=value,
                description=f"Agora platform ({stage}): {key}",
            )

        cdk.CfnOutput(
            self, "ApiUrl", value=self.api.rest_api.url, description="Base URL of the Agora REST API"
        )
        cdk.CfnOutput(self, "EventBusName", value=self.events.bus.event_bus_name)
        cdk.CfnOutput(
            self,
            "JwtPublicKeysArn",
            value=self.data.public_keys.secret_arn,
            description="JWKS of the access-token verification keys, as GET /api/auth/.well-known/jwks.json",
        )

    def _route_publisher(self, config: DeployConfig) -> lambda_.Function:
        """The function service stacks' ``Custom::AgoraApiRoutes`` call; it may deploy this API only."""
        role = lambda_role(self, "RoutePublisherRole", "Agora API route publisher", in_vpc=False)
        api = self.api.rest_api
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["apigateway:POST", "apigateway:PATCH"],
                resources=[
                    self.format_arn(
                        service="apigateway", account="", resource=f"/restapis/{api.rest_api_id}/deployments"
                    ),
                    self.format_arn(
                        service="apigateway",
                        account="",
                        resource=f"/restapis/{api.rest_api_id}/stages/{config.stage}",
                    ),
                ],
            )
        )
        role.add_to_principal_policy(
            iam.PolicyStatement(
                actions=["ssm:PutParameter", "ssm:DeleteParameter", "ssm:GetParametersByPath"],
                resources=[
                    self.format_arn(
                        service="ssm", resource="parameter", resource_name=f"agora/{config.stage}/routes"
                    ),
                    self.format_arn(
                        service="ssm", resource="parameter", resource_name=f"agora/{config.stage}/routes/*"
                    ),
                ],
            )
        )
        name = names.function_name(config.stage, ROUTE_PUBLISHER)
        log_group = logs.LogGroup(
            self,
            "RoutePublisherLogs",
            log_group_name=f"/aws/lambda/{name}",
            retention=config.log_retention,
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        return lambda_.Function(
            self,
            "RoutePublisher",
            function_name=name,
            log_group=log_group,
            description="Deploys the API stage with a service's routes (Custom::AgoraApiRoutes)",
            runtime=RUNTIME,
            architecture=config.architecture,
            handler="agora.api_routes.handler",
            code=route_publisher_code(),
            memory_size=256,
            timeout=cdk.Duration.seconds(120),
            role=role,
            logging_format=lambda_.LoggingFormat.JSON,
        )
