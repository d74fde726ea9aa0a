"""The audit trail listens to every Agora domain event; it serves no HTTP route."""

from agora.operations import CONSUMER_CONCURRENCY, Consumer, Service
from audit.domain.business import NAMES as BUSINESS

SERVICE = Service(
    name="audit",
    rate_limit=None,
    route_prefixes=(),
    business_metrics=("DomainEvents", *BUSINESS),
    consumers=(
        Consumer(
            service="audit",
            id="record_event",
            handler="audit.handlers.record_event.handler",
            event_types=("*",),
            memory_mb=256,
            description="Log each domain event once and count it by type",
            # A replay of the archive (every event) drains five batches at a time, not at the API's expense.
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
)
