-- Migration 0010_postgres: the store on either engine, for several staff at once.
-- Written portably (SQLite and PostgreSQL take the same statements; thidua.store.postgres maps SQLite's type
-- names); the one statement for PostgreSQL only is marked with `-- dialect: postgresql`.

-- The archive inside the store (PostgreSQL: a PC needs nothing but the server's address). One row per distinct
-- file, by content hash, never changed once written. A SQLite store keeps its files in the folder beside it
-- (thidua-luu-tru/) and leaves this table empty.
CREATE TABLE IF NOT EXISTS archive_blobs (sha256 TEXT PRIMARY KEY, data BLOB NOT NULL);

-- Who decided (the configured staff name, else the OS login), beside when: a decision someone else already
-- took is refused with their name.
ALTER TABLE proposals ADD COLUMN decided_by TEXT;
ALTER TABLE proposal_history ADD COLUMN decided_by TEXT;

-- Who started each consolidation run.
ALTER TABLE runs ADD COLUMN started_by TEXT;

-- dialect: postgresql
-- The order in which values, issues and sightings were recorded (a file's cells as read, its problems as found,
-- the first place a file was seen) is SQLite's rowid, which every SQLite table has; PostgreSQL gets the same
-- column (never shown by the queries, which name their columns).
ALTER TABLE cell_values ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY (CACHE 1000);
ALTER TABLE issues ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
ALTER TABLE sightings ADD COLUMN rowid BIGINT GENERATED ALWAYS AS IDENTITY;
-- dialect: all
