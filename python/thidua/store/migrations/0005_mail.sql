-- Migration 0005_mail: the office's mailbox as the inbox (thidua mail fetch / send).

-- Where the last fetch of each mailbox folder stopped: a changed UIDVALIDITY means re-scan (deduplicated
-- by content hash).
CREATE TABLE IF NOT EXISTS mail_state (
    account TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, last_uid INTEGER NOT NULL,
    fetched_at TEXT NOT NULL, PRIMARY KEY (account, folder));

-- Every spreadsheet saved from the mailbox, by content hash (the first message that carried it wins).
-- received_at: the message's INTERNALDATE in local time (receipt source `mail`).
-- flag: set when the unit inside the file is not the unit owning the sender's address.
CREATE TABLE IF NOT EXISTS mail_files (
    sha256 TEXT PRIMARY KEY, file_name TEXT NOT NULL, path TEXT NOT NULL, received_at TEXT NOT NULL,
    sender TEXT, origin_sender TEXT, subject TEXT, message_id TEXT, account TEXT, folder TEXT,
    uidvalidity INTEGER, uid INTEGER, content_unit TEXT, sender_unit TEXT, flag TEXT, fetched_at TEXT NOT NULL);

-- Messages that could not be taken (too large, malformed): retried by the next fetch until taken.
CREATE TABLE IF NOT EXISTS mail_problems (
    account TEXT NOT NULL, folder TEXT NOT NULL, uidvalidity INTEGER NOT NULL, uid INTEGER NOT NULL,
    reason TEXT NOT NULL, subject TEXT, sender TEXT, seen_at TEXT NOT NULL,
    PRIMARY KEY (account, folder, uidvalidity, uid));

-- Every message sent (or being sent): a re-run never sends the same thing twice.
-- send_key: round/what/unit/reason. state: sending | sent (a `sending` row left by a killed run is
-- never re-sent automatically).
CREATE TABLE IF NOT EXISTS mail_sent (
    send_key TEXT PRIMARY KEY, round TEXT NOT NULL, what TEXT NOT NULL, unit TEXT NOT NULL,
    recipient TEXT NOT NULL, subject TEXT, message_id TEXT, attachment TEXT, state TEXT NOT NULL,
    started_at TEXT NOT NULL, sent_at TEXT);
