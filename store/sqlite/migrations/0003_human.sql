-- Human computation (issue 7): annotators, human stages, their items and
-- the assignments of items to annotators. Migration 0002 is reserved.

-- An annotator signs in with an invite token; only its SHA-256 is kept.
CREATE TABLE annotators (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL UNIQUE,
    token_hash  BLOB NOT NULL UNIQUE,
    labels      BLOB,                      -- JSON object, or NULL
    paused      INTEGER NOT NULL DEFAULT 0,
    reason      TEXT NOT NULL DEFAULT '',
    created_at  INTEGER NOT NULL
) STRICT;

-- One row per human stage of a job, collected under one coordinator
-- microtask (task_id, leased with token).
CREATE TABLE human_stages (
    job_id      TEXT NOT NULL,
    stage       INTEGER NOT NULL,
    task_id     INTEGER NOT NULL,
    token       INTEGER NOT NULL,
    state       INTEGER NOT NULL,          -- 0 collecting, 1 finished, 2 reported, 3 canceled
    info        BLOB NOT NULL,             -- JSON: the stage's definition, as package human needs it
    output      BLOB,                      -- JSON array of labelled items, once finished
    created_at  INTEGER NOT NULL,
    finished_at INTEGER,
    PRIMARY KEY (job_id, stage)
) STRICT, WITHOUT ROWID;

-- answers and leased count the item's answered and leased assignments;
-- a lease is only granted while leased is below what the item still
-- needs, checked in the same statement that counts it.
CREATE TABLE human_items (
    id          INTEGER PRIMARY KEY,
    job_id      TEXT NOT NULL,
    stage       INTEGER NOT NULL,
    seq         INTEGER NOT NULL,
    item_id     TEXT NOT NULL,
    kind        INTEGER NOT NULL,          -- 0 task, 1 gold, 2 qualification, 3 model
    data        BLOB NOT NULL,
    gold        TEXT,                      -- known answer of gold and qualification items
    model_label TEXT,
    model_prob  REAL,
    state       INTEGER NOT NULL DEFAULT 0, -- 0 open, 1 stopped
    answers     INTEGER NOT NULL DEFAULT 0,
    leased      INTEGER NOT NULL DEFAULT 0
) STRICT;

CREATE INDEX human_items_stage ON human_items (job_id, stage, id);

-- Nobody is handed the same item twice: (item, annotator) is unique.
CREATE TABLE human_assignments (
    id          INTEGER PRIMARY KEY,
    item        INTEGER NOT NULL REFERENCES human_items (id) ON DELETE CASCADE,
    annotator   TEXT NOT NULL,
    state       INTEGER NOT NULL,          -- 0 leased, 1 answered, 2 skipped, 3 expired, 4 released, 5 withdrawn
    label       TEXT,
    issued_at   INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    answered_at INTEGER,
    ms          INTEGER,
    UNIQUE (item, annotator)
) STRICT;

CREATE INDEX human_assignments_annotator ON human_assignments (annotator);
