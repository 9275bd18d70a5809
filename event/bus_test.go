package event

import (
	"context"
	"errors"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestMatch(t *testing.T) {
	for _, tc := range []struct {
		pattern, tag string
		want         bool
	}{
		{"deploy.*", "deploy.started", true},
		{"deploy.*", "deploy", false},
		{"deploy.*", "deploy.api.started", false},
		{"alert.**", "alert", true},
		{"alert.**", "alert.db.down", true},
		{"**", "anything.at.all", true},
		{"alert.*.down", "alert.db.down", true},
		{"alert.*.down", "alert.db.up", false},
		{"Deploy.Started", "deploy.started", true},
		{"a.**.z", "a.b.c.z", true},
		{"a.**.z", "a.z", true},
		{"a.**.z", "a.b.c", false},
	} {
		require.Equal(t, tc.want, Match(tc.pattern, tc.tag), "%s ~ %s", tc.pattern, tc.tag)
	}
}

func TestBusIsolatesFailures(t *testing.T) {
	b := NewBus(nil)
	var got []string
	b.Subscribe("panics", "x.*", func(context.Context, Event) error { panic("boom") })
	b.Subscribe("fails", "x.*", func(context.Context, Event) error { return errors.New("nope") })
	b.Subscribe("works", "x.*", func(_ context.Context, e Event) error { got = append(got, e.Tag); return nil })
	b.Subscribe("other", "y.*", func(_ context.Context, e Event) error { got = append(got, "wrong"); return nil })
	failed := b.Publish(context.Background(), Event{Tag: "x.y"})
	require.Equal(t, 2, failed)
	require.Equal(t, []string{"x.y"}, got)
}
