"""Dashboards (one per service and an overview) and alarms on every failure path, sent to one topic."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk import aws_sns_subscriptions as subscriptions
from constructs import Construct

from agora.observability import METRICS_NAMESPACE
from agora.operations import Service
from stacks.constructs.event_bus import Subscription

FIVE_MINUTES = cdk.Duration.minutes(5)
P99_LATENCY_MS = 2000
SERVER_ERROR_RATE_PCT = 1
WIDTH = 12
MAX_METRICS_PER_ALARM = 10


class Monitoring(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        api: apigw.RestApi,
        alarm_email: str | None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.api = api
        self.topic = sns.Topic(self, "Alarms", display_name="Agora alarms")
        if alarm_email:
            self.topic.add_subscription(subscriptions.EmailSubscription(alarm_email))
        self._action = cw_actions.SnsAction(self.topic)
        self.alarms: list[cw.Alarm] = []
        self._forged: dict[str, cw.Metric] = {}
        self.overview = cw.Dashboard(self, "Overview", dashboard_name="agora-overview")
        self._api_alarms()
        self._overview_widgets: list[cw.IWidget] = [
            self._latency_widget("API latency", self._api_metric("Latency")),
            self._errors_widget("API errors", self._api_metric("4XXError"), self._api_metric("5XXError")),
        ]

    def _api_metric(self, name: str, statistic: str = "Sum", **extra: str) -> cw.Metric:
        return cw.Metric(
            namespace="AWS/ApiGateway",
            metric_name=name,
            dimensions_map={
                "ApiName": self.api.rest_api_name,
                "Stage": self.api.deployment_stage.stage_name,
                **extra,
            },
            statistic=statistic,
            period=FIVE_MINUTES,
        )

    def _alarm(self, construct_id: str, **props: object) -> cw.Alarm:
        alarm = cw.Alarm(self, construct_id, treat_missing_data=cw.TreatMissingData.NOT_BREACHING, **props)  # type: ignore[arg-type]
        alarm.add_alarm_action(self._action)
        self.alarms.append(alarm)
        return alarm

    def _api_alarms(self) -> None:
        rate = cw.MathExpression(
            expression="100 * errors / MAX([requests, 1])",
            using_metrics={"errors": self._api_metric("5XXError"), "requests": self._api_metric("Count")},
            label="5XX rate (%)",
            period=FIVE_MINUTES,
        )
        self._alarm(
            "Api5xxRate",
            alarm_description=f"More than {SERVER_ERROR_RATE_PCT}% of API requests failed with 5XX",
            metric=rate,
            threshold=SERVER_ERROR_RATE_PCT,
            evaluation_periods=2,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        self._alarm(
            "ApiP99Latency",
            alarm_description=f"API p99 latency above {P99_LATENCY_MS} ms",
            metric=self._api_metric("Latency", statistic="p99"),
            threshold=P99_LATENCY_MS,
            evaluation_periods=3,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def add_service(
        self,
        service: Service,
        functions: Sequence[lambda_.Function],
        subscriptions: Sequence[Subscription],
    ) -> cw.Dashboard:
        dashboard = cw.Dashboard(
            self, f"{service.name.title()}Dashboard", dashboard_name=f"agora-{service.name}"
        )
        widgets: list[cw.IWidget] = []
        for op in service.operations:
            extra = {"Resource": op.path, "Method": op.method}
            widgets.append(
                self._latency_widget(f"{op.method} {op.path}", self._api_metric("Latency", **extra))
            )
            widgets.append(
                self._errors_widget(
                    f"{op.method} {op.path} errors",
                    self._api_metric("4XXError", **extra),
                    self._api_metric("5XXError", **extra),
                )
            )
        for fn in functions:
            widgets.append(self._function_widget(fn))
        self._function_alarms(service, functions)
        for sub in subscriptions:
            depth = sub.dead_letters.metric_approximate_number_of_messages_visible(
                period=FIVE_MINUTES, statistic="Maximum"
            )
            widgets.append(cw.GraphWidget(title=f"DLQ depth: {sub.consumer.id}", left=[depth], width=WIDTH))
            self._alarm(
                f"{sub.consumer.function_id}DlqDepth",
                alarm_description=f"Events of {sub.consumer.service}.{sub.consumer.id} reached the DLQ",
                metric=depth,
                threshold=0,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
            )
            self._overview_widgets.append(
                cw.SingleValueWidget(title=f"DLQ {sub.consumer.function_id}", metrics=[depth], width=6)
            )
        if service.uses_postgres:
            widgets.append(self._outbox_parked(service))
        if service.consumers:
            widgets.append(self._forged_events(service))
        for name in service.business_metrics:
            widgets.append(self._business_widget(name))
            self._overview_widgets.append(self._business_widget(name))
        dashboard.add_widgets(*widgets)
        return dashboard

    def _outbox_parked(self, service: Service) -> cw.GraphWidget:
        """Events the relay gave up on: they wait for an operator, so one is already too many."""
        parked = cw.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="OutboxParked",
            dimensions_map={"service": service.name},
            statistic="Sum",
            period=FIVE_MINUTES,
        )
        self._alarm(
            f"{service.name.title()}OutboxParked",
            alarm_description=f"{service.name} outbox rows were parked: EventBridge kept refusing them",
            metric=parked,
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )
        return cw.GraphWidget(title=f"{service.name} outbox rows parked", left=[parked], width=WIDTH)

    def _forged_events(self, service: Service) -> cw.GraphWidget:
        forged = cw.Metric(
            namespace=METRICS_NAMESPACE,
            metric_name="ForgedEvents",
            dimensions_map={"service": service.name},
            statistic="Sum",
            period=FIVE_MINUTES,
        )
        self._forged[service.name] = forged
        return cw.GraphWidget(title=f"{service.name} forged events refused", left=[forged], width=WIDTH)

    def _forged_events_alarm(self) -> None:
        """Events refused because their source does not own their type: a bug or an attack, never noise."""
        if not self._forged:
            return
        metrics = {f"s{i}": metric for i, metric in enumerate(self._forged.values())}
        self._alarm(
            "ForgedEvents",
            alarm_description=f"consumers refused events whose source does not own them "
            f"({', '.join(self._forged)})",
            metric=cw.MathExpression(
                expression=" + ".join(metrics),
                using_metrics=metrics,
                label="forged events",
                period=FIVE_MINUTES,
            ),
            threshold=0,
            evaluation_periods=1,
            comparison_operator=cw.ComparisonOperator.GREATER_THAN_THRESHOLD,
        )

    def finish(self) -> None:
        """Lay out the overview once every service has added its widgets."""
        self._forged_events_alarm()
        self.overview.add_widgets(*self._overview_widgets)

    def _function_alarms(self, service: Service, functions: Sequence[lambda_.Function]) -> None:
        """Errors and throttles of every function, summed per service in groups of ten
        (the most metrics one alarm's math may use)."""
        groups = [
            functions[i : i + MAX_METRICS_PER_ALARM] for i in range(0, len(functions), MAX_METRICS_PER_ALARM)
        ]
        for index, group in enumerate(groups, start=1):
            suffix = f"{service.name.title()}{index}"
            for kind, metric_of in (("Errors", "metric_errors"), ("Throttles", "metric_throttles")):
                metrics = {
                    f"f{i}": getattr(fn, metric_of)(period=FIVE_MINUTES, statistic="Sum")
                    for i, fn in enumerate(group)
                }
                self._alarm(
                    f"{suffix}Function{kind}",
                    alarm_description=f"{service.name} functions: {kind.lower()} "
                    f"(group {index} of {len(groups)}: {', '.join(fn.node.id for fn in group)})",
                    metric=cw.MathExpression(
                        expression=" + ".join(metrics),
                        using_metrics=metrics,
                        label=f"{service.name} {kind.lower()}",
                        period=FIVE_MINUTES,
                    ),
                    threshold=1,
                    evaluation_periods=1,
                    comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                )

    @staticmethod
    def _latency_widget(title: str, latency: cw.Metric) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=title,
            left=[latency.with_(statistic="p50", label="p50"), latency.with_(statistic="p99", label="p99")],
            width=WIDTH,
        )

    @staticmethod
    def _errors_widget(title: str, client: cw.Metric, server: cw.Metric) -> cw.GraphWidget:
        return cw.GraphWidget(
            title=title, left=[client.with_(label="4XX"), server.with_(label="5XX")], width=WIDTH
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

    @staticmethod
    def _business_widget(name: str) -> cw.GraphWidget:
        search = cw.MathExpression(
            expression=f"SEARCH('{{Agora}} MetricName=\"{name}\"', 'Sum', 300)",
            label=name,
            period=FIVE_MINUTES,
        )
        return cw.GraphWidget(title=name, left=[search], width=WIDTH)
