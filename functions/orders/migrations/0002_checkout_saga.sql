-- The checkout saga: an order is recorded (status 'reserving', with the lines asked for) before any
-- stock is touched, becomes 'pending' once reserved, or 'failed' when abandoned. Payments are followed
-- by their own sequence, so an older event never undoes a newer state.
ALTER TABLE orders ADD COLUMN IF NOT EXISTS requested_items jsonb;
ALTER TABLE orders ADD COLUMN IF NOT EXISTS cancel_reason text;
ALTER TABLE order_payments ADD COLUMN IF NOT EXISTS sequence bigint NOT NULL DEFAULT 0;
CREATE INDEX IF NOT EXISTS orders_reserving ON orders (created_at) WHERE status = 'reserving';
CREATE INDEX IF NOT EXISTS orders_awaiting_payment ON orders (created_at) WHERE status = 'pending';
