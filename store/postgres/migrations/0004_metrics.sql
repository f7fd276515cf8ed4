-- Job metrics (issue 6): training curves reported by operators with their
-- completions, in the order they were committed (seq). As in SQLite.
CREATE TABLE metrics (
    seq     BIGSERIAL PRIMARY KEY,
    job_id  TEXT NOT NULL,
    stage   TEXT NOT NULL,
    series  TEXT NOT NULL,
    name    TEXT NOT NULL,
    step    INTEGER NOT NULL,
    value   DOUBLE PRECISION NOT NULL      -- finite, as in SQLite
);

CREATE INDEX metrics_job ON metrics (job_id, seq);
