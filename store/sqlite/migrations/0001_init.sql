-- Jobs as submitted; spec holds the compiled stages (JSON).
CREATE TABLE jobs (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    state       TEXT NOT NULL,
    priority    INTEGER NOT NULL,
    weight      REAL NOT NULL,
    owner       TEXT NOT NULL DEFAULT '',
    items       INTEGER NOT NULL,
    stages      BLOB NOT NULL,
    created_at  INTEGER NOT NULL,          -- unix ms
    finished_at INTEGER
) STRICT;

CREATE INDEX jobs_created ON jobs (created_at);

CREATE TABLE stages (
    job_id TEXT NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    idx    INTEGER NOT NULL,
    state  TEXT NOT NULL,
    PRIMARY KEY (job_id, idx)
) STRICT, WITHOUT ROWID;

-- One row per microtask. token is the last fencing token issued; a
-- completion is valid while fence <= its token <= token.
CREATE TABLE microtasks (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL,
    stage       INTEGER NOT NULL,
    state       INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    token       INTEGER NOT NULL DEFAULT 0,
    fence       INTEGER NOT NULL DEFAULT 0,
    worker      TEXT,
    not_before  INTEGER NOT NULL DEFAULT 0,
    n_items     INTEGER NOT NULL,
    input       BLOB,                      -- JSON array of items; NULL for a reduce
    result      BLOB,                      -- JSON array of output items
    error       TEXT,
    created_at  INTEGER NOT NULL,
    started_at  INTEGER,
    finished_at INTEGER,
    runtime_ms  INTEGER
) STRICT;

-- The queue: only ready rows are indexed, so claiming stays cheap however
-- many microtasks are done.
CREATE INDEX microtasks_ready ON microtasks (job_id, stage, id) WHERE state = 1;
CREATE INDEX microtasks_failed ON microtasks (not_before) WHERE state = 4;
-- Not on state, so state changes do not touch it.
CREATE INDEX microtasks_job ON microtasks (job_id, stage);

-- Items waiting for enough company to form a microtask of their stage.
CREATE TABLE pending_items (
    seq     INTEGER PRIMARY KEY,
    job_id  TEXT NOT NULL,
    stage   INTEGER NOT NULL,
    item_id TEXT NOT NULL,
    data    BLOB NOT NULL
) STRICT;

CREATE INDEX pending_items_stage ON pending_items (job_id, stage, seq);

CREATE TABLE workers (
    id        TEXT PRIMARY KEY,
    info      BLOB NOT NULL,               -- JSON task.Worker
    last_seen INTEGER NOT NULL
) STRICT;
