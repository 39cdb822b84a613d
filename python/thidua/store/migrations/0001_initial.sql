-- Migration 0001_initial: the consolidated store as of the first release (SQLite).
-- Dates are ISO text (YYYY-MM-DD), times ISO text with seconds. A migration is never edited once
-- released: later changes are new files NNNN_name.sql, applied in order by thidua.store.Store.

CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT);   -- schema_version, year, plan source

CREATE TABLE IF NOT EXISTS units (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, cluster TEXT, staff INTEGER, members INTEGER,
    email TEXT, founded TEXT);

CREATE TABLE IF NOT EXISTS rounds (
    code TEXT PRIMARY KEY, name TEXT NOT NULL, kind TEXT, period TEXT, start TEXT, "end" TEXT, due TEXT);

-- Every distinct file ever received (write-once archive, named by content hash).
CREATE TABLE IF NOT EXISTS files (
    sha256 TEXT PRIMARY KEY, archive_path TEXT NOT NULL, size INTEGER, first_seen TEXT NOT NULL);

-- Every place a file was seen (the same bytes under several names are one file, several sightings).
CREATE TABLE IF NOT EXISTS sightings (
    sha256 TEXT NOT NULL REFERENCES files(sha256), path TEXT NOT NULL, mtime TEXT, run_id INTEGER,
    PRIMARY KEY (sha256, path));

-- One row per distinct file read. status: accepted | superseded | rejected | unreadable
-- (a byte-identical re-send is a `duplicate` sighting, not a new submission).
-- received_at: when the office received it (file modification time of the first sighting).
CREATE TABLE IF NOT EXISTS submissions (
    id INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE REFERENCES files(sha256),
    unit TEXT, round TEXT, template_version TEXT, received_at TEXT NOT NULL,
    status TEXT NOT NULL, n_errors INTEGER NOT NULL DEFAULT 0, n_warnings INTEGER NOT NULL DEFAULT 0,
    file_name TEXT, run_id INTEGER);
CREATE INDEX IF NOT EXISTS submissions_unit_round ON submissions(unit, round);

-- Every input value read, with its source cell (provenance). row: 1-based table row or NULL.
-- value_num for numbers, value_text for text/choices, value_date for dates (exactly one is set).
CREATE TABLE IF NOT EXISTS cell_values (
    submission_id INTEGER NOT NULL REFERENCES submissions(id), sheet TEXT NOT NULL, cell TEXT NOT NULL,
    field TEXT NOT NULL, row INTEGER, value_num REAL, value_text TEXT, value_date TEXT);
CREATE INDEX IF NOT EXISTS cell_values_sub ON cell_values(submission_id);

CREATE TABLE IF NOT EXISTS issues (
    submission_id INTEGER NOT NULL REFERENCES submissions(id), code TEXT NOT NULL, severity TEXT NOT NULL,
    sheet TEXT, cell TEXT, field TEXT, value TEXT, message TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS issues_sub ON issues(submission_id);

-- Commendation proposals taken from accepted submissions; the office records the decision.
-- state: proposed | reviewed | not_met | raised | awarded
CREATE TABLE IF NOT EXISTS proposals (
    id INTEGER PRIMARY KEY, submission_id INTEGER NOT NULL REFERENCES submissions(id), row INTEGER NOT NULL,
    unit TEXT NOT NULL, round TEXT NOT NULL, subject TEXT, name TEXT, position TEXT, title TEXT, form TEXT,
    dat_ldtt TEXT, co_sang_kien TEXT, ty_le_ldtt REAL, ky_luat TEXT, summary TEXT, adhoc TEXT,
    state TEXT NOT NULL DEFAULT 'proposed', decided_form TEXT, decision_note TEXT, decided_at TEXT,
    UNIQUE (submission_id, row));

-- Reviewed scores entered by the office (win over the unit's self-score where present).
CREATE TABLE IF NOT EXISTS reviewed_scores (
    unit TEXT NOT NULL, round TEXT NOT NULL, criterion TEXT NOT NULL, score REAL NOT NULL,
    source TEXT, entered_at TEXT, PRIMARY KEY (unit, round, criterion));

CREATE TABLE IF NOT EXISTS runs (
    id INTEGER PRIMARY KEY, started_at TEXT NOT NULL, finished_at TEXT, inbox TEXT, command TEXT,
    n_seen INTEGER DEFAULT 0, n_new INTEGER DEFAULT 0, status TEXT NOT NULL DEFAULT 'running');

-- The submission that counts for each unit and round: the latest accepted one.
CREATE VIEW IF NOT EXISTS current_submissions AS
    SELECT s.* FROM submissions s
    WHERE s.status = 'accepted';

-- Indicator values of the current submissions: one row per unit, round, indicator code.
CREATE VIEW IF NOT EXISTS indicator_values AS
    SELECT s.unit, s.round, substr(v.field, 5) AS code, v.value_num, v.value_text, v.value_date,
           v.sheet, v.cell, s.sha256
    FROM cell_values v JOIN current_submissions s ON s.id = v.submission_id
    WHERE v.field LIKE 'ind.%';

-- Self-scores of the current submissions.
CREATE VIEW IF NOT EXISTS self_scores AS
    SELECT s.unit, s.round, substr(v.field, 7) AS criterion, v.value_num AS score, v.sheet, v.cell
    FROM cell_values v JOIN current_submissions s ON s.id = v.submission_id
    WHERE v.field LIKE 'score.%';

-- Activities of the current submissions, one row per table row.
CREATE VIEW IF NOT EXISTS activities AS
    SELECT s.unit, s.round, v.row,
           max(CASE WHEN v.field = 'act.date' THEN v.value_date END) AS date,
           max(CASE WHEN v.field = 'act.content' THEN v.value_num END) AS content,
           max(CASE WHEN v.field = 'act.description' THEN v.value_text END) AS description,
           max(CASE WHEN v.field = 'act.participants' THEN v.value_num END) AS participants
    FROM cell_values v JOIN current_submissions s ON s.id = v.submission_id
    WHERE v.field LIKE 'act.%' GROUP BY s.id, v.row;

-- Added by consolidation: stat cache so a re-run does not re-read files it has already hashed
-- (same path, size and modification time => same sha256).
CREATE TABLE IF NOT EXISTS path_cache (
    path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL, sha256 TEXT NOT NULL);
