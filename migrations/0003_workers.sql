-- 0003: the workers registry and end-of-support enforcement (DESIGN §5, §11):
-- registered workers and their pinned locks, the history of each worker's locks,
-- webhooks, and the webhook outbox (one delivery per event and webhook, every
-- attempt recorded).

-- A registered worker: its inputs as given (flags and requirements as JSON arrays
-- of strings) and the lock it is pinned to. runtime and python_line copy the lock's
-- runtime (NULL when the worker has no Python bundle) so the registry can be
-- filtered and grouped without parsing locks. A worker is 'blocked' when the policy
-- had to move it and could not (blocked_reason: JSON {code, message, packages, to},
-- blocked_since: the as_of date that blocked it); it keeps its lock meanwhile.
-- upcoming_notified is the Python line whose coming end was last announced
-- (worker.upcoming), so each end is announced once.
CREATE TABLE workers(
    name TEXT PRIMARY KEY,
    compatibility_date TEXT NOT NULL,
    flags TEXT NOT NULL DEFAULT '[]',
    requirements TEXT NOT NULL DEFAULT '[]',
    allow_experimental INTEGER NOT NULL DEFAULT 0,
    lock_id TEXT NOT NULL REFERENCES locks(id),
    runtime TEXT,
    python_line TEXT,
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active','blocked')),
    blocked_reason TEXT,
    blocked_since TEXT,
    upcoming_notified TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX workers_by_line ON workers(python_line, name);
CREATE INDEX workers_by_runtime ON workers(runtime, name);
CREATE INDEX workers_by_status ON workers(status, name);

-- Every lock a worker was pinned to, in order (seq from 1). kind 'deploy' for
-- PUT /v1/workers/{name}, 'move' for an end-of-support move; event_seq is the
-- events row that recorded it.
CREATE TABLE worker_history(
    name TEXT NOT NULL REFERENCES workers(name) ON DELETE CASCADE,
    seq INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('deploy','move')),
    lock_id TEXT NOT NULL,
    runtime TEXT,
    python_line TEXT,
    reason TEXT NOT NULL,
    event_seq INTEGER,
    at TEXT NOT NULL,
    PRIMARY KEY (name, seq)
) WITHOUT ROWID;

-- Webhooks: events is a JSON array of event kinds ("worker.moved", ...). The
-- secret keys the HMAC of each delivery's body; it is never returned by the API.
CREATE TABLE webhooks(
    id TEXT PRIMARY KEY,
    url TEXT NOT NULL,
    events TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);

-- The outbox: one row per (event, webhook), written in the transaction that
-- recorded the event, sent later by the delivery thread. next_attempt is in Unix
-- milliseconds. state: pending (to send, maybe after failed attempts), delivered
-- (a 2xx answer), failed (attempts exhausted).
CREATE TABLE webhook_deliveries(
    id INTEGER PRIMARY KEY,
    webhook_id TEXT NOT NULL REFERENCES webhooks(id) ON DELETE CASCADE,
    event_seq INTEGER NOT NULL,
    event_kind TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending','delivered','failed')),
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt INTEGER NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    created_at TEXT NOT NULL,
    finished_at TEXT
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries(next_attempt)
    WHERE state = 'pending';
CREATE INDEX webhook_deliveries_by_hook ON webhook_deliveries(webhook_id, id);

-- Every attempt of every delivery: the HTTP status (NULL when no answer) and the
-- transport error, if any.
CREATE TABLE webhook_attempts(
    delivery_id INTEGER NOT NULL REFERENCES webhook_deliveries(id) ON DELETE CASCADE,
    attempt INTEGER NOT NULL,
    at TEXT NOT NULL,
    status_code INTEGER,
    error TEXT,
    duration_ms INTEGER NOT NULL,
    PRIMARY KEY (delivery_id, attempt)
) WITHOUT ROWID;
