-- 0002: artifacts and signatures (DESIGN §8): per-artifact facts computed while the
-- bytes streamed in, the signing keys (current and retired) and cached signatures.

-- One row per stored artifact, written in the same transaction that marks the
-- artifacts row stored. blake2b is the BLAKE2b-512 of the identity bytes (what a
-- minisign "ED" signature signs); stored_sha256 the SHA-256 of the zstd file (the
-- Repr-Digest of the zstd representation); wasm the parsed module facts (JSON) or
-- NULL when the artifact is not a Wasm module.
CREATE TABLE artifact_facts(
    sha256          TEXT PRIMARY KEY REFERENCES artifacts(sha256) ON DELETE CASCADE,
    blake2b         TEXT NOT NULL,
    stored_sha256   TEXT NOT NULL,
    wasm            TEXT
);

-- Ed25519 signing keys. id is the minisign key id as minisign prints it (16
-- upper-case hex digits of the little-endian key number). The secret key lives in
-- DATA/keys/<id>.key (0600), never in the database. Exactly one key has
-- retired_at NULL: the one that signs; retired keys keep verifying.
CREATE TABLE keys(
    id              TEXT PRIMARY KEY,
    public_key      TEXT NOT NULL,               -- base64("Ed" || keynum || pk)
    created_at      TEXT NOT NULL,
    retired_at      TEXT
);

-- Signatures are made lazily (first request) and kept, one per object and key.
CREATE TABLE signatures(
    kind            TEXT NOT NULL CHECK (kind IN ('artifact','lock')),
    digest          TEXT NOT NULL,               -- sha256 hex of the signed bytes
    key_id          TEXT NOT NULL REFERENCES keys(id),
    text            TEXT NOT NULL,               -- the .minisig file
    created_at      TEXT NOT NULL,
    PRIMARY KEY (kind, digest, key_id)
);
