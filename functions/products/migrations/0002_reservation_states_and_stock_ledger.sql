-- Reservations get an explicit state per order; every change of stock is written in a ledger.
-- Existing rows are upgraded in place, so the audit's invariants hold on a database made by 0001.

-- One header per order: held (taken for an order not yet live), committed (the order is live),
-- released (given back, or a tombstone written before any reserve arrived), expired (given back by the sweep).
CREATE TABLE reservations (
    order_id   text        PRIMARY KEY,
    state      text        NOT NULL CHECK (state IN ('held', 'committed', 'released', 'expired')),
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX reservations_held ON reservations (created_at, order_id) WHERE state = 'held';

-- Reservations made before the saga belong to stored orders: unreleased ones are committed.
INSERT INTO reservations (order_id, state, created_at, updated_at)
SELECT order_id,
       CASE WHEN bool_or(released_at IS NULL) THEN 'committed' ELSE 'released' END,
       min(reserved_at),
       greatest(max(reserved_at), max(released_at))
FROM stock_reservations
GROUP BY order_id;

-- Every change of stock_quantity, with why; the sum of a product's deltas is its stock.
CREATE TABLE stock_ledger (
    id         bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint      NOT NULL REFERENCES products (id),
    delta      integer     NOT NULL,
    reason     text        NOT NULL CHECK (reason IN ('initial', 'adjustment', 'reservation', 'release', 'expiry')),
    order_id   text,
    created_at timestamptz NOT NULL DEFAULT now(),
    CHECK (delta <> 0 OR reason = 'initial'),
    CHECK ((order_id IS NOT NULL) = (reason IN ('reservation', 'release', 'expiry')))
);
CREATE INDEX stock_ledger_product ON stock_ledger (product_id);
CREATE INDEX stock_ledger_order ON stock_ledger (order_id) WHERE order_id IS NOT NULL;

-- What each product started with: today's stock plus what unreleased reservations still hold.
INSERT INTO stock_ledger (product_id, delta, reason, created_at)
SELECT p.id,
       p.stock_quantity + coalesce(sum(r.quantity) FILTER (WHERE r.released_at IS NULL), 0),
       'initial',
       p.created_at
FROM products p
LEFT JOIN stock_reservations r ON r.product_id = p.id
GROUP BY p.id;

INSERT INTO stock_ledger (product_id, delta, reason, order_id, created_at)
SELECT product_id, -quantity, 'reservation', order_id, reserved_at
FROM stock_reservations
WHERE released_at IS NULL;

-- A line keeps what the reserve answered (name, sku, price), so a replay answers the same.
ALTER TABLE stock_reservations
    ADD COLUMN name       varchar(255),
    ADD COLUMN sku        varchar(100),
    ADD COLUMN unit_price numeric(12,2);
UPDATE stock_reservations r SET name = p.name, sku = p.sku, unit_price = p.price
FROM products p WHERE p.id = r.product_id;
ALTER TABLE stock_reservations
    ALTER COLUMN name SET NOT NULL,
    ALTER COLUMN unit_price SET NOT NULL,
    -- The header's state says whether a line is given back; a second flag could disagree with it.
    DROP COLUMN released_at,
    ADD CONSTRAINT stock_reservations_header FOREIGN KEY (order_id) REFERENCES reservations (order_id);

-- Idempotency keys of admin stock adjustments: the answer recorded in the adjustment's transaction.
CREATE TABLE stock_adjustments (
    user_id         text        NOT NULL,
    product_id      bigint      NOT NULL REFERENCES products (id),
    idempotency_key text        NOT NULL,
    delta           integer     NOT NULL,
    stock_quantity  integer     NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (user_id, product_id, idempotency_key)
);
