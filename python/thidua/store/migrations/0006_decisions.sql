-- Migration 0006_decisions: an award decision is a record (thidua awards decision).
-- One row per decision the office signs: its number (number_text as printed: «05/QĐ-CĐN»), date (ISO), form,
-- round, kind (so_ket | tong_ket | dot_xuat), signer, the money total, and `context`: JSON of everything its
-- papers print (the office's names, the legal bases and the money in force on its date, the lists), so that
-- making its papers again gives the same documents whatever changed in the plan since.
CREATE TABLE IF NOT EXISTS award_decisions (
    id INTEGER PRIMARY KEY, year INTEGER NOT NULL, number INTEGER NOT NULL, number_text TEXT NOT NULL,
    date TEXT NOT NULL, form TEXT NOT NULL, round TEXT NOT NULL, kind TEXT NOT NULL,
    signer_title TEXT NOT NULL, signer_name TEXT NOT NULL, total INTEGER NOT NULL DEFAULT 0,
    created_at TEXT NOT NULL, context TEXT NOT NULL,
    UNIQUE (year, number_text));

-- The recipients of a decision, in the order of its list; register_no: the «số vào sổ» of the certificate,
-- running on across decisions (never reused). source: unit, round, file and cell of the proposal; override: the
-- reason the office awarded a nominee the plan's conditions reject; warnings: what the working list shows.
CREATE TABLE IF NOT EXISTS award_recipients (
    decision_id INTEGER NOT NULL REFERENCES award_decisions(id),
    proposal_id INTEGER NOT NULL REFERENCES proposals(id),
    seq INTEGER NOT NULL, register_no INTEGER NOT NULL, subject TEXT NOT NULL, name TEXT NOT NULL,
    birth_year INTEGER, position TEXT, unit TEXT NOT NULL, unit_name TEXT, summary TEXT, amount INTEGER,
    source TEXT, override TEXT, warnings TEXT,
    PRIMARY KEY (decision_id, proposal_id));
CREATE UNIQUE INDEX IF NOT EXISTS award_recipients_register ON award_recipients(register_no);
CREATE INDEX IF NOT EXISTS award_recipients_proposal ON award_recipients(proposal_id);

-- The reason a nominee the plan's conditions reject was set to «awarded» (`--force --reason`); blank otherwise.
ALTER TABLE proposals ADD COLUMN award_override TEXT;
