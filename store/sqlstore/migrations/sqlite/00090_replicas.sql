-- Several replicas on one database (docs/replicas.md). Times are unix ms.
-- Keep in step with the other dialect's 00090_replicas.sql.

-- +goose Up
-- leases: what only one replica may do at a time (a single-connection chat
-- adapter such as IRC, the notify pipeline). A replica holds a lease while
-- expires is in the future and renews it; another takes it over after.
CREATE TABLE leases (
    name     TEXT   PRIMARY KEY,
    holder   TEXT   NOT NULL,
    acquired BIGINT NOT NULL,
    expires  BIGINT NOT NULL
);

-- inbound_claims: each inbound chat message (or button click) is claimed by
-- (adapter, message id) before it is handled, so it is handled once however
-- many replicas receive it. done is set with the first reply (in the same
-- transaction as the reply's outbox row) or when handling ends; a claim
-- still not done after the stale time may be taken over.
CREATE TABLE inbound_claims (
    adapter    TEXT    NOT NULL,
    message_id TEXT    NOT NULL,
    holder     TEXT    NOT NULL,
    claimed    BIGINT  NOT NULL,
    done       BOOLEAN NOT NULL DEFAULT FALSE,
    PRIMARY KEY (adapter, message_id)
);
CREATE INDEX inbound_claims_claimed ON inbound_claims (claimed);

-- Every replica follows the web chat's recent history (web/replicas.go).
CREATE INDEX web_messages_created ON web_messages (created);
CREATE INDEX web_messages_edited ON web_messages (edited);

-- +goose Down
DROP INDEX web_messages_edited;
DROP INDEX web_messages_created;
DROP TABLE inbound_claims;
DROP TABLE leases;
