-- JWT templates: named claims templates minted into tokens on demand. The optional custom
-- signing key (an HS256 secret or a PEM private key) is stored only sealed with the
-- master key, bound to the template's id; NULL means the instance key signs.

CREATE TABLE jwt_templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    -- Lowercase name: names are unique and looked up case-insensitively.
    name_normalized TEXT NOT NULL UNIQUE,
    claims TEXT NOT NULL,
    -- Seconds.
    lifetime BIGINT NOT NULL,
    allowed_clock_skew BIGINT NOT NULL,
    -- NULL with the instance key (its algorithm applies).
    signing_algorithm TEXT,
    sealed_signing_key TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX jwt_templates_created_at ON jwt_templates (created_at);
