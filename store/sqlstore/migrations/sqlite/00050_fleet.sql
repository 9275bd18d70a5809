-- The fleet module's state (see fleet/store.go and docs/fleet.md).
-- Times are unix milliseconds.

-- +goose Up
-- fleet_active is the active colour of each blue-green app as opsbot last
-- set it (the colour itself for apps opsbot keeps, and the previous colour
-- for `switch back` in every case).
CREATE TABLE fleet_active (
    app        TEXT   PRIMARY KEY,
    colour     TEXT   NOT NULL,
    previous   TEXT   NOT NULL DEFAULT '',
    changed_by TEXT   NOT NULL DEFAULT '',
    changed_at BIGINT NOT NULL
);

-- fleet_instances is each instance's health as last announced: a change is
-- announced by whoever moves the row (a compare-and-set), so replicas that
-- poll the same instances announce it once.
CREATE TABLE fleet_instances (
    instance   TEXT   PRIMARY KEY,
    state      TEXT   NOT NULL,
    version    TEXT   NOT NULL DEFAULT '',
    detail     TEXT   NOT NULL DEFAULT '',
    checked_at BIGINT NOT NULL,
    changed_at BIGINT NOT NULL
);

-- +goose Down
DROP TABLE fleet_instances;
DROP TABLE fleet_active;
