-- Migration 0002_receipts: a file's receipt time keeps its source.
-- received_source: mail (the mailbox), office (set by staff with `thidua received`), file (the file's
-- modification time when first seen: the fallback). file_mtime keeps that modification time whatever
-- the source, so an office time can be taken back to it.
ALTER TABLE submissions ADD COLUMN received_source TEXT NOT NULL DEFAULT 'file';
ALTER TABLE submissions ADD COLUMN file_mtime TEXT;
UPDATE submissions SET file_mtime = received_at WHERE file_mtime IS NULL;
