-- The same tables as the SQLite store (store/sqlite/migrations), in
-- PostgreSQL's types. Times are unix milliseconds, as there.
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    state       TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    weight      DOUBLE PRECISION NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    items       BIGINT NOT NULL,
    stages      BYTEA NOT NULL,            -- JSON of the compiled stages
    created_at  BIGINT NOT NULL,
    finished_at BIGINT
);

CREATE INDEX jobs_created ON jobs (created_at);
CREATE INDEX jobs_running ON jobs (state) WHERE state = 'running';

CREATE TABLE stages (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
);

-- One row per microtask. token is the last fencing token issued; a
-- completion is valid while fence <= its token <= token.
CREATE TABLE microtasks (
    id          BIGSERIAL PRIMARY KEY,
    job_id      TEXT NOT NULL,
    stage       INTEGER NOT NULL,
    state       SMALLINT NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    token       BIGINT NOT NULL DEFAULT 0,
    fence       BIGINT NOT NULL DEFAULT 0,
    worker      TEXT,
    not_before  BIGINT NOT NULL DEFAULT 0,
    n_items     INTEGER NOT NULL,
    input       BYTEA,                     -- JSON array of items; NULL for a reduce
    result      BYTEA,                     -- JSON array of output items
    error       TEXT,
    created_at  BIGINT NOT NULL,
    started_at  BIGINT,
    finished_at BIGINT,
    runtime_ms  BIGINT
);

-- The queue: only ready rows are indexed, so claiming (FOR UPDATE SKIP
-- LOCKED, oldest first) stays cheap however many microtasks are done.
CREATE INDEX microtasks_ready ON microtasks (job_id, stage, id) WHERE state = 1;
CREATE INDEX microtasks_failed ON microtasks (not_before) WHERE state = 4;
CREATE INDEX microtasks_running ON microtasks (id) WHERE state = 2;
CREATE INDEX microtasks_job ON microtasks (job_id, stage);

-- Items waiting for enough company to form a microtask of their stage.
CREATE TABLE pending_items (
    seq     BIGSERIAL PRIMARY KEY,
    job_id  TEXT NOT NULL,
    stage   INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    data    BYTEA NOT NULL
);

CREATE INDEX pending_items_stage ON pending_items (job_id, stage, seq);

CREATE TABLE workers (
    id        TEXT PRIMARY KEY,
    info      BYTEA NOT NULL,              -- JSON task.Worker
    last_seen BIGINT NOT NULL
);
