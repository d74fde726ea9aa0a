"""SQS-fed event consumers: partial batch failures and at-most-once handling per event id.

A record whose handling raises is reported back to SQS alone; the queue
redelivers it and, after ``maxReceiveCount`` attempts, moves it to the DLQ.
A redelivered event that was already handled is recognised by its envelope id
(Powertools idempotency, DynamoDB persistence) and not handled twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from functools import cache
from typing import Any

from agora.events import Envelope, envelope_from_detail
from agora.observability import logger, metrics
from agora.settings import settings

EnvelopeHandler = Callable[[Envelope], None]
IDEMPOTENCY_TTL_S = 7 * 24 * 3600


@cache
def _idempotency() -> tuple[Any, Any]:
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer, IdempotencyConfig

    table = settings().idempotency_table
    if not table:
        raise RuntimeError("AGORA_IDEMPOTENCY_TABLE is not set")
    config = IdempotencyConfig(event_key_jmespath="id", expires_after_seconds=IDEMPOTENCY_TTL_S)
    return DynamoDBPersistenceLayer(table_name=table), config


def envelope_of(record: dict[str, Any]) -> Envelope:
    """EventBridge delivers the whole event as the SQS body; our envelope is its ``detail``."""
    return envelope_from_detail(json.loads(record["body"])["detail"])


def consumer(handle: EnvelopeHandler) -> Callable[[dict[str, Any], Any], dict[str, Any]]:
    """Build the Lambda handler of a consumer from a function that handles one envelope."""
    from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
    from aws_lambda_powertools.utilities.idempotency import idempotent_function

    persistence, config = _idempotency()

    @idempotent_function(data_keyword_argument="envelope", config=config, persistence_store=persistence)
    def handle_once(envelope: dict[str, Any]) -> bool:
        handle(Envelope.model_validate(envelope))
        return True

    def on_record(record: Any) -> None:
        envelope = envelope_of(record.raw_event)
        logger().set_correlation_id(envelope.correlation_id)
        handle_once(envelope=envelope.model_dump())

    processor = BatchProcessor(event_type=EventType.SQS)

    @logger().inject_lambda_context(clear_state=True)
    @metrics().log_metrics(capture_cold_start_metric=True)
    def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
        config.register_lambda_context(context)
        response = process_partial_response(
            event=event, record_handler=on_record, processor=processor, context=context
        )
        return dict(response)

    return handler
