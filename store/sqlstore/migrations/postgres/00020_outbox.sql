-- The durable outbox (package outbox): every post of the bot, written here
-- before it is delivered, per room in id order. Keep in step with the other
-- dialect's 00020_outbox.sql: they differ only in the id column.
--
-- op is post, thread (target: the parent chat.Ref as JSON) or update (target:
-- the ref of the post to change); post is the chat.Post as JSON. state is
-- queued, sending (claimed_by holds it until lease_until), sent (ref is the
-- delivered chat.Ref as JSON) or failed (error_text says why). attempts
-- counts every try, errors those that failed (a rate-limit refusal is not a
-- failure). reclaimed is 1 when the last claim took the row over from a
-- claim whose lease ran out (the post may have been delivered twice).
-- Times are unix milliseconds.

-- +goose Up
CREATE TABLE outbox (
    id           BIGSERIAL PRIMARY KEY,
    adapter      TEXT    NOT NULL,
    room         TEXT    NOT NULL,
    room_name    TEXT    NOT NULL DEFAULT '',
    op           TEXT    NOT NULL,
    target       TEXT    NOT NULL DEFAULT '',
    post         TEXT    NOT NULL,
    state        TEXT    NOT NULL,
    attempts     INTEGER NOT NULL DEFAULT 0,
    errors       INTEGER NOT NULL DEFAULT 0,
    reclaimed    INTEGER NOT NULL DEFAULT 0,
    next_attempt BIGINT  NOT NULL DEFAULT 0,
    lease_until  BIGINT  NOT NULL DEFAULT 0,
    claimed_by   TEXT    NOT NULL DEFAULT '',
    enqueued     BIGINT  NOT NULL,
    finished     BIGINT  NOT NULL DEFAULT 0,
    ref          TEXT    NOT NULL DEFAULT '',
    error_text   TEXT    NOT NULL DEFAULT ''
);
CREATE INDEX outbox_pending ON outbox (adapter, room, id) WHERE state IN ('queued', 'sending');
CREATE INDEX outbox_done ON outbox (state, finished);

-- +goose Down
DROP TABLE outbox;
