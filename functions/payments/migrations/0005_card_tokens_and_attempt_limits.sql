-- Agora keeps what the provider answers for a card (its token and last four digits), never the number.
ALTER TABLE payments
    ADD COLUMN IF NOT EXISTS card_last4 char(4),
    ADD COLUMN IF NOT EXISTS card_token varchar(255);
ALTER TABLE simulated_provider_intents ADD COLUMN IF NOT EXISTS card_token varchar(255);

-- Old hashes were unkeyed SHA-256 of bodies that could hold a card number: a retry of one replays unchecked.
UPDATE payments SET request_hash = NULL WHERE request_hash IS NOT NULL;
UPDATE refunds SET request_hash = NULL WHERE request_hash IS NOT NULL;

-- One row per counted money operation of a user, so the per-user limits hold across containers.
CREATE TABLE IF NOT EXISTS payment_attempts (
    id           bigserial    PRIMARY KEY,
    user_id      text         NOT NULL,
    kind         varchar(32)  NOT NULL,
    attempted_at timestamptz  NOT NULL
);
CREATE INDEX IF NOT EXISTS payment_attempts_by_user ON payment_attempts (user_id, kind, attempted_at);
CREATE INDEX IF NOT EXISTS payment_attempts_by_time ON payment_attempts (attempted_at);
