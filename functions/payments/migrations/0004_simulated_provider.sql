-- The simulated payment provider's own state (development and tests): its intents and refunds, kept
-- apart from Agora's tables as a real provider's would be.
CREATE TABLE IF NOT EXISTS simulated_provider_intents (
    id                  varchar(255)  PRIMARY KEY,
    idempotency_key     varchar(255)  NOT NULL UNIQUE,
    amount              numeric(12,2) NOT NULL CHECK (amount > 0),
    currency            char(3)       NOT NULL,
    method              varchar(20),
    card_last4          char(4),
    status              varchar(30)   NOT NULL,
    last_error          text,
    declines_on_confirm boolean       NOT NULL DEFAULT false,
    client_secret       text          NOT NULL,
    created_at          timestamptz   NOT NULL DEFAULT now(),
    updated_at          timestamptz   NOT NULL DEFAULT now()
);

CREATE TABLE IF NOT EXISTS simulated_provider_refunds (
    id              varchar(255)  PRIMARY KEY,
    intent_id       varchar(255)  NOT NULL REFERENCES simulated_provider_intents (id),
    idempotency_key varchar(255)  UNIQUE,
    amount          numeric(12,2) NOT NULL CHECK (amount > 0),
    status          varchar(20)   NOT NULL,
    created_at      timestamptz   NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS simulated_provider_refunds_by_intent ON simulated_provider_refunds (intent_id);

-- The provider kept no state before: it adopts the intents and refunds it handed out, as they stand.
INSERT INTO simulated_provider_intents
    (id, idempotency_key, amount, currency, method, status, last_error, client_secret, created_at, updated_at)
SELECT provider_transaction_id, id::text, amount, currency, method,
       CASE status
           WHEN 'completed' THEN 'succeeded'
           WHEN 'refunded' THEN 'succeeded'
           WHEN 'failed' THEN 'requires_payment_method'
           WHEN 'cancelled' THEN 'canceled'
           ELSE 'requires_confirmation'
       END,
       CASE WHEN status = 'failed' THEN coalesce(failure_reason, 'card_declined') END,
       provider_transaction_id || '_secret_legacy', created_at, updated_at
FROM payments
WHERE provider_transaction_id IS NOT NULL
ON CONFLICT DO NOTHING;

UPDATE refunds r SET provider_refund_id = 're_legacy_' || replace(r.id::text, '-', '')
WHERE r.provider_refund_id IS NULL AND r.state = 'succeeded';
INSERT INTO simulated_provider_refunds (id, intent_id, idempotency_key, amount, status, created_at)
SELECT r.provider_refund_id, p.provider_transaction_id, r.id::text, r.amount, 'succeeded', r.created_at
FROM refunds r JOIN payments p ON p.id = r.payment_id
WHERE r.provider_refund_id LIKE 're\_legacy\_%' AND p.provider_transaction_id IS NOT NULL
ON CONFLICT DO NOTHING;
