-- The built-in status page (statuspage/store.go, docs/status-page.md).
-- Keep in step with the other dialect's 00070_status.sql: they differ only
-- in the id columns. Times are unix milliseconds, 0 meaning "not set".

-- +goose Up
-- status_components is each component's current state (a component without
-- a row is operational).
CREATE TABLE status_components (
    name       TEXT   PRIMARY KEY,
    state      TEXT   NOT NULL,
    updated    BIGINT NOT NULL,
    updated_by TEXT   NOT NULL DEFAULT ''
);

-- status_changes is the history of component states.
CREATE TABLE status_changes (
    id         BIGSERIAL PRIMARY KEY,
    component  TEXT   NOT NULL,
    from_state TEXT   NOT NULL,
    to_state   TEXT   NOT NULL,
    by_user    TEXT   NOT NULL DEFAULT '',
    at         BIGINT NOT NULL
);
CREATE INDEX status_changes_at ON status_changes (at);

CREATE TABLE status_incidents (
    id         BIGSERIAL PRIMARY KEY,
    name       TEXT   NOT NULL,
    status     TEXT   NOT NULL,
    impact     TEXT   NOT NULL DEFAULT '',
    components TEXT   NOT NULL DEFAULT '[]',
    created    BIGINT NOT NULL,
    updated    BIGINT NOT NULL,
    resolved   BIGINT NOT NULL DEFAULT 0,
    remote_id  TEXT   NOT NULL DEFAULT ''
);
CREATE INDEX status_incidents_updated ON status_incidents (updated);

-- status_updates is each incident's timeline.
CREATE TABLE status_updates (
    id          BIGSERIAL PRIMARY KEY,
    incident_id BIGINT NOT NULL REFERENCES status_incidents (id) ON DELETE CASCADE,
    status      TEXT   NOT NULL,
    body        TEXT   NOT NULL DEFAULT '',
    by_user     TEXT   NOT NULL DEFAULT '',
    at          BIGINT NOT NULL
);
CREATE INDEX status_updates_incident ON status_updates (incident_id, at);

-- +goose Down
DROP TABLE status_updates;
DROP TABLE status_incidents;
DROP TABLE status_changes;
DROP TABLE status_components;
