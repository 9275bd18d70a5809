-- The Slack adapter (chat/slack). Times are unix ms.
-- Keep in step with the other dialect's 00080_slack.sql.

-- +goose Up
-- slack_seen: what the adapter has already handled, so that Slack's
-- redeliveries (an event retried, the app_mention twin of a message) and
-- replayed HTTP requests (a signature seen before) are handled once, by
-- one replica. A key counts as new again once expires has passed.
CREATE TABLE slack_seen (
    id      TEXT   PRIMARY KEY,
    expires BIGINT NOT NULL
);
CREATE INDEX slack_seen_expires ON slack_seen (expires);

-- +goose Down
DROP TABLE slack_seen;
