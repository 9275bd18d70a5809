-- Deployments (deploy/, docs/deployments.md). Times are unix milliseconds,
-- 0 meaning "not set". Keep in step with the other dialect's
-- 00060_deploy.sql: they differ only in the id column.

-- +goose Up
-- deployments: every deployment, whoever started it. Its output is the log
-- of its job (job_id).
CREATE TABLE deployments (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    app         TEXT    NOT NULL,
    env         TEXT    NOT NULL,
    ref         TEXT    NOT NULL,
    sha         TEXT    NOT NULL DEFAULT '',
    task        TEXT    NOT NULL DEFAULT 'deploy',
    hosts       TEXT    NOT NULL DEFAULT '',
    user_name   TEXT    NOT NULL,
    source      TEXT    NOT NULL DEFAULT 'chat',
    room        TEXT    NOT NULL DEFAULT '',
    thread_ref  TEXT    NOT NULL DEFAULT '',
    provider    TEXT    NOT NULL,
    status      TEXT    NOT NULL,
    forced      BOOLEAN NOT NULL DEFAULT FALSE,
    previous_sha TEXT   NOT NULL DEFAULT '',
    job_id      BIGINT  NOT NULL DEFAULT 0,
    github_id   BIGINT  NOT NULL DEFAULT 0,
    description TEXT    NOT NULL DEFAULT '',
    created     BIGINT  NOT NULL,
    started     BIGINT  NOT NULL DEFAULT 0,
    finished    BIGINT  NOT NULL DEFAULT 0
);
CREATE INDEX deployments_app_env ON deployments (app, env, id);
CREATE INDEX deployments_status ON deployments (status);
CREATE INDEX deployments_github ON deployments (github_id);

-- deploy_active: the one deployment under way per app and environment. Its
-- primary key is what refuses a second one, on every replica.
CREATE TABLE deploy_active (
    app           TEXT   NOT NULL,
    env           TEXT   NOT NULL,
    deployment_id BIGINT NOT NULL,
    PRIMARY KEY (app, env)
);

-- deploy_locks: who locked an environment, why, until when (0: until unlocked).
CREATE TABLE deploy_locks (
    app       TEXT   NOT NULL,
    env       TEXT   NOT NULL,
    user_name TEXT   NOT NULL,
    reason    TEXT   NOT NULL DEFAULT '',
    created   BIGINT NOT NULL,
    expires   BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (app, env)
);

-- deploy_auto: auto-deploy switched on or off in chat, overriding the config.
CREATE TABLE deploy_auto (
    app       TEXT    NOT NULL,
    env       TEXT    NOT NULL,
    enabled   BOOLEAN NOT NULL,
    user_name TEXT    NOT NULL,
    updated   BIGINT  NOT NULL,
    PRIMARY KEY (app, env)
);
