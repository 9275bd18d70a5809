package sqlstore

import (
	"context"
	"fmt"

	"github.com/opsbot/opsbot/store"
)

// AddToGroup makes a user a member of group; already being one is not an
// error. store.ErrNotFound if the user doesn't exist.
func (s *Store) AddToGroup(ctx context.Context, userID int64, group string) error {
	_, err := s.db.ExecContext(ctx,
		`INSERT INTO group_members (user_id, group_name) VALUES ($1, $2) ON CONFLICT DO NOTHING`,
		userID, group)
	if err != nil {
		return s.childInsertErr(ctx, err, userID, "add user %d to group %q", userID, group)
	}
	return nil
}

// RemoveFromGroup ends a membership; store.ErrNotFound if the user was not a
// member.
func (s *Store) RemoveFromGroup(ctx context.Context, userID int64, group string) error {
	res, err := s.db.ExecContext(ctx,
		`DELETE FROM group_members WHERE user_id = $1 AND group_name = $2`, userID, group)
	if err := affectedOne(res, err); err != nil {
		return wrap(err, "remove user %d from group %q", userID, group)
	}
	return nil
}

// GroupsOf lists the groups of a user by name (none for an unknown user).
func (s *Store) GroupsOf(ctx context.Context, userID int64) ([]string, error) {
	rows, err := s.db.QueryContext(ctx,
		`SELECT group_name FROM group_members WHERE user_id = $1 ORDER BY group_name`, userID)
	if err != nil {
		return nil, fmt.Errorf("groups of user %d: %w", userID, err)
	}
	defer rows.Close()
	groups := []string{}
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, fmt.Errorf("groups of user %d: %w", userID, err)
		}
		groups = append(groups, g)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("groups of user %d: %w", userID, err)
	}
	return groups, nil
}

// Members lists the users of a group by name (none for an unknown group).
func (s *Store) Members(ctx context.Context, group string) ([]store.User, error) {
	users, err := s.queryUsers(ctx,
		`SELECT u.id, u.name, u.password_hash, u.created
		 FROM group_members g JOIN users u ON u.id = g.user_id
		 WHERE g.group_name = $1 ORDER BY u.name`, group)
	if err != nil {
		return nil, fmt.Errorf("members of group %q: %w", group, err)
	}
	return users, nil
}
