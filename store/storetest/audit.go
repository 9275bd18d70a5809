package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/opsbot/opsbot/store"
)

func (su suite) testAudit(t *testing.T) {
	ctx := t.Context()
	s := su.store(t)

	full := store.AuditEntry{
		Time: t0, Adapter: "slack", Room: "slack:C1", UserName: "alice", Identity: "slack:U1",
		Text: "deploy api prod", Command: "deploy", Args: map[string]string{"service": "api", "env": "prod"},
		Decision: "pending",
	}
	id, err := s.AppendAudit(ctx, full)
	require.NoError(t, err)
	full.ID = id
	require.NoError(t, s.FinishAudit(ctx, id, "allowed", "error", "exit status 1", 1500*time.Millisecond+7))
	full.Decision, full.Outcome, full.Error, full.Duration = "allowed", "error", "exit status 1", 1500*time.Millisecond+7
	require.ErrorIs(t, s.FinishAudit(ctx, id+1, "allowed", "ok", "", 0), store.ErrNotFound)

	got, err := s.QueryAudit(ctx, store.AuditFilter{})
	require.NoError(t, err)
	require.Equal(t, []store.AuditEntry{full}, got)

	before := time.Now()
	id2, err := s.AppendAudit(ctx, store.AuditEntry{UserName: "guest:slack:U9", Text: "hello", Decision: "unknown"})
	require.NoError(t, err)
	require.Greater(t, id2, id)
	got, err = s.QueryAudit(ctx, store.AuditFilter{Limit: 1})
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, id2, got[0].ID)
	requireNow(t, before, time.Now(), got[0].Time)
	require.Nil(t, got[0].Args)

	t.Run("filters", func(t *testing.T) {
		s := su.store(t)
		add := func(at time.Time, user, command, text string) int64 {
			id, err := s.AppendAudit(ctx, store.AuditEntry{Time: at, UserName: user, Command: command, Text: text})
			require.NoError(t, err)
			return id
		}
		a := add(t0, "alice", "deploy", "Deploy API to PROD")
		b := add(t0.Add(time.Minute), "bob", "deploy", "deploy web")
		c := add(t0.Add(2*time.Minute), "alice", "restart", "restart api 100%_done")
		d := add(t0.Add(3*time.Minute), "alice", "", "Grüße ÄPFEL")

		tests := []struct {
			name   string
			filter store.AuditFilter
			want   []int64
		}{
			{"all, newest first", store.AuditFilter{}, []int64{d, c, b, a}},
			{"user", store.AuditFilter{User: "alice"}, []int64{d, c, a}},
			{"command", store.AuditFilter{Command: "deploy"}, []int64{b, a}},
			{"user and command", store.AuditFilter{User: "alice", Command: "deploy"}, []int64{a}},
			{"text, any case", store.AuditFilter{Text: "api"}, []int64{c, a}},
			{"text upper", store.AuditFilter{Text: "PROD"}, []int64{a}},
			{"text non-ASCII, any case", store.AuditFilter{Text: "äpfel"}, []int64{d}},
			{"text percent is literal", store.AuditFilter{Text: "100%_"}, []int64{c}},
			{"text percent matches nothing else", store.AuditFilter{Text: "%"}, []int64{c}},
			{"text underscore is literal", store.AuditFilter{Text: "_"}, []int64{c}},
			{"text none", store.AuditFilter{Text: "nothing"}, nil},
			{"since, inclusive", store.AuditFilter{Since: t0.Add(time.Minute)}, []int64{d, c, b}},
			{"until, exclusive", store.AuditFilter{Until: t0.Add(2 * time.Minute)}, []int64{b, a}},
			{"since and until", store.AuditFilter{Since: t0.Add(time.Minute), Until: t0.Add(3 * time.Minute)}, []int64{c, b}},
			{"before", store.AuditFilter{Before: c}, []int64{b, a}},
			{"limit", store.AuditFilter{Limit: 2}, []int64{d, c}},
			{"page 2", store.AuditFilter{Limit: 2, Before: c}, []int64{b, a}},
			{"everything", store.AuditFilter{User: "alice", Command: "restart", Text: "API", Since: t0, Until: t0.Add(time.Hour), Before: d, Limit: 5}, []int64{c}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				got, err := s.QueryAudit(ctx, tt.filter)
				require.NoError(t, err)
				require.Equal(t, tt.want, ids(got))
			})
		}
	})

	t.Run("limits", func(t *testing.T) {
		s := su.store(t)
		for i := range 1001 {
			_, err := s.AppendAudit(ctx, store.AuditEntry{Time: t0, Text: fmt.Sprint(i)})
			require.NoError(t, err)
		}
		for _, tt := range []struct{ limit, want int }{{0, 100}, {-1, 100}, {5, 5}, {1000, 1000}, {5000, 1000}} {
			got, err := s.QueryAudit(ctx, store.AuditFilter{Limit: tt.limit})
			require.NoError(t, err)
			require.Len(t, got, tt.want, "limit %d", tt.limit)
		}
	})
}

func ids(entries []store.AuditEntry) []int64 {
	var ids []int64
	for _, e := range entries {
		ids = append(ids, e.ID)
	}
	return ids
}
