-- Enterprise SSO: SAML 2.0 connections, the accounts they vouch for, the trips to an
-- identity provider in progress, and the assertion ids already used.

-- One identity provider. idp_certificates and attribute_mapping are JSON (an array of
-- PEM certificates; {email, first_name, last_name}). sealed_sp_key is the key that signs
-- AuthnRequests when sign_authn_requests is on (PKCS#8, sealed with the master key,
-- bound to the row); sp_certificate its self-signed certificate (DER, base64), published
-- in the SP metadata.
CREATE TABLE saml_connections (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    idp_entity_id TEXT NOT NULL,
    idp_sso_url TEXT NOT NULL,
    idp_certificates TEXT NOT NULL,
    attribute_mapping TEXT NOT NULL,
    allow_idp_initiated INTEGER NOT NULL DEFAULT 0,
    sign_authn_requests INTEGER NOT NULL DEFAULT 0,
    allow_sha1 INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1,
    sealed_sp_key TEXT,
    sp_certificate TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- The email domains routed to a connection; a domain belongs to one connection.
CREATE TABLE saml_connection_domains (
    domain TEXT PRIMARY KEY,
    connection_id TEXT NOT NULL REFERENCES saml_connections (id) ON DELETE CASCADE
);
CREATE INDEX saml_connection_domains_connection ON saml_connection_domains (connection_id);

-- A user's identity at one connection: identities are namespaced by connection, so the
-- same NameID at two identity providers is two identities.
CREATE TABLE saml_accounts (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    connection_id TEXT NOT NULL REFERENCES saml_connections (id) ON DELETE CASCADE,
    name_id TEXT NOT NULL,
    email_address TEXT,
    first_name TEXT,
    last_name TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (connection_id, name_id)
);
CREATE INDEX saml_accounts_user_id ON saml_accounts (user_id);

-- One trip to an identity provider. id is the AuthnRequest ID (the InResponseTo the
-- response must carry); the RelayState is stored only as its hash. The ACS records the
-- verified result (sealed) and a completion token (hashed) that only the client that
-- started the trip can redeem. An unsolicited (IdP-initiated) response gets a row with
-- no sign-in and no client.
CREATE TABLE saml_requests (
    id TEXT PRIMARY KEY,
    relay_state_hash TEXT NOT NULL UNIQUE,
    connection_id TEXT NOT NULL REFERENCES saml_connections (id) ON DELETE CASCADE,
    sign_in_id TEXT,
    client_id TEXT,
    redirect_url TEXT NOT NULL,
    action_complete_redirect_url TEXT NOT NULL,
    expire_at BIGINT NOT NULL,
    responded_at BIGINT,
    completion_hash TEXT UNIQUE,
    sealed_result TEXT,
    completed_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX saml_requests_expire_at ON saml_requests (expire_at);

-- Assertion ids already accepted, until the assertion would have expired anyway: a
-- replayed response is refused by every process sharing the database.
CREATE TABLE saml_assertion_ids (
    connection_id TEXT NOT NULL,
    assertion_id TEXT NOT NULL,
    expire_at BIGINT NOT NULL,
    PRIMARY KEY (connection_id, assertion_id)
);
CREATE INDEX saml_assertion_ids_expire_at ON saml_assertion_ids (expire_at);
