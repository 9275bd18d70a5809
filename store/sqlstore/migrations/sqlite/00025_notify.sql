-- The notify pipeline's state (see notify/state.go and docs/routes.md).
-- Times are unix milliseconds.

-- +goose Up
-- notify_cursor is how far a consumer has read the event log: events with
-- seq <= the cursor have been routed and their posts handed to the outbox.
CREATE TABLE notify_cursor (
    name    TEXT   PRIMARY KEY,
    seq     BIGINT NOT NULL,
    updated BIGINT NOT NULL
);

-- notify_groups is the notification log: each aggregation group (and the
-- dedup and throttle records of routes without grouping) with what was
-- posted when, as JSON, so repeat_interval, throttle and "resolved" survive
-- restarts.
CREATE TABLE notify_groups (
    route      TEXT   NOT NULL,
    group_key  TEXT   NOT NULL,
    state      TEXT   NOT NULL,
    next_flush BIGINT NOT NULL,
    updated    BIGINT NOT NULL,
    PRIMARY KEY (route, group_key)
);

-- notify_actions records each route action before it runs, so a replay of
-- the log after a crash does not run it twice (actions are at most once).
CREATE TABLE notify_actions (
    route     TEXT   NOT NULL,
    event_seq BIGINT NOT NULL,
    started   BIGINT NOT NULL,
    PRIMARY KEY (route, event_seq)
);
CREATE INDEX notify_actions_started ON notify_actions (started);

-- +goose Down
DROP TABLE notify_actions;
DROP TABLE notify_groups;
DROP TABLE notify_cursor;
