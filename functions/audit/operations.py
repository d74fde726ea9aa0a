"""The audit trail listens to every Agora domain event; it serves no HTTP route."""

from agora.operations import CONSUMER_CONCURRENCY, Handlers, Service
from audit.domain.business import NAMES as BUSINESS

AUDIT = Handlers("audit")

SERVICE = Service(
    name="audit",
    rate_limit=None,
    route_prefixes=(),
    business_metrics=("DomainEvents", *BUSINESS),
    consumers=(
        AUDIT.consumer(
            "record_event",
            ("*",),
            "Log each domain event once and count it by type",
            memory_mb=256,
            # A replay of the archive (every event) drains five batches at a time, not at the API's expense.
            reserved_concurrency=CONSUMER_CONCURRENCY,
        ),
    ),
)
