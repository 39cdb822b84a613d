-- Migration 0004_proposals: stable proposals. A proposal keeps its id across resubmissions and name
-- corrections: rows are updated in place, never deleted (a nominee missing from the unit's latest file is
-- kept with active = 0, so an id is never reused).
-- fields: JSON object of every proposal field the plan declares (conditions may refer to any of them).
-- name_key: the name normalised for matching; matched_by: how the row was matched to the latest file
--   (new | name | folded | row: by row position after a name change, flagged for the office).
ALTER TABLE proposals ADD COLUMN fields TEXT;
ALTER TABLE proposals ADD COLUMN name_key TEXT;
ALTER TABLE proposals ADD COLUMN matched_by TEXT NOT NULL DEFAULT 'new';
ALTER TABLE proposals ADD COLUMN active INTEGER NOT NULL DEFAULT 1;
CREATE INDEX IF NOT EXISTS proposals_unit_round ON proposals(unit, round);

-- Every change of a proposal: a decision (state change), a forced step back from «awarded», a rename
-- matched by row position, a withdrawal or a return. Never updated, only appended.
CREATE TABLE IF NOT EXISTS proposal_history (
    id INTEGER PRIMARY KEY, proposal_id INTEGER NOT NULL REFERENCES proposals(id), at TEXT NOT NULL,
    event TEXT NOT NULL, old_state TEXT, new_state TEXT, form TEXT, note TEXT,
    forced INTEGER NOT NULL DEFAULT 0, detail TEXT);
CREATE INDEX IF NOT EXISTS proposal_history_p ON proposal_history(proposal_id);
