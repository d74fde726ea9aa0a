"""The domain event bus (platform stack) and, per consumer, a rule -> SQS queue (with DLQ) -> Lambda
subscription (the consumer's service stack, on the bus found by its name)."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as sources
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from agora.identity import EVENT_OWNERS, owner_of
from agora.operations import Consumer
from stacks import names

BUS_NAME = "agora"
SOURCE_PREFIX = "agora."


def patterns_of(consumer: Consumer) -> list[tuple[tuple[str, ...], tuple[str, ...]]]:
    """What a consumer's rules match: (sources, event types), one rule each; no types: any type.

    A type matches only from the service that owns it, and one rule per owner keeps a source from
    matching another owner's types.  The audit trail (``*``) takes every owner's events in one rule.
    """
    if consumer.all_events:
        return [(tuple(sorted(set(EVENT_OWNERS.values()))), ())]
    by_source: dict[str, tuple[str, ...]] = {}
    for event_type in consumer.event_types:
        source = owner_of(event_type)
        if source is None:
            raise ValueError(f"{consumer.service}.{consumer.id}: no service owns {event_type} events")
        by_source[source] = (*by_source.get(source, ()), event_type)
    return [((source,), types) for source, types in by_source.items()]


class DomainEventBus(Construct):
    def __init__(self, scope: Construct, construct_id: str, *, archive_days: int) -> None:
        super().__init__(scope, construct_id)
        self.bus = events.EventBus(self, "Bus", event_bus_name=BUS_NAME)
        self.bus.archive(
            "Archive",
            archive_name=f"{BUS_NAME}-domain-events",
            description="Every Agora domain event, for replay",
            event_pattern=events.EventPattern(source=events.Match.prefix(SOURCE_PREFIX)),
            retention=cdk.Duration.days(archive_days),
        )


class Subscription(Construct):
    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        bus: events.IEventBus,
        consumer: Consumer,
        function: lambda_.IFunction,
        stage: str,
        max_concurrency: int | None = None,
    ) -> None:
        """``max_concurrency``: at most this many batches at once (the consumer's reserved concurrency on
        AWS), so that Lambda polls no batch the function may not run: a throttled batch would go back
        to its queue and count towards the DLQ."""
        super().__init__(scope, construct_id)
        self.consumer = consumer
        self.dead_letters = sqs.Queue(
            self,
            "Dlq",
            # Named: the overview dashboard (another stack) shows every DLQ's depth by its name.
            queue_name=names.dead_letter_queue(stage, consumer.function_name_suffix),
            retention_period=cdk.Duration.days(14),
            enforce_ssl=True,
        )
        self.queue = sqs.Queue(
            self,
            "Queue",
            # Six times the function timeout, as AWS recommends for SQS event sources.
            visibility_timeout=cdk.Duration.seconds(6 * consumer.timeout_s),
            dead_letter_queue=sqs.DeadLetterQueue(
                queue=self.dead_letters, max_receive_count=consumer.max_receive_count
            ),
            enforce_ssl=True,
        )
        self.rules = [
            events.Rule(
                self,
                "Rule" if index == 0 else f"Rule{sources[0].removeprefix(SOURCE_PREFIX).title()}",
                event_bus=bus,
                description=f"{consumer.service}.{consumer.id}: {', '.join(types or ('*',))} "
                f"from {', '.join(sources)}",
                event_pattern=events.EventPattern(source=list(sources), detail_type=list(types) or None),
                targets=[targets.SqsQueue(self.queue)],
            )
            for index, (sources, types) in enumerate(patterns_of(consumer))
        ]
        function.add_event_source(
            sources.SqsEventSource(
                self.queue,
                batch_size=consumer.batch_size,
                report_batch_item_failures=True,
                max_concurrency=max_concurrency,
            )
        )
