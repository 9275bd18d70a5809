-- The event log (event/eventsql), PostgreSQL flavour. Keep in step with
-- ../sqlite/00010_events.sql: the two differ only in the seq column
-- (INTEGER PRIMARY KEY AUTOINCREMENT vs BIGSERIAL).
--
-- seq is the stream's order (never reused); id is the event's identifier,
-- unique so that a sender's retry with the same ID is not stored twice.
-- at is the event's own time, received when it was appended (unix ms).
-- labels and fields are JSON objects, links a JSON array.

-- +goose Up
CREATE TABLE events (
    seq         BIGSERIAL PRIMARY KEY,
    id          TEXT    NOT NULL UNIQUE,
    tag         TEXT    NOT NULL,
    severity    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    title       TEXT    NOT NULL DEFAULT '',
    text        TEXT    NOT NULL DEFAULT '',
    labels      TEXT    NOT NULL DEFAULT '{}',
    fields      TEXT    NOT NULL DEFAULT '{}',
    links       TEXT    NOT NULL DEFAULT '[]',
    room        TEXT    NOT NULL DEFAULT '',
    fingerprint TEXT    NOT NULL DEFAULT '',
    source      TEXT    NOT NULL DEFAULT '',
    at          BIGINT  NOT NULL,
    received    BIGINT  NOT NULL
);
CREATE INDEX events_at ON events (at);

-- +goose Down
DROP TABLE events;
