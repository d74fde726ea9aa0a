-- A payment completes only on the provider's word; refunds are intents recorded before the provider is
-- asked; cancelled orders are remembered so that no payment keeps money for one.

-- Whatever id the client sent with its confirmation: a reference, never the provider's id.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS client_reference varchar(255);
-- Refunds reserved (requested) and not yet settled at the provider.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS refund_pending numeric(12,2) NOT NULL DEFAULT 0
    CHECK (refund_pending >= 0);

-- Confirmations used to write the client's id over the provider's: that id becomes the client's
-- reference, and the payment gets an intent id of its own (the simulated provider adopts it in 0004).
UPDATE payments
SET client_reference = provider_transaction_id,
    provider_transaction_id = 'pi_legacy_' || replace(id::text, '-', '')
WHERE provider_transaction_id IS NOT NULL AND provider_transaction_id NOT LIKE 'pi\_%';
UPDATE payments p
SET provider_transaction_id = 'pi_legacy_' || replace(p.id::text, '-', '')
WHERE p.provider_transaction_id IS NULL
   OR EXISTS (SELECT 1 FROM payments o
              WHERE o.provider_transaction_id = p.provider_transaction_id AND o.id <> p.id);
CREATE UNIQUE INDEX IF NOT EXISTS payments_by_intent ON payments (provider_transaction_id)
    WHERE provider_transaction_id IS NOT NULL;

-- One live payment per order, where live now also counts a creation under way and no longer counts a
-- completed payment whose whole amount is refunded or on its way back (a late success of an unwanted
-- payment is recorded, then refunded in the same transaction).
DROP INDEX IF EXISTS payments_one_live_per_order;
CREATE UNIQUE INDEX IF NOT EXISTS payments_one_live_per_order_v2 ON payments (order_id)
    WHERE status IN ('creating', 'pending', 'processing')
       OR (status = 'completed' AND refunded_amount + refund_pending < amount);
CREATE INDEX IF NOT EXISTS payments_creating ON payments (created_at) WHERE status = 'creating';

-- Refunds: requested -> succeeded | failed.  Rows from before were made at the provider at once.
ALTER TABLE refunds
    ADD COLUMN IF NOT EXISTS state varchar(20) NOT NULL DEFAULT 'succeeded',
    ADD COLUMN IF NOT EXISTS origin varchar(20) NOT NULL DEFAULT 'request',
    ADD COLUMN IF NOT EXISTS requested_by text,
    ADD COLUMN IF NOT EXISTS idempotency_key varchar(255),
    ADD COLUMN IF NOT EXISTS request_hash char(64),
    ADD COLUMN IF NOT EXISTS provider_refund_id varchar(255),
    ADD COLUMN IF NOT EXISTS failure_reason text,
    ADD COLUMN IF NOT EXISTS response jsonb,
    ADD COLUMN IF NOT EXISTS updated_at timestamptz NOT NULL DEFAULT now(),
    ADD COLUMN IF NOT EXISTS settled_at timestamptz;
UPDATE refunds SET settled_at = created_at, updated_at = created_at WHERE settled_at IS NULL;
-- The defaults only upgraded the old rows: every new refund says what it is.
ALTER TABLE refunds ALTER COLUMN state DROP DEFAULT, ALTER COLUMN origin DROP DEFAULT;
ALTER TABLE refunds
    ADD CONSTRAINT refunds_state CHECK (state IN ('requested', 'succeeded', 'failed')),
    ADD CONSTRAINT refunds_origin CHECK (origin IN ('request', 'order_cancelled', 'unwanted', 'provider'));
CREATE UNIQUE INDEX IF NOT EXISTS refunds_by_provider_id ON refunds (provider_refund_id)
    WHERE provider_refund_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS refunds_by_payment ON refunds (payment_id, created_at);
CREATE INDEX IF NOT EXISTS refunds_requested ON refunds (created_at) WHERE state = 'requested';

-- Orders the orders service announced as cancelled (order.cancelled): no payment keeps money for them.
CREATE TABLE IF NOT EXISTS cancelled_orders (
    order_id    uuid PRIMARY KEY,
    reason      text,
    event_id    uuid,
    recorded_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS cancelled_orders_by_time ON cancelled_orders (recorded_at);
