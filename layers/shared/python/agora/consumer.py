"""SQS-fed event consumers: partial batch failures and at-most-once handling per event id.

A record whose handling raises is reported back to SQS alone; the queue
redelivers it and, after ``maxReceiveCount`` attempts, moves it to the DLQ.  A failed record
comes back after a back-off (5 s, doubling with each receive, at most 60 s: ``retry_delay_s``)
instead of the queue's visibility timeout (six times the function's): events held up by an
outage are applied seconds after it ends, and the DLQ is reached by time, not by a burst of
attempts: with ``maxReceiveCount`` 8 (``agora.operations.Consumer``) a record fails for about
four minutes first (5 + 10 + 20 + 40 + 60 + 60 + 60 s), longer than an ordinary restart.
A redelivered event that was already handled is recognised by its envelope id
(Powertools idempotency, DynamoDB persistence) and not handled twice.

An event is believed only from the service that owns its type (``agora.identity.owner_of``):
the ``source`` EventBridge vouches for (IAM lets each service put only its own) must be the
envelope's, and the owner of its type.  Anything else is forged: it is logged, counted
(``ForgedEvents``, dimension ``service``), acknowledged so that it does not come back, and not applied.

Tracing (``agora.tracing``): each record is handled in a span that *continues* the trace of
its event (``Envelope.trace``, the publisher's span), so a checkout's trace holds the consumers
its events reached, as a request's holds the functions it called.  The invocation (a batch,
perhaps of events from many traces) has a span of its own in the Lambda's trace; it and each
record's span are linked both ways, as X-Ray links an asynchronous hop.  Every log line of a
record carries the event's correlation id.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from agora.deadline import invocation
from agora.events import Envelope, envelope_from_detail
from agora.faults import fault_point
from agora.identity import owner_of
from agora.observability import METRICS_NAMESPACE, logger, metrics, service_name
from agora.settings import settings

EnvelopeHandler = Callable[[Envelope], None]
IDEMPOTENCY_TTL_S = 7 * 24 * 3600


def retry_delay_s(receive_count: int) -> int:
    """How long a failed record stays invisible before its next receive
    (``AGORA_CONSUMER_RETRY_FIRST_S``, doubling, at most ``AGORA_CONSUMER_RETRY_MAX_S``)."""
    cfg = settings()
    return int(min(cfg.consumer_retry_first_s * 2 ** max(receive_count - 1, 0), cfg.consumer_retry_max_s))


def retry_soon(record: dict[str, Any]) -> None:
    """Bring a failed record back after ``retry_delay_s`` rather than the queue's visibility timeout.
    Best effort: if SQS refuses, the record simply comes back later."""
    from botocore.exceptions import BotoCoreError, ClientError

    from agora.aws import client

    _, _, _, region, account, queue = str(record["eventSourceARN"]).split(":", 5)
    count = int(record.get("attributes", {}).get("ApproximateReceiveCount", "1"))
    try:
        sqs = client("sqs", region_name=region)
        url = sqs.get_queue_url(QueueName=queue, QueueOwnerAWSAccountId=account)["QueueUrl"]
        sqs.change_message_visibility(
            QueueUrl=url, ReceiptHandle=record["receiptHandle"], VisibilityTimeout=retry_delay_s(count)
        )
    except (BotoCoreError, ClientError) as exc:  # the queue's own timeout still brings it back
        logger().warning("could not shorten a failed record's wait", extra={"error": type(exc).__name__})


@cache
def _idempotency() -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    from agora.tracing import instrument_botocore

    table = settings().idempotency_table
    if not table:
        raise RuntimeError("AGORA_IDEMPOTENCY_TABLE is not set")
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_TTL_S)
    persistence = DynamoDBPersistenceLayer(table_name=table)
    # Its reads and writes of the idempotency table show in the record's span.
    instrument_botocore(persistence.client)
    return persistence, config


def envelope_of(record: dict[str, Any]) -> Envelope:
    """EventBridge delivers the whole event as the SQS body; our envelope is its ``detail``."""
    return envelope_from_detail(json.loads(record["body"])["detail"])


def forgery(event: dict[str, Any], envelope: Envelope) -> str | None:
    """Why the event cannot be believed, or None: its source must own its type, on the bus and inside."""
    owner = owner_of(envelope.type)
    if owner is None:
        return f"no service owns {envelope.type} events"
    if event.get("source") != envelope.source or event.get("detail-type") != envelope.type:
        return "the envelope does not match the event the bus delivered"
    if envelope.source != owner:
        return f"{envelope.source} does not own {envelope.type} (only {owner} does)"
    return None


def refuse_forged(event: dict[str, Any], envelope: Envelope, reason: str) -> None:
    from aws_lambda_powertools.metrics import MetricUnit, single_metric

    logger().warning(
        "forged event refused",
        extra={
            "event_id": envelope.id,
            "event_type": envelope.type,
            "envelope_source": envelope.source,
            "bus_source": event.get("source"),
            "reason": reason,
        },
    )
    with single_metric(
        name="ForgedEvents",
        unit=MetricUnit.Count,
        value=1,
        namespace=METRICS_NAMESPACE,
        default_dimensions={"service": service_name()},
    ):
        pass


def consumer(handle: EnvelopeHandler) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Build the Lambda handler of a consumer from a function that handles one envelope."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.idempotency import idempotent_function

    persistence, config = _idempotency()
    # A handler module is named after its consumer: orders.handlers.payment_events.
    module = handle.__module__.split(".")
    name = f"{module[0]}.{module[-1]}"

    @idempotent_function(  # type: ignore[untyped-decorator]  # Powertools' decorator is untyped
        data_keyword_argument="envelope", config=config, persistence_store=persistence
    )
    def handle_once(envelope: dict[str, Any]) -> bool:
        handle(Envelope.model_validate(envelope))
        # The effect is done and Powertools has not yet recorded it: the window a redelivery must cover.
        fault_point("agora.consumer.after_effect")
        return True

    def on_record(record: Any) -> None:
        from agora.tracing import continued_span, link_current_to, link_to

        event = json.loads(record.raw_event["body"])
        envelope = envelope_from_detail(event["detail"])
        logger().set_correlation_id(envelope.correlation_id)
        # The batch's span names every trace its records belong to.
        link_current_to(link_to(envelope.trace, **{"agora.link": "event"}))
        attributes = {"operation": name, "event_id": envelope.id, "event_type": envelope.type}
        title = f"{name} {envelope.type}"
        with continued_span(title, envelope.trace, kind="consumer", **attributes) as (span, _):
            reason = forgery(event, envelope)
            if reason is not None:
                span.set_attribute("forged", reason)
                refuse_forged(event, envelope, reason)
                return  # acknowledged: a redelivery would be just as forged
            try:
                handle_once(envelope=envelope.model_dump())
            except Exception:
                retry_soon(record.raw_event)
                raise
        logger().info("event handled", extra={"event_id": envelope.id, "event_type": envelope.type})

    processor = BatchProcessor(event_type=EventType.SQS)

    @logger().inject_lambda_context(clear_state=True)
    @metrics().log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        from agora.tracing import invocation_span

        config.register_lambda_context(context)
        records = len(event.get("Records") or []) if isinstance(event, dict) else 0
        with (
            invocation(context),
            invocation_span(
                f"{name} batch", operation=name, attributes={"messaging.batch.message_count": records}
            ),
        ):
            response = process_partial_response(
                event=event, record_handler=on_record, processor=processor, context=context
            )
        return dict(response)

    decorated: Callable[[dict[str, Any], Any], dict[str, Any]] = handler  # Powertools' wrappers are untyped
    return decorated
