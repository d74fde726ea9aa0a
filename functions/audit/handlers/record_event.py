"""Consumer of every domain event: one structured log line, one ``DomainEvents`` count per type, and
the business figures the event yields (``audit.domain.business``)."""

from aws_lambda_powertools.metrics import MetricUnit, single_metric

from agora.consumer import consumer
from agora.events import Envelope
from agora.observability import METRICS_NAMESPACE, logger, metrics
from audit.domain.business import figures


def record(envelope: Envelope) -> None:
    entity = envelope.type.split(".", 1)[0]
    logger().info(
        "domain event",
        extra={
            "event_id": envelope.id,
            "event_type": envelope.type,
            "event_source": envelope.source,
            # The id of what the event is about (user_id of user.*, order_id of order.*), never its data.
            "subject": envelope.data.get(f"{entity}_id"),
        },
    )
    with single_metric(
        name="DomainEvents", unit=MetricUnit.Count, value=1, namespace=METRICS_NAMESPACE
    ) as metric:
        metric.add_dimension(name="type", value=envelope.type)
    for figure in figures(envelope.type, envelope.data):
        metrics().add_metric(name=figure.name, unit=figure.unit, value=figure.value)


handler = consumer(record)
