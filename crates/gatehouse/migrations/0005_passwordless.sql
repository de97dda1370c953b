-- Passwordless flows: magic links (stored only as the hash of their token, bound to the
-- attempt and client that asked for them), and the state of a pending verification of
-- an email address or phone number added to an account (the same JSON as an attempt's
-- verification; the code itself is in verification_codes).

CREATE TABLE magic_links (
    id TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    -- 'sign_in' or 'sign_up', and the attempt id.
    flow TEXT NOT NULL,
    subject TEXT NOT NULL,
    client_id TEXT NOT NULL,
    -- The address the link was sent to.
    target TEXT NOT NULL,
    redirect_url TEXT NOT NULL,
    expire_at BIGINT NOT NULL,
    -- Set when the link is used, or when a newer link for the same attempt replaces it.
    consumed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX magic_links_subject ON magic_links (subject);
CREATE INDEX magic_links_expire_at ON magic_links (expire_at);

ALTER TABLE identifiers ADD COLUMN verification TEXT;
