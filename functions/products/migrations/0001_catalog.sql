-- The catalog, its reviews and the stock reserved by orders.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

CREATE TABLE IF NOT EXISTS products (
    id             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    name           varchar(255)  NOT NULL CHECK (btrim(name) <> ''),
    description    text          NOT NULL CHECK (char_length(description) <= 2000),
    price          numeric(12,2) NOT NULL CHECK (price > 0),
    category       varchar(100)  NOT NULL CHECK (btrim(category) <> ''),
    stock_quantity integer       NOT NULL DEFAULT 0 CHECK (stock_quantity >= 0),
    brand          varchar(50),
    sku            varchar(100)  UNIQUE,
    images         jsonb         NOT NULL DEFAULT '[]'::jsonb,
    average_rating numeric(3,2)  NOT NULL DEFAULT 0 CHECK (average_rating BETWEEN 0 AND 5),
    review_count   integer       NOT NULL DEFAULT 0 CHECK (review_count >= 0),
    active         boolean       NOT NULL DEFAULT true,
    created_at     timestamptz   NOT NULL DEFAULT now(),
    updated_at     timestamptz   NOT NULL DEFAULT now(),
    -- What `search` matches, lower-cased once, behind a trigram index (substring search without a scan).
    search_text    text GENERATED ALWAYS AS (lower(name || ' ' || description)) STORED
);
CREATE INDEX IF NOT EXISTS products_search ON products USING gin (search_text gin_trgm_ops);
CREATE INDEX IF NOT EXISTS products_category ON products (category) WHERE active;
CREATE INDEX IF NOT EXISTS products_brand ON products (brand) WHERE active;
CREATE INDEX IF NOT EXISTS products_price ON products (price) WHERE active;
CREATE INDEX IF NOT EXISTS products_newest ON products (created_at DESC, id DESC) WHERE active;
CREATE INDEX IF NOT EXISTS products_rating ON products (average_rating DESC, review_count DESC) WHERE active;

CREATE TABLE IF NOT EXISTS reviews (
    id         bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    product_id bigint   NOT NULL REFERENCES products (id),
    user_id    text     NOT NULL,
    rating     smallint NOT NULL CHECK (rating BETWEEN 1 AND 5),
    comment    text     CHECK (char_length(comment) <= 2000),
    created_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (product_id, user_id)
);

-- One row per product of an order's reservation; released_at set once when it is given back.
CREATE TABLE IF NOT EXISTS stock_reservations (
    order_id    text    NOT NULL,
    product_id  bigint  NOT NULL REFERENCES products (id),
    quantity    integer NOT NULL CHECK (quantity > 0),
    reserved_at timestamptz NOT NULL DEFAULT now(),
    released_at timestamptz,
    PRIMARY KEY (order_id, product_id)
);
