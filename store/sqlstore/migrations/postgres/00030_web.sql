-- The web console (package web): chat rooms, their message history, login
-- sessions and failed login attempts. Keep in step with the other dialect's
-- 00030_web.sql (they differ only in the id columns). Times are unix ms.

-- +goose Up
CREATE TABLE web_rooms (
    name    TEXT   PRIMARY KEY,
    created BIGINT NOT NULL
);

CREATE TABLE web_messages (
    id      BIGSERIAL PRIMARY KEY,
    room    TEXT    NOT NULL,
    thread  BIGINT  NOT NULL DEFAULT 0,
    author  TEXT    NOT NULL,
    bot     BOOLEAN NOT NULL DEFAULT FALSE,
    post    TEXT    NOT NULL,
    created BIGINT  NOT NULL,
    edited  BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX web_messages_room ON web_messages (room, id);

CREATE TABLE web_sessions (
    hash     TEXT   PRIMARY KEY,
    user_id  BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    csrf     TEXT   NOT NULL,
    created  BIGINT NOT NULL,
    expires  BIGINT NOT NULL
);
CREATE INDEX web_sessions_expires ON web_sessions (expires);

CREATE TABLE web_login_failures (
    id  BIGSERIAL PRIMARY KEY,
    subject TEXT NOT NULL,
    at  BIGINT NOT NULL
);
CREATE INDEX web_login_failures_key ON web_login_failures (subject, at);

-- +goose Down
DROP TABLE web_login_failures;
DROP TABLE web_sessions;
DROP TABLE web_messages;
DROP TABLE web_rooms;
