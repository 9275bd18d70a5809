-- An API token may act as an opsbot user (opsbot token create --user): the
-- APIs that act (POST /api/v1/deployments) apply that user's permissions.
-- Keep in step with the other dialect's 00095_token_user.sql.

-- +goose Up
ALTER TABLE tokens ADD COLUMN user_name TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE tokens DROP COLUMN user_name;
