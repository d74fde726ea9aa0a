"""Metrics and alarms on LocalStack as on AWS, wired in when the services they touch load.

- ``lambda``: each invocation's logs, as LocalStack stores them in CloudWatch Logs, are also read
  for EMF documents (``emf``), which become metrics through ``PutMetricData`` (``sink``): what
  Lambda's log ingestion does on AWS.
- ``apigateway``: each REST API request yields the ``AWS/ApiGateway`` metrics AWS publishes
  (``api_metrics``).
- ``cloudwatch``: LocalStack's alarm scheduler schedules nothing; ``evaluator`` evaluates every
  metric alarm, single metric or metric math, instead.  ``GetMetricData`` reads a metric with
  exactly the dimensions asked for (LocalStack matched them as a substring, so ``{ApiName, Stage}``
  also summed every per-method metric of the stage) and answers percentiles (``p99``), through
  ``store``.  And ``AWS::CloudWatch::Alarm`` gets the update handler LocalStack lacks (it kept the
  old alarm and logged a warning), so a changed alarm in a redeployed stack changes.

An ``on_infra_start`` hook, so it is active whenever the package is installed; each patch is applied
when its service plugin is about to load (or at once if it already has), so nothing is imported at
start-up.  Work done per invocation or request is queued and done on a background thread.
"""

from __future__ import annotations

import logging
import sys
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from localstack.runtime import hooks
from plux import Plugin, PluginLifecycleListener, PluginSpec

from agora_localstack.metrics import api_metrics, emf
from agora_localstack.metrics.sink import SINK

if TYPE_CHECKING:
    from localstack.utils.patch import Patch

LOG = logging.getLogger(__name__)

_lock = threading.Lock()
_patches: dict[str, list[Patch]] = {}


def _store_logs(original: Callable[..., None], self: Any, invocation_result: Any, execution_env: Any) -> None:
    original(self, invocation_result, execution_env)
    logs = invocation_result.logs
    if logs and '"_aws"' in logs:
        function_id = self.function_version.id
        SINK.submit(
            function_id.account,
            function_id.region,
            lambda: ((datum.namespace, datum.metric_data()) for datum in emf.data_in_logs(logs)),
        )


def _process_with_context(original: Callable[..., None], self: Any, context: Any, response: Any) -> None:
    try:
        original(self, context, response)
    finally:
        try:
            found = api_metrics.request_of(context, int(response.status_code))
        except Exception:
            LOG.exception("Could not read the API request's metrics")
            found = None
        if found is not None:
            account_id, region, request = found
            SINK.submit(account_id, region, lambda: api_metrics.request_metric_data(request))


def _schedule_nothing(original: Callable[..., None], self: Any, alarm_arn: str) -> None:
    # The evaluator decides every alarm; a task of LocalStack's scheduler would contradict it.
    self.delete_scheduler_for_alarm(alarm_arn)


def _metric_data_stat(
    original: Callable[..., dict[str, list[Any]]],
    self: Any,
    account_id: str,
    region: str,
    query: Any,
    start_time: Any,
    end_time: Any,
    scan_by: str | None,
) -> dict[str, list[Any]]:
    from agora_localstack.metrics.store import fetcher

    metric_stat = query["MetricStat"]
    start, end = int(start_time.timestamp()), int(end_time.timestamp())
    series = fetcher(self.METRICS_DB, account_id, region)(metric_stat, start, end, int(metric_stat["Period"]))
    timestamps = sorted(series, reverse=scan_by != "TimestampAscending")
    return {"timestamps": timestamps, "values": [series[t] for t in timestamps]}


def _update_alarm(original: Callable[..., Any], self: Any, request: Any) -> Any:
    """PutMetricAlarm replaces an alarm of the same name: an update is a create under the deployed name
    (AlarmName is create-only, so a new name means a replacement, which the engine handles)."""
    previous = request.previous_state or {}
    if not request.desired_state.get("AlarmName") and previous.get("AlarmName"):
        request.desired_state["AlarmName"] = previous["AlarmName"]
    return self.create(request)


def _patch_lambda() -> list[Patch]:
    from localstack.services.lambda_.invocation.version_manager import LambdaVersionManager
    from localstack.utils.patch import Patch

    return [Patch.function(LambdaVersionManager.store_logs, _store_logs)]


def _patch_apigateway() -> list[Patch]:
    from localstack.services.apigateway.next_gen.execute_api.gateway import RestApiGateway
    from localstack.utils.patch import Patch

    return [Patch.function(RestApiGateway.process_with_context, _process_with_context)]


def _patch_cloudwatch() -> list[Patch]:
    from localstack.services.cloudwatch.alarm_scheduler import AlarmScheduler
    from localstack.services.cloudwatch.cloudwatch_database_helper import CloudwatchDatabase
    from localstack.services.cloudwatch.resource_providers.aws_cloudwatch_alarm import CloudWatchAlarmProvider
    from localstack.utils.patch import Patch

    from agora_localstack.metrics.evaluator import EVALUATOR

    EVALUATOR.start()
    return [
        Patch.function(AlarmScheduler.schedule_metric_alarm, _schedule_nothing),
        Patch.function(CloudwatchDatabase.get_metric_data_stat, _metric_data_stat),
        Patch.function(CloudWatchAlarmProvider.update, _update_alarm),
    ]


_SERVICES: dict[str, tuple[str, Callable[[], list[Patch]]]] = {
    "lambda": ("localstack.services.lambda_.invocation.version_manager", _patch_lambda),
    "apigateway": ("localstack.services.apigateway.next_gen.execute_api.gateway", _patch_apigateway),
    "cloudwatch": ("localstack.services.cloudwatch.provider_v2", _patch_cloudwatch),
}


def apply(service: str) -> None:
    with _lock:
        if service in _patches:
            return
        try:
            patches = _SERVICES[service][1]()
        except Exception:
            LOG.exception("Could not wire metrics into %s", service)
            _patches[service] = []
            return
        for patch in patches:
            patch.apply()
        _patches[service] = patches


class _PatchWhenServicesLoad(PluginLifecycleListener):
    def on_load_before(
        self, plugin_spec: PluginSpec, plugin: Plugin, load_args: list | tuple, load_kwargs: dict
    ) -> None:
        service = plugin_spec.name.partition(":")[0]
        if service in _SERVICES:
            apply(service)


@hooks.on_infra_start()
def publish_metrics() -> None:
    from localstack.services.plugins import SERVICE_PLUGINS

    SERVICE_PLUGINS.plugin_manager.add_listener(_PatchWhenServicesLoad())
    for service, (module, _) in _SERVICES.items():
        if module in sys.modules:  # loaded before this hook ran (eager service loading)
            apply(service)
