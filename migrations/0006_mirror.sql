-- 0006: `almanacd mirror` state (issue 14). A mirror keeps its own store and
-- database but signs nothing: it serves the upstream's documents and signatures as
-- they came.

-- The upstream keys the mirror trusts: pinned by --upstream-key, trusted on first
-- use, or reached through the upstream's signed rotation statements.
CREATE TABLE mirror_keys(
    id              TEXT PRIMARY KEY,
    public_key      TEXT NOT NULL,               -- the base64 minisign key line
    source          TEXT NOT NULL CHECK (source IN ('pinned','first-use','rotation')),
    added_at        TEXT NOT NULL
);

-- One row: the upstream followed, the highest snapshot version verified (rollback
-- protection survives restarts), and the version served: the newest verified
-- snapshot whose stored artifacts are all held and verified. The served document,
-- its signature and the upstream's keys and rotations are kept byte for byte.
CREATE TABLE mirror_state(
    id              INTEGER PRIMARY KEY CHECK (id = 1),
    upstream        TEXT NOT NULL,
    seen_version    INTEGER NOT NULL DEFAULT -1,
    seen_issued_at  INTEGER NOT NULL DEFAULT 0,
    version         INTEGER,                     -- NULL until the first complete version
    digest          TEXT,
    issued_at       INTEGER,
    expires         INTEGER,
    snapshot        BLOB,
    signature       TEXT,
    keys            TEXT,                        -- GET /v1/keys as the upstream sent it
    rotations       TEXT,                        -- GET /v1/key-rotations, likewise
    synced_at       INTEGER,                     -- last time the upstream was read in full
    event_seq       INTEGER NOT NULL DEFAULT 0   -- newest upstream event seen
);

-- The upstream's signature of each artifact the mirror holds, verified before the
-- bytes were stored; served as is.
CREATE TABLE mirror_signatures(
    sha256          TEXT PRIMARY KEY,
    signature       TEXT NOT NULL,
    key_id          TEXT NOT NULL
);

-- Catalog reads (lines, runtimes, package sets, flags) as the upstream answered
-- them, per path, query and "today", fetched on first request for the served
-- version: what is signed comes from the snapshot, these are only shown.
CREATE TABLE mirror_reads(
    key             TEXT PRIMARY KEY,            -- today + " " + path?query
    version         INTEGER NOT NULL,            -- the served version when fetched
    status          INTEGER NOT NULL,            -- 200 or 404
    body            BLOB NOT NULL
);
