-- API tokens (issue 9). Only the SHA-256 of each secret is kept.
CREATE TABLE api_tokens (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL DEFAULT '',
    role        TEXT NOT NULL,
    hash        BLOB NOT NULL UNIQUE,
    created_at  INTEGER NOT NULL,
    revoked_at  INTEGER                      -- NULL while the token is valid
) STRICT;

-- Submitters list their own jobs.
CREATE INDEX jobs_owner ON jobs (owner, created_at);
