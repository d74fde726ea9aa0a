"""Dashboards and alarms on every failure path, all sent to the platform's alarm topic.

Each service stack has its dashboard and alarms (``ServiceMonitoring``); the monitoring stack has the
overview and the API's alarms (``Overview``).  Both name what they watch (the API, the dead-letter
queues) by the fixed names in ``stacks.names``, so neither refers to another stack.

Dashboards show five-minute periods on both targets.  Alarms judge periods of the target's
``DeployConfig.alarms``: on AWS five minutes and as many as each alarm declares; on LocalStack the
last minute alone, so that a local breach, and its end, shows within a minute or two.
"""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from constructs import Construct

from agora.observability import METRICS_NAMESPACE
from agora.operations import Service
from stacks import names
from stacks.config import AlarmTiming, DeployConfig
from stacks.constructs.event_bus import Subscription

FIVE_MINUTES = cdk.Duration.minutes(5)
P99_LATENCY_MS = 2000
SERVER_ERROR_RATE_PCT = 1
WIDTH = 12
MAX_METRICS_PER_ALARM = 10


class Watch(Construct):
    """What both kinds share: the alarm action, the API's metrics and the widget shapes."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        topic: sns.ITopic,
    ) -> None:
        super().__init__(scope, construct_id)
        self.stage = config.stage
        self.timing: AlarmTiming = config.alarms
        self._action = cw_actions.SnsAction(topic)
        self.alarms: list[cw.Alarm] = []

    def api_metric(self, name: str, statistic: str = "Sum", **extra: str) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={"ApiName": names.rest_api(self.stage), "Stage": self.stage, **extra},
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    def alarm(
        self,
        construct_id: str,
        *,
        metric: cw.Metric | cw.MathExpression,
        evaluation_periods: int,
        **props: object,
    ) -> cw.Alarm:
        """An alarm on the target's timing: ``metric`` over its periods, ``evaluation_periods`` of them
        unless the target fixes how many."""
        alarm = cw.Alarm(
            self,
            construct_id,
            metric=metric.with_(period=self.timing.period),
            evaluation_periods=self.timing.evaluation_periods or evaluation_periods,
            treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            **props,  # type: ignore[arg-type]
        )
        # Both ways: the topic hears when an alarm fires and when it clears.
        alarm.add_alarm_action(self._action)
        alarm.add_ok_action(self._action)
        self.alarms.append(alarm)
        return alarm

    @staticmethod
    def latency_widget(title: str, latency: cw.Metric) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=title,
            left=[latency.with_(statistic="p50", label="p50"), latency.with_(statistic="p99", label="p99")],
            width=WIDTH,
        )

    @staticmethod
    def errors_widget(title: str, client: cw.Metric, server: cw.Metric) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=title, left=[client.with_(label="4XX"), server.with_(label="5XX")], width=WIDTH
        )

    @staticmethod
    def business_widget(name: str) -> cw.GraphWidget:
        # A latency is averaged; every other business figure (counts, amounts) is summed.
        statistic = "Average" if name.endswith("Latency") else "Sum"
        search = cw.MathExpression(
            # The schema names the dimension the metrics carry: {Agora} alone matches only dimensionless ones.
            expression=f"SEARCH('{{Agora,service}} MetricName=\"{name}\"', '{statistic}', 300)",
            label=name,
            period=FIVE_MINUTES,
        )
        return cw.GraphWidget(title=name, left=[search], width=WIDTH)


def service_metric(name: str, service: str) -> cw.Metric:
    return cw.Metric(
        namespace=METRICS_NAMESPACE,
        metric_name=name,
        dimensions_map={"service": service},
        statistic="Sum",
        period=FIVE_MINUTES,
    )


class ServiceMonitoring(Watch):
    """A service's dashboard and its alarms: function errors and throttles, DLQs, parked outbox rows
    and forged events."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        topic: sns.ITopic,
        service: Service,
        functions: Sequence[lambda_.Function],
        subscriptions: Sequence[Subscription],
    ) -> None:
        super().__init__(scope, construct_id, config=config, topic=topic)
        self.dashboard = cw.Dashboard(self, "Dashboard", dashboard_name=f"agora-{service.name}")
        widgets: list[cw.IWidget] = []
        for op in service.operations:
            extra = {"Resource": op.path, "Method": op.method}
            widgets.append(self.latency_widget(f"{op.method} {op.path}", self.api_metric("Latency", **extra)))
            widgets.append(
                self.errors_widget(
                    f"{op.method} {op.path} errors",
                    self.api_metric("4XXError", **extra),
                    self.api_metric("5XXError", **extra),
                )
            )
        widgets.extend(self._function_widget(fn) for fn in functions)
        self._function_alarms(service, functions)
        for sub in subscriptions:
            depth = sub.dead_letters.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            )
            widgets.append(cw.GraphWidget(title=f"DLQ depth: {sub.consumer.id}", left=[depth], width=WIDTH))
            self._any_is_too_many(
                f"{sub.consumer.function_id}DlqDepth",
                f"Events of {sub.consumer.service}.{sub.consumer.id} reached the DLQ",
                depth,
            )
        if service.uses_postgres:
            # Events the relay gave up on: they wait for an operator.
            parked = service_metric("OutboxParked", service.name)
            self._any_is_too_many(
                "OutboxParked",
                f"{service.name} outbox rows were parked: EventBridge kept refusing them",
                parked,
            )
            widgets.append(
                cw.GraphWidget(title=f"{service.name} outbox rows parked", left=[parked], width=WIDTH)
            )
        if service.consumers:
            # Events refused because their source does not own their type: a bug or an attack, never noise.
            forged = service_metric("ForgedEvents", service.name)
            self._any_is_too_many(
                "ForgedEvents",
                f"{service.name} consumers refused events whose source does not own them",
                forged,
            )
            widgets.append(
                cw.GraphWidget(title=f"{service.name} forged events refused", left=[forged], width=WIDTH)
            )
        widgets.extend(self.business_widget(name) for name in service.business_metrics)
        self.dashboard.add_widgets(*widgets)

    def _any_is_too_many(self, construct_id: str, description: str, metric: cw.Metric) -> cw.Alarm:
        """An alarm on a count where one is already too many (dead letters, parked or forged events)."""
        return self.alarm(
            construct_id,
            alarm_description=description,
            metric=metric,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def _function_alarms(self, service: Service, functions: Sequence[lambda_.Function]) -> None:
        """Errors and throttles of every function, summed per service in groups of ten
        (the most metrics one alarm's math may use).  Lambda publishes a function's metrics only
        for the periods it ran in, and a sum with a missing term has no value: each term is
        ``FILL``ed with 0, or an error would alarm only when all ten functions ran."""
        groups = [
            functions[i : i + MAX_METRICS_PER_ALARM] for i in range(0, len(functions), MAX_METRICS_PER_ALARM)
        ]
        for index, group in enumerate(groups, start=1):
            for kind, metric_of in (("Errors", "metric_errors"), ("Throttles", "metric_throttles")):
                metrics = {
                    f"f{i}": getattr(fn, metric_of)(period=FIVE_MINUTES, statistic="Sum")
                    for i, fn in enumerate(group)
                }
                self.alarm(
                    f"{service.name.title()}{index}Function{kind}",
                    alarm_description=f"{service.name} functions: {kind.lower()} "
                    f"(group {index} of {len(groups)}: {', '.join(fn.node.id for fn in group)})",
                    metric=cw.MathExpression(
                        expression=" + ".join(f"FILL({key}, 0)" for key in metrics),
                        using_metrics=metrics,
                        label=f"{service.name} {kind.lower()}",
                        period=FIVE_MINUTES,
                    ),
                    threshold=1,
                    evaluation_periods=1,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                )

    @staticmethod
    def _function_widget(fn: lambda_.Function) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=fn.node.id,
            left=[fn.metric_errors(label="errors"), fn.metric_throttles(label="throttles")],
            right=[
                fn.metric_duration(statistic="p50", label="duration p50"),
                fn.metric_duration(statistic="p99", label="duration p99"),
            ],
            width=WIDTH,
        )


