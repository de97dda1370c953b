-- Social sign-in (OAuth 2.0 / OpenID Connect).
--
-- oauth_states: one row per trip to a provider. The `state` sent to the provider is
-- stored only as its hash, the PKCE verifier only sealed with the master key (bound to
-- the row), the OpenID Connect nonce only as its hash. A row belongs to the flow
-- ('sign_in', 'sign_up' or 'link'), its subject (the attempt, or the user linking an
-- account) and the client that started it; it is used once (consumed_at). After the
-- callback, `sealed_result` holds the verified profile and the provider's tokens (sealed)
-- while a sign-in waits to be transferred to a sign-up.
CREATE TABLE oauth_states (
    id TEXT PRIMARY KEY,
    state_hash TEXT NOT NULL UNIQUE,
    flow TEXT NOT NULL,
    subject TEXT NOT NULL,
    client_id TEXT NOT NULL,
    provider TEXT NOT NULL,
    sealed_verifier TEXT NOT NULL,
    nonce_hash TEXT,
    redirect_url TEXT NOT NULL,
    action_complete_redirect_url TEXT NOT NULL,
    expire_at BIGINT NOT NULL,
    consumed_at BIGINT,
    sealed_result TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX oauth_states_subject ON oauth_states (subject);
CREATE INDEX oauth_states_expire_at ON oauth_states (expire_at);

-- An account at a provider linked to a user. The provider's access and refresh tokens
-- are stored only sealed with the master key, bound to the row and field.
CREATE TABLE external_accounts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    provider TEXT NOT NULL,
    provider_user_id TEXT NOT NULL,
    email_address TEXT,
    email_verified INTEGER NOT NULL DEFAULT 0,
    first_name TEXT,
    last_name TEXT,
    username TEXT,
    avatar_url TEXT,
    sealed_access_token TEXT,
    sealed_refresh_token TEXT,
    token_expire_at BIGINT,
    scopes TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (provider, provider_user_id)
);
CREATE INDEX external_accounts_user_id ON external_accounts (user_id);

-- A sign-up's social verification (`verifications.external_account`), JSON like the others.
ALTER TABLE sign_up_attempts ADD COLUMN external_verification TEXT;
