-- Multi-factor authentication: one TOTP secret per user (sealed with the master key),
-- single-use backup codes (hashed), and flags on the user so reading a user needs no join.

CREATE TABLE totp_secrets (
    user_id TEXT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    sealed_secret TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    -- The last accepted time step; only later steps are accepted (no replay).
    last_used_step BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE backup_codes (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash TEXT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX backup_codes_user ON backup_codes (user_id, code_hash);

ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE users ADD COLUMN backup_code_enabled INTEGER NOT NULL DEFAULT 0;
ALTER TABLE sign_in_attempts ADD COLUMN first_factor_at BIGINT;
