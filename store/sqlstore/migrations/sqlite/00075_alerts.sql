-- Alerts and their escalation state (alert/store.go, docs/alerts.md,
-- docs/oncall.md). Keep in step with the other dialect's 00075_alerts.sql:
-- they differ only in the id columns. Times are unix milliseconds, 0
-- meaning "not set"; labels and links are JSON text.

-- +goose Up
CREATE TABLE alerts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    fingerprint TEXT    NOT NULL,
    tag         TEXT    NOT NULL,
    source      TEXT    NOT NULL DEFAULT '',
    title       TEXT    NOT NULL,
    body        TEXT    NOT NULL DEFAULT '',
    severity    TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    team        TEXT    NOT NULL DEFAULT '',
    vendor      TEXT    NOT NULL DEFAULT '',
    vendor_id   TEXT    NOT NULL DEFAULT '',
    labels      TEXT    NOT NULL DEFAULT '{}',
    links       TEXT    NOT NULL DEFAULT '[]',
    opened      BIGINT  NOT NULL,
    last_seen   BIGINT  NOT NULL,
    acked       BIGINT  NOT NULL DEFAULT 0,
    acked_by    TEXT    NOT NULL DEFAULT '',
    closed      BIGINT  NOT NULL DEFAULT 0,
    closed_by   TEXT    NOT NULL DEFAULT '',
    -- step counts the escalation steps fired; paged lists who was paged.
    step        INTEGER NOT NULL DEFAULT 0,
    paged       TEXT    NOT NULL DEFAULT '',
    thread_ref  TEXT    NOT NULL DEFAULT ''
);
-- One alert per fingerprint is not closed: a firing event refreshes it.
CREATE UNIQUE INDEX alerts_live_fingerprint ON alerts (fingerprint) WHERE state <> 'closed';
CREATE INDEX alerts_state_opened ON alerts (state, opened);

-- alert_history is each alert's story: opened, escalation steps, acks, closes.
CREATE TABLE alert_history (
    id       INTEGER PRIMARY KEY AUTOINCREMENT,
    alert_id BIGINT NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
    at       BIGINT NOT NULL,
    kind     TEXT   NOT NULL,
    body     TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX alert_history_alert ON alert_history (alert_id, at);

-- +goose Down
DROP TABLE alert_history;
DROP TABLE alerts;
