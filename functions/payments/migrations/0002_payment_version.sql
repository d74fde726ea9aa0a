-- Each change of a payment bumps its version; events carry it as `sequence`, so a consumer that
-- sees them out of order keeps the newest state.
ALTER TABLE payments ADD COLUMN IF NOT EXISTS version bigint NOT NULL DEFAULT 1;
