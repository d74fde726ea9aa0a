-- Per-row delivery: rows publish in insertion order per aggregate, count refusals, and are parked
-- (set aside, alarmed) when the bus keeps refusing them, so one bad row never holds the others back.
ALTER TABLE outbox
    -- The entity whose events must go out in order; computed by the server, so every writer agrees.
    ADD COLUMN IF NOT EXISTS aggregate text GENERATED ALWAYS AS (
        coalesce(
            envelope -> 'data' ->> 'order_id',
            envelope -> 'data' ->> 'payment_id',
            envelope -> 'data' ->> 'product_id',
            envelope -> 'data' ->> 'user_id',
            id::text
        )
    ) STORED,
    -- Insertion order: created_at is the transaction's start, which ties within one transaction
    -- and can run backwards between two that waited on the same lock.
    ADD COLUMN IF NOT EXISTS seq bigint GENERATED ALWAYS AS IDENTITY,
    ADD COLUMN IF NOT EXISTS attempts int NOT NULL DEFAULT 0,
    ADD COLUMN IF NOT EXISTS last_error text,
    ADD COLUMN IF NOT EXISTS parked_at timestamptz,
    ADD COLUMN IF NOT EXISTS park_reason text;

DROP INDEX IF EXISTS outbox_unpublished;
CREATE INDEX IF NOT EXISTS outbox_pending ON outbox (seq) WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_pending_by_aggregate ON outbox (aggregate, seq)
    WHERE published_at IS NULL AND parked_at IS NULL;
CREATE INDEX IF NOT EXISTS outbox_parked ON outbox (parked_at) WHERE parked_at IS NOT NULL;
