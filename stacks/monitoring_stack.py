"""The overview: one dashboard across the services and the API's alarms, on the platform's topic."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_sns as sns
from constructs import Construct

from agora.operations import Service
from stacks import names
from stacks.config import DeployConfig
from stacks.constructs.monitoring import Overview


class MonitoringStack(cdk.Stack):
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
        topic = sns.Topic.from_topic_arn(
            self, "AlarmTopic", self.format_arn(service="sns", resource=names.alarm_topic(config.stage))
        )
        self.overview = Overview(self, "Monitoring", config=config, topic=topic, services=services)
