-- Migration 0007_years: a store holds one year of the movement and knows the years behind it.
-- Each year has its own store (thidua-2019.sqlite, thidua-2020.sqlite, or one database a year on a server):
-- round codes (DK, Q1 ... TK) repeat every year and every query filters by them, so a year's figures never
-- meet another year's unless the history opens both (see README, «Years and history»).

-- The years this store knows: its own (location NULL) and every earlier year it was rolled over from, with
-- where that year's store is (a path relative to this store's folder, or a server URL without password) and
-- the plan's tables (JSON) that year was judged with, so the history can classify it again with its own rules.
CREATE TABLE IF NOT EXISTS years (
    year INTEGER PRIMARY KEY,
    location TEXT,
    plan TEXT,
    plan_fingerprint TEXT,
    recorded_at TEXT NOT NULL,
    note TEXT);

-- The register keeps closed, merged and renamed units with their mark: status active | closed | merged |
-- renamed; successor = the unit a merged unit joined, or a renamed unit's new code.
ALTER TABLE units ADD COLUMN status TEXT NOT NULL DEFAULT 'active';
ALTER TABLE units ADD COLUMN successor TEXT;

-- The year of every round (and so of every figure reported for it).
ALTER TABLE rounds ADD COLUMN year INTEGER;
