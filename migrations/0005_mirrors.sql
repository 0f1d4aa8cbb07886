-- 0005: signed catalog snapshots (issue 14, DESIGN §8 "Mirrors"). Each row is one
-- issued document: its canonical bytes exactly as served, their minisign signature,
-- and the facts clients check. version is the catalog's event sequence when it was
-- read (it only grows); a document is re-issued with the same version and a later
-- expiry when half its lifetime has passed, and with a higher version after any
-- catalog change. Only the newest few rows are kept (catalog/snapissue.c prunes).
CREATE TABLE snapshots(
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    version         INTEGER NOT NULL,
    digest          TEXT NOT NULL UNIQUE,        -- "sha256:<hex>" of bytes
    issued_at       TEXT NOT NULL,
    expires         TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    bytes           BLOB NOT NULL,
    signature       TEXT NOT NULL
);

-- Key rotation statements: the new key's public half, signed by the key it replaces,
-- with the date. Clients that pinned the old key follow the chain of these to the
-- current key without trusting anything new on first use; a chain with a gap is
-- refused. statement is canonical JSON {date, kind, new, new_public_key, old}.
CREATE TABLE key_rotations(
    new_id          TEXT PRIMARY KEY REFERENCES keys(id),
    old_id          TEXT NOT NULL REFERENCES keys(id),
    statement       TEXT NOT NULL,
    signature       TEXT NOT NULL,
    created_at      TEXT NOT NULL
);
