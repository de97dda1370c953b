-- One SQL dialect for SQLite and PostgreSQL: times are BIGINT milliseconds since the
-- epoch, booleans are INTEGER 0/1, JSON is TEXT, binary is base64 TEXT.

CREATE TABLE instance_settings (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    username TEXT,
    username_normalized TEXT UNIQUE,
    first_name TEXT,
    last_name TEXT,
    password_digest TEXT,
    password_hasher TEXT,
    public_metadata TEXT NOT NULL DEFAULT '{}',
    private_metadata TEXT NOT NULL DEFAULT '{}',
    unsafe_metadata TEXT NOT NULL DEFAULT '{}',
    banned INTEGER NOT NULL DEFAULT 0,
    admin_locked INTEGER NOT NULL DEFAULT 0,
    failed_password_attempts INTEGER NOT NULL DEFAULT 0,
    lockout_until BIGINT,
    primary_email_address_id TEXT,
    primary_phone_number_id TEXT,
    last_sign_in_at BIGINT,
    last_active_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX users_created_at ON users (created_at);

CREATE TABLE identifiers (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    value TEXT NOT NULL,
    value_normalized TEXT NOT NULL,
    verified INTEGER NOT NULL DEFAULT 0,
    verification_strategy TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (kind, value_normalized)
);
CREATE INDEX identifiers_user_id ON identifiers (user_id);

CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    sign_in_id TEXT,
    sign_up_id TEXT,
    last_active_session_id TEXT,
    last_auth_at BIGINT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    user_id TEXT NOT NULL,
    status TEXT NOT NULL,
    first_factor_at BIGINT NOT NULL,
    second_factor_at BIGINT,
    last_active_at BIGINT NOT NULL,
    expire_at BIGINT NOT NULL,
    ended_at BIGINT,
    last_active_organization_id TEXT,
    actor TEXT,
    latest_activity TEXT NOT NULL DEFAULT '{}',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX sessions_user_id ON sessions (user_id, status);
CREATE INDEX sessions_client_id ON sessions (client_id, status);

CREATE TABLE sign_in_attempts (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    status TEXT NOT NULL,
    identifier TEXT,
    user_id TEXT,
    first_factor TEXT,
    second_factor TEXT,
    created_session_id TEXT,
    abandon_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sign_up_attempts (
    id TEXT PRIMARY KEY,
    client_id TEXT NOT NULL,
    status TEXT NOT NULL,
    email_address TEXT,
    username TEXT,
    phone_number TEXT,
    first_name TEXT,
    last_name TEXT,
    password_digest TEXT,
    unsafe_metadata TEXT NOT NULL DEFAULT '{}',
    email_verification TEXT,
    phone_verification TEXT,
    created_user_id TEXT,
    created_session_id TEXT,
    abandon_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- One-time codes, stored hashed; `subject` is the attempt or identifier they verify.
CREATE TABLE verification_codes (
    id TEXT PRIMARY KEY,
    subject TEXT NOT NULL,
    strategy TEXT NOT NULL,
    target TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    expire_at BIGINT NOT NULL,
    consumed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX verification_codes_subject ON verification_codes (subject, strategy);

CREATE TABLE signing_keys (
    kid TEXT PRIMARY KEY,
    algorithm TEXT NOT NULL,
    sealed_private_key TEXT NOT NULL,
    public_jwk TEXT NOT NULL,
    -- 'current' for the one new tokens are signed with; 'previous' while still published.
    status TEXT NOT NULL,
    publish_until BIGINT,
    created_at BIGINT NOT NULL
);

CREATE TABLE secret_keys (
    id TEXT PRIMARY KEY,
    key_hash TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE rate_counters (
    bucket TEXT PRIMARY KEY,
    window_start BIGINT NOT NULL,
    hits INTEGER NOT NULL
);

CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    channel TEXT NOT NULL,
    recipient TEXT NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    text_body TEXT NOT NULL,
    html_body TEXT NOT NULL,
    status TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX outbox_recipient ON outbox (recipient, created_at);
