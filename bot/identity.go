package bot

import (
	"context"
	"errors"
	"fmt"

	"github.com/opsbot/opsbot/chat"
	"github.com/opsbot/opsbot/command"
	"github.com/opsbot/opsbot/store"
)

// Principal resolves a chat identity to the opsbot user it belongs to, or to
// a guest when it is linked to none.
func (b *Bot) Principal(ctx context.Context, id chat.Identity) (command.Principal, error) {
	u, err := b.store.UserByIdentity(ctx, id.Adapter, id.ID)
	if errors.Is(err, store.ErrNotFound) {
		name := id.Name
		if name == "" {
			name = id.ID
		}
		return command.Principal{Name: "guest:" + id.Adapter + ":" + name, Guest: true, Identity: id}, nil
	}
	if err != nil {
		return command.Principal{}, fmt.Errorf("resolve identity %s: %w", id.Key(), err)
	}
	groups, err := b.store.GroupsOf(ctx, u.ID)
	if err != nil {
		return command.Principal{}, fmt.Errorf("groups of %s: %w", u.Name, err)
	}
	return command.Principal{UserID: u.ID, Name: u.Name, Groups: groups, Identity: id}, nil
}
