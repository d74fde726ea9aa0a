-- Events a consumer has applied, by envelope id, written in the transaction that applies them:
-- a second delivery (SQS redelivery, or the queue after a direct delivery) finds its row and does nothing.
CREATE TABLE IF NOT EXISTS inbox (
    consumer   text        NOT NULL,
    event_id   uuid        NOT NULL,
    type       text        NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (consumer, event_id)
);