class Overview(Watch):
    """The overview dashboard (API, every DLQ, the business metrics) and the API's alarms."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        config: DeployConfig,
        topic: sns.ITopic,
        services: Sequence[Service],
    ) -> None:
        super().__init__(scope, construct_id, config=config, topic=topic)
        self.dashboard = cw.Dashboard(self, "Overview", dashboard_name="agora-overview")
        rate = cw.MathExpression(
            expression="100 * errors / MAX([requests, 1])",
            using_metrics={"errors": self.api_metric("5XXError"), "requests": self.api_metric("Count")},
            label="5XX rate (%)",
            period=FIVE_MINUTES,
        )
        self.alarm(
            "Api5xxRate",
            alarm_description=f"More than {SERVER_ERROR_RATE_PCT}% of API requests failed with 5XX",
            metric=rate,
            threshold=SERVER_ERROR_RATE_PCT,
            evaluation_periods=2,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self.alarm(
            "ApiP99Latency",
            alarm_description=f"API p99 latency above {P99_LATENCY_MS} ms",
            metric=self.api_metric("Latency", statistic="p99"),
            threshold=P99_LATENCY_MS,
            evaluation_periods=3,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        widgets: list[cw.IWidget] = [
            self.latency_widget("API latency", self.api_metric("Latency")),
            self.errors_widget("API errors", self.api_metric("4XXError"), self.api_metric("5XXError")),
        ]
        for service in services:
            for consumer in service.consumers:
                depth = cw.Metric(
                    namespace="AWS/SQS",
                    metric_name="ApproximateNumberOfMessagesVisible",
                    dimensions_map={
                        "QueueName": names.dead_letter_queue(self.stage, consumer.function_name_suffix)
                    },
                    statistic="Maximum",
                    period=FIVE_MINUTES,
                )
                widgets.append(
                    cw.SingleValueWidget(title=f"DLQ {consumer.function_id}", metrics=[depth], width=6)
                )
            widgets.extend(self.business_widget(name) for name in service.business_metrics)
        self.dashboard.add_widgets(*widgets)
