-- Events written in the same transaction as the change they describe; the relay publishes them.
CREATE TABLE IF NOT EXISTS outbox (
    id           uuid PRIMARY KEY,
    type         text        NOT NULL,
    envelope     jsonb       NOT NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    published_at timestamptz
);
CREATE INDEX IF NOT EXISTS outbox_unpublished ON outbox (created_at) WHERE published_at IS NULL;
