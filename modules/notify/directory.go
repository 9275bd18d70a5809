package notify

import (
	"context"
	"errors"
	"strings"

	"github.com/opsbot/opsbot/store"
)

// directory resolves mentions through the store: an opsbot user ("alice" or
// "user:alice") or a group's members ("group:dba") to their chat IDs on an
// adapter.
type directory struct{ st store.Store }

func (d directory) Mentions(ctx context.Context, adapter string, names []string) (ids, unplaced []string) {
	seen := map[string]bool{}
	for _, name := range names {
		var users []store.User
		if g, ok := strings.CutPrefix(name, "group:"); ok {
			ms, err := d.st.Members(ctx, g)
			if err != nil || len(ms) == 0 {
				unplaced = appendNew(unplaced, name)
				continue
			}
			users = ms
		} else {
			u, err := d.st.UserByName(ctx, strings.TrimPrefix(name, "user:"))
			if errors.Is(err, store.ErrNotFound) || err != nil {
				unplaced = appendNew(unplaced, strings.TrimPrefix(name, "user:"))
				continue
			}
			users = []store.User{u}
		}
		for _, u := range users {
			idents, err := d.st.IdentitiesOf(ctx, u.ID)
			placed := false
			if err == nil {
				for _, id := range idents {
					if id.Adapter == adapter {
						placed = true
						if !seen[id.ChatID] {
							seen[id.ChatID] = true
							ids = append(ids, id.ChatID)
						}
					}
				}
			}
			if !placed {
				unplaced = appendNew(unplaced, u.Name)
			}
		}
	}
	return ids, unplaced
}

func appendNew(ss []string, s string) []string {
	for _, x := range ss {
		if x == s {
			return ss
		}
	}
	return append(ss, s)
}
