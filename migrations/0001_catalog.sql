-- 0001: the catalog (DESIGN §2): python lines, runtimes, package sets, flags,
-- known artifacts, issued locks, admin tokens and the append-only event log.
CREATE TABLE python_lines(
    line            TEXT PRIMARY KEY,
    first_release   TEXT NOT NULL,
    end_of_support  TEXT NOT NULL,
    notes           TEXT
);

CREATE TABLE runtimes(
    id              TEXT PRIMARY KEY,
    pyodide         TEXT NOT NULL,
    python          TEXT NOT NULL,
    python_line     TEXT NOT NULL REFERENCES python_lines(line),
    emscripten      TEXT NOT NULL,
    abi             TEXT NOT NULL,
    release_date    TEXT NOT NULL,
    state           TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft','published')),
    deprecated      INTEGER NOT NULL DEFAULT 0,
    notes           TEXT,
    created_at      TEXT NOT NULL,
    published_at    TEXT
);

-- Core files of a runtime by role (core-wasm, core-js, loader, stdlib, lock).
CREATE TABLE runtime_artifacts(
    runtime_id      TEXT NOT NULL REFERENCES runtimes(id) ON DELETE CASCADE,
    role            TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    size            INTEGER NOT NULL,
    PRIMARY KEY (runtime_id, role)
);

CREATE TABLE package_sets(
    id              TEXT PRIMARY KEY,
    runtime_id      TEXT NOT NULL REFERENCES runtimes(id),
    date            TEXT NOT NULL,
    info            TEXT NOT NULL DEFAULT '{}',   -- the lock's "info" object, as JSON
    state           TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft','published')),
    deprecated      INTEGER NOT NULL DEFAULT 0,
    notes           TEXT,
    created_at      TEXT NOT NULL,
    published_at    TEXT
);

CREATE TABLE packages(
    set_id          TEXT NOT NULL REFERENCES package_sets(id) ON DELETE CASCADE,
    name            TEXT NOT NULL,               -- PEP 503 normalized
    version         TEXT NOT NULL,
    file_name       TEXT NOT NULL,
    sha256          TEXT NOT NULL,
    depends         TEXT NOT NULL DEFAULT '[]',  -- JSON array, normalized names
    imports         TEXT NOT NULL DEFAULT '[]',  -- JSON array
    package_type    TEXT NOT NULL DEFAULT 'package',
    install_dir     TEXT NOT NULL DEFAULT 'site',
    extra           TEXT NOT NULL DEFAULT '{}',  -- other lock fields, kept for export
    PRIMARY KEY (set_id, name)
);

CREATE TABLE flags(
    name            TEXT PRIMARY KEY,
    disable_flag    TEXT UNIQUE,
    enable_date     TEXT,
    experimental    INTEGER NOT NULL DEFAULT 0,
    description     TEXT NOT NULL DEFAULT '',
    bundle_runtime  TEXT,
    bundle_package_set TEXT,
    bundle_order    INTEGER,
    state           TEXT NOT NULL DEFAULT 'draft' CHECK (state IN ('draft','published')),
    created_at      TEXT NOT NULL,
    published_at    TEXT
);

CREATE TABLE flag_implied(
    flag            TEXT NOT NULL REFERENCES flags(name) ON DELETE CASCADE,
    implied_by      TEXT NOT NULL,
    after           TEXT NOT NULL,
    PRIMARY KEY (flag, implied_by)
);

-- Every digest almanac knows: stored (bytes here) or external (known from a lock).
CREATE TABLE artifacts(
    sha256          TEXT PRIMARY KEY,
    size            INTEGER,                     -- NULL while external and unknown
    stored_size     INTEGER,
    media_type      TEXT NOT NULL DEFAULT 'application/octet-stream',
    file_name       TEXT,
    stored          INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);

-- Issued locks, by id (sha256: of the canonical bytes); immutable.
CREATE TABLE locks(
    id              TEXT PRIMARY KEY,
    bytes           BLOB NOT NULL,
    created_at      TEXT NOT NULL
);

CREATE TABLE tokens(
    id              INTEGER PRIMARY KEY,
    hash            TEXT NOT NULL UNIQUE,        -- hex sha256 of the token
    created_at      TEXT NOT NULL
);

CREATE TABLE events(
    seq             INTEGER PRIMARY KEY AUTOINCREMENT,
    at              TEXT NOT NULL,
    kind            TEXT NOT NULL,
    subject         TEXT NOT NULL,
    data            TEXT NOT NULL DEFAULT '{}'
);
