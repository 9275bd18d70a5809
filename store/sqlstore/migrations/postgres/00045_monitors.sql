-- Monitors' state (see monitor/ and docs/monitors.md). Times are unix milliseconds.

-- +goose Up
-- monitor_state is each monitor's state as JSON (ok/pending/firing, value,
-- since, what was announced); the silence has its own columns so that a
-- check writing its state never undoes a silence given meanwhile.
CREATE TABLE monitor_state (
    name           TEXT   PRIMARY KEY,
    data           TEXT   NOT NULL,
    silenced_until BIGINT NOT NULL DEFAULT 0,
    silenced_by    TEXT   NOT NULL DEFAULT '',
    updated        BIGINT NOT NULL
);

-- monitor_sources is whether each monitoring source answered at its last
-- check; the change is made by a compare-and-set, so "source unreachable"
-- is announced once, whichever replica or monitor sees it first.
CREATE TABLE monitor_sources (
    name       TEXT    PRIMARY KEY,
    reachable  INTEGER NOT NULL,
    since      BIGINT  NOT NULL,
    error_text TEXT    NOT NULL DEFAULT ''
);

-- +goose Down
DROP TABLE monitor_sources;
DROP TABLE monitor_state;
