-- Migration 0009_faults: the office's decisions on messages a killed `thidua mail send` left «sending».
-- Such a message may or may not have reached the unit; after checking, the office either sends it again
-- (`--resend UNIT`, with the same Message-ID) or records it as sent (`--mark-sent UNIT`).
-- One row per decision: which message (send_key, its round/what/unit, Message-ID and the time sending began),
-- the action (resend | mark_sent), who decided, when, and why. seq numbers the decisions of one send_key.
CREATE TABLE IF NOT EXISTS mail_decisions (
    send_key TEXT NOT NULL, seq INTEGER NOT NULL, round TEXT NOT NULL, what TEXT NOT NULL, unit TEXT NOT NULL,
    recipient TEXT, subject TEXT, message_id TEXT, started_at TEXT, action TEXT NOT NULL,
    decided_by TEXT NOT NULL, decided_at TEXT NOT NULL, reason TEXT NOT NULL,
    PRIMARY KEY (send_key, seq));
CREATE INDEX IF NOT EXISTS mail_decisions_round ON mail_decisions (round, what, unit);
