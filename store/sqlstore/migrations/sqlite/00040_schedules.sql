-- The scheduler's state (see schedule/ and docs/schedules.md).
-- Times are unix milliseconds.

-- +goose Up
-- schedules holds every schedule: from the config, from chat (reminders)
-- and from modules (ScheduleFunc). last_fire is the latest firing claimed
-- or reported missed: a restarted scheduler continues after it.
CREATE TABLE schedules (
    id         TEXT    PRIMARY KEY,
    owner      TEXT    NOT NULL,
    when_text  TEXT    NOT NULL,
    timezone   TEXT    NOT NULL,
    anchor     BIGINT  NOT NULL,
    action     TEXT    NOT NULL,
    note       TEXT    NOT NULL,
    created_by TEXT    NOT NULL,
    paused     INTEGER NOT NULL DEFAULT 0,
    last_fire  BIGINT  NOT NULL DEFAULT 0,
    next_fire  BIGINT  NOT NULL DEFAULT 0,
    missed     BIGINT  NOT NULL DEFAULT 0,
    updated    BIGINT  NOT NULL
);

-- schedule_firings is the claim of each firing: the primary key makes a
-- (schedule, fire time) run once, across restarts and replicas.
CREATE TABLE schedule_firings (
    schedule_id TEXT   NOT NULL,
    fire_at     BIGINT NOT NULL,
    claimed     BIGINT NOT NULL,
    status      TEXT   NOT NULL,
    error_text  TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (schedule_id, fire_at)
);
CREATE INDEX schedule_firings_claimed ON schedule_firings (claimed);

-- +goose Down
DROP TABLE schedule_firings;
DROP TABLE schedules;
