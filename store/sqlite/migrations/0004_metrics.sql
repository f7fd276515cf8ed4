-- Job metrics (issue 6): training curves reported by operators with their
-- completions, in the order they were committed (seq).
CREATE TABLE metrics (
    seq     INTEGER PRIMARY KEY,
    job_id  TEXT NOT NULL,
    stage   TEXT NOT NULL,
    series  TEXT NOT NULL,
    name    TEXT NOT NULL,
    step    INTEGER NOT NULL,
    value   REAL NOT NULL                  -- finite; the coordinator drops NaN and ±Inf
) STRICT;

CREATE INDEX metrics_job ON metrics (job_id, seq);
