-- At most one current signing key, even when several processes start on a fresh
-- database at once: the loser of that race gets a unique violation and uses the winner's.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys (status) WHERE status = 'current';
