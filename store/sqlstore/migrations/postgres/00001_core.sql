-- Core tables, PostgreSQL flavour. Keep in step with ../sqlite/00001_core.sql:
-- the two files differ only in the id columns (INTEGER PRIMARY KEY
-- AUTOINCREMENT vs BIGSERIAL) and BLOB vs BYTEA.
--
-- Conventions: every time is unix milliseconds UTC in a BIGINT, 0 meaning
-- "not set" (KV expires: never); lists and maps are JSON text.

-- +goose Up
CREATE TABLE users (
    id            BIGSERIAL PRIMARY KEY,
    name          TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL DEFAULT '',
    created       BIGINT  NOT NULL
);

CREATE TABLE identities (
    adapter TEXT    NOT NULL,
    chat_id TEXT    NOT NULL,
    user_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name    TEXT    NOT NULL DEFAULT '',
    PRIMARY KEY (adapter, chat_id)
);
CREATE INDEX identities_user ON identities (user_id);

CREATE TABLE group_members (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    group_name TEXT    NOT NULL,
    PRIMARY KEY (user_id, group_name)
);
CREATE INDEX group_members_group ON group_members (group_name);

CREATE TABLE link_codes (
    code    TEXT    PRIMARY KEY,
    user_id BIGINT  NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires BIGINT  NOT NULL
);

CREATE TABLE rules (
    id         BIGSERIAL PRIMARY KEY,
    permission TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    rooms      TEXT    NOT NULL DEFAULT '[]',
    args       TEXT    NOT NULL DEFAULT '{}',
    created    BIGINT  NOT NULL
);
CREATE INDEX rules_permission_subject ON rules (permission, subject);

CREATE TABLE confirmations (
    id       BIGSERIAL PRIMARY KEY,
    code     TEXT    NOT NULL,
    user_key TEXT    NOT NULL,
    room     TEXT    NOT NULL DEFAULT '',
    command  TEXT    NOT NULL DEFAULT '',
    text     TEXT    NOT NULL DEFAULT '',
    payload  TEXT    NOT NULL DEFAULT '',
    audit_id BIGINT  NOT NULL DEFAULT 0,
    created  BIGINT  NOT NULL,
    expires  BIGINT  NOT NULL,
    resolved TEXT    NOT NULL DEFAULT ''
);
CREATE UNIQUE INDEX confirmations_pending_code ON confirmations (code, user_key) WHERE resolved = '';
CREATE INDEX confirmations_pending_expires ON confirmations (expires) WHERE resolved = '';

CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    at          BIGINT  NOT NULL,
    adapter     TEXT    NOT NULL DEFAULT '',
    room        TEXT    NOT NULL DEFAULT '',
    user_name   TEXT    NOT NULL DEFAULT '',
    identity    TEXT    NOT NULL DEFAULT '',
    text        TEXT    NOT NULL DEFAULT '',
    text_lower  TEXT    NOT NULL DEFAULT '',
    command     TEXT    NOT NULL DEFAULT '',
    args        TEXT    NOT NULL DEFAULT '{}',
    decision    TEXT    NOT NULL DEFAULT '',
    reason      TEXT    NOT NULL DEFAULT '',
    outcome     TEXT    NOT NULL DEFAULT '',
    error_text  TEXT    NOT NULL DEFAULT '',
    duration_ns BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX audit_at ON audit (at);
CREATE INDEX audit_user ON audit (user_name, id);
CREATE INDEX audit_command ON audit (command, id);

CREATE TABLE tokens (
    id        BIGSERIAL PRIMARY KEY,
    name      TEXT    NOT NULL,
    hash      TEXT    NOT NULL UNIQUE,
    scopes    TEXT    NOT NULL DEFAULT '[]',
    created   BIGINT  NOT NULL,
    last_used BIGINT  NOT NULL DEFAULT 0,
    revoked   BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE UNIQUE INDEX tokens_active_name ON tokens (name) WHERE NOT revoked;

CREATE TABLE jobs (
    id         BIGSERIAL PRIMARY KEY,
    kind       TEXT    NOT NULL DEFAULT '',
    command    TEXT    NOT NULL DEFAULT '',
    args       TEXT    NOT NULL DEFAULT '{}',
    user_name  TEXT    NOT NULL DEFAULT '',
    room       TEXT    NOT NULL DEFAULT '',
    thread_ref TEXT    NOT NULL DEFAULT '',
    state      TEXT    NOT NULL,
    resumable  BOOLEAN NOT NULL DEFAULT FALSE,
    started    BIGINT  NOT NULL DEFAULT 0,
    finished   BIGINT  NOT NULL DEFAULT 0,
    exit_code  INTEGER NOT NULL DEFAULT 0,
    error_text TEXT    NOT NULL DEFAULT '',
    payload    TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX jobs_state ON jobs (state, id);

CREATE TABLE job_logs (
    id     BIGSERIAL PRIMARY KEY,
    job_id BIGINT  NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
    chunk  BYTEA   NOT NULL
);
CREATE INDEX job_logs_job ON job_logs (job_id, id);

CREATE TABLE kv (
    ns      TEXT   NOT NULL,
    key     TEXT   NOT NULL,
    value   TEXT   NOT NULL,
    expires BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (ns, key)
);

-- +goose Down
DROP TABLE kv;
DROP TABLE job_logs;
DROP TABLE jobs;
DROP TABLE tokens;
DROP TABLE audit;
DROP TABLE confirmations;
DROP TABLE rules;
DROP TABLE link_codes;
DROP TABLE group_members;
DROP TABLE identities;
DROP TABLE users;
