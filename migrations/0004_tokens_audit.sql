-- 0004: named, scoped, expiring and revocable tokens; events record who made them.
-- Tokens made before this migration become admin tokens named legacy-N.
ALTER TABLE tokens ADD COLUMN name TEXT;
ALTER TABLE tokens ADD COLUMN scope TEXT NOT NULL DEFAULT 'admin'
    CHECK (scope IN ('read','publish','admin'));
ALTER TABLE tokens ADD COLUMN expires_at TEXT;   -- RFC 3339 UTC; NULL: never
ALTER TABLE tokens ADD COLUMN last_used_at TEXT;
ALTER TABLE tokens ADD COLUMN revoked_at TEXT;
UPDATE tokens SET name = 'legacy-' || id WHERE name IS NULL;
CREATE UNIQUE INDEX tokens_by_name ON tokens(name);

-- The principal: a token name, "cli" for a command run on the server host, "sweep"
-- for the daily end-of-support sweep, "system" for anything earlier.
ALTER TABLE events ADD COLUMN principal TEXT NOT NULL DEFAULT 'system';

-- Set by `almanacd restore` from a backup made with --no-artifacts: the row says the
-- bytes existed but they were not restored; fsck lists these without failing.
ALTER TABLE artifacts ADD COLUMN missing_since TEXT;
