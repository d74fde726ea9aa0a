-- Orders with their item snapshots, and what the orders service knows of their payments.
CREATE TABLE IF NOT EXISTS orders (
    id               uuid PRIMARY KEY,
    order_number     varchar(20)   NOT NULL UNIQUE,
    user_id          text          NOT NULL,
    status           varchar(20)   NOT NULL DEFAULT 'pending',
    payment_status   varchar(20)   NOT NULL DEFAULT 'pending',
    subtotal         numeric(12,2) NOT NULL CHECK (subtotal >= 0),
    tax_amount       numeric(12,2) NOT NULL DEFAULT 0,
    shipping_amount  numeric(12,2) NOT NULL DEFAULT 0,
    discount_amount  numeric(12,2) NOT NULL DEFAULT 0,
    total_amount     numeric(12,2) NOT NULL CHECK (total_amount >= 0),
    customer_info    jsonb         NOT NULL,
    shipping_address jsonb         NOT NULL,
    billing_address  jsonb,
    notes            text,
    metadata         jsonb,
    idempotency_key  varchar(255),
    request_hash     char(64),
    created_at       timestamptz   NOT NULL DEFAULT now(),
    updated_at       timestamptz   NOT NULL DEFAULT now(),
    shipped_at       timestamptz,
    delivered_at     timestamptz,
    UNIQUE (user_id, idempotency_key)
);
CREATE INDEX IF NOT EXISTS orders_by_user ON orders (user_id, created_at DESC);
CREATE INDEX IF NOT EXISTS orders_by_status ON orders (status, created_at DESC);

CREATE TABLE IF NOT EXISTS order_items (
    id           uuid PRIMARY KEY,
    order_id     uuid          NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    product_id   bigint        NOT NULL,
    product_name varchar(255)  NOT NULL,
    product_sku  varchar(100),
    unit_price   numeric(12,2) NOT NULL CHECK (unit_price >= 0),
    quantity     integer       NOT NULL CHECK (quantity > 0),
    total_price  numeric(12,2) NOT NULL CHECK (total_price >= 0)
);
CREATE INDEX IF NOT EXISTS order_items_by_order ON order_items (order_id);

CREATE TABLE IF NOT EXISTS order_payments (
    payment_id   uuid PRIMARY KEY,
    order_id     uuid          NOT NULL REFERENCES orders (id) ON DELETE CASCADE,
    amount       numeric(12,2) NOT NULL,
    currency     varchar(3)    NOT NULL,
    status       varchar(20)   NOT NULL,
    method       varchar(20),
    provider     varchar(50),
    updated_at   timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS order_payments_by_order ON order_payments (order_id);
