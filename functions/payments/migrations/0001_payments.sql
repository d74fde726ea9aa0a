-- Payments, their refunds, and the guard against paying an order twice at once.
CREATE TABLE IF NOT EXISTS payments (
    id                      uuid PRIMARY KEY,
    order_id                uuid          NOT NULL,
    user_id                 text          NOT NULL,
    amount                  numeric(12,2) NOT NULL CHECK (amount > 0),
    currency                char(3)       NOT NULL,
    status                  varchar(20)   NOT NULL,
    method                  varchar(20)   NOT NULL,
    provider                varchar(50)   NOT NULL,
    provider_transaction_id varchar(255),
    description             text,
    failure_reason          text,
    metadata                jsonb,
    refunded_amount         numeric(12,2) NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0 AND refunded_amount <= amount),
    idempotency_key         varchar(255),
    request_hash            char(64),
    created_at              timestamptz   NOT NULL DEFAULT now(),
    updated_at              timestamptz   NOT NULL DEFAULT now(),
    processed_at            timestamptz,
    refunded_at             timestamptz,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS payments_by_order ON payments (order_id, created_at);
-- At most one live payment per order: two concurrent attempts cannot both take the money.
CREATE UNIQUE INDEX IF NOT EXISTS payments_one_live_per_order ON payments (order_id)
    WHERE status IN ('pending', 'processing', 'completed');

CREATE TABLE IF NOT EXISTS refunds (
    id         uuid PRIMARY KEY,
    payment_id uuid          NOT NULL REFERENCES payments (id),
    amount     numeric(12,2) NOT NULL CHECK (amount > 0),
    reason     text,
    created_at timestamptz   NOT NULL DEFAULT now()
);
