-- Migration 0003_rejudge: the history of verdicts. When a file is judged again (`thidua rejudge`, or by itself
-- when the key, the register or the plan changed), each submission whose verdict changed gets a row here with
-- its old status, counts and issues, so nothing of the earlier judgement is lost.
CREATE TABLE IF NOT EXISTS verdicts (
    id INTEGER PRIMARY KEY,
    submission_id INTEGER NOT NULL REFERENCES submissions(id),
    judged_at TEXT NOT NULL,
    reason TEXT NOT NULL,
    old_status TEXT NOT NULL, new_status TEXT NOT NULL,
    old_unit TEXT, old_round TEXT,
    old_errors INTEGER NOT NULL, new_errors INTEGER NOT NULL,
    old_warnings INTEGER NOT NULL, new_warnings INTEGER NOT NULL,
    old_issues TEXT,
    key_fingerprint TEXT, plan_fingerprint TEXT, register_fingerprint TEXT);
CREATE INDEX IF NOT EXISTS verdicts_sub ON verdicts(submission_id);
