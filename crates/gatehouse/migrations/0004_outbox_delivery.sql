-- Outbox delivery: a worker in every process claims due messages with a lease, sends
-- them, and records the outcome. Statuses: logged (log transport, kept for the dev
-- outbox), pending (due at next_attempt_at), sending (claimed until lease_until by
-- claimed_by), sent, failed (permanent error or attempts exhausted), expired (what the
-- message carried expired before it could be sent). Bodies are erased once a message
-- leaves pending/sending.
ALTER TABLE outbox ADD COLUMN expire_at BIGINT;
ALTER TABLE outbox ADD COLUMN lease_until BIGINT;
ALTER TABLE outbox ADD COLUMN claimed_by TEXT;
ALTER TABLE outbox ADD COLUMN last_error TEXT;
ALTER TABLE outbox ADD COLUMN finished_at BIGINT;
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);
