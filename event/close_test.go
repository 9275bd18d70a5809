package event

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// memLog is a Log in memory whose first Append waits for gate.
type memLog struct {
	mu      sync.Mutex
	events  []Stored
	entered chan struct{}
	gate    chan struct{}
	once    sync.Once
}

func (m *memLog) Append(_ context.Context, evs []Event) ([]Stored, error) {
	m.once.Do(func() {
		close(m.entered)
		<-m.gate
	})
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Stored
	for _, e := range evs {
		s := Stored{Seq: int64(len(m.events) + 1), Event: e}
		m.events = append(m.events, s)
		out = append(out, s)
	}
	return out, nil
}

func (m *memLog) After(context.Context, int64, int) ([]Stored, error) { return nil, nil }
func (m *memLog) Query(context.Context, Filter) ([]Stored, error)     { return nil, nil }

func TestCloseDrainsThenRefuses(t *testing.T) {
	l := &memLog{entered: make(chan struct{}), gate: make(chan struct{})}
	g, err := NewIngester(t.Context(), IngesterOptions{Log: l})
	require.NoError(t, err)
	ctx := t.Context()
	results := make(chan error, 3)
	ingest := func(title string) {
		_, err := g.Ingest(ctx, []Event{{Tag: "a", Title: title}})
		results <- err
	}
	go ingest("first")
	<-l.entered
	go ingest("queued")
	go ingest("queued")
	deadline := time.Now().Add(20 * time.Second)
	for g.Pending() < 2 {
		require.True(t, time.Now().Before(deadline), "the calls did not queue")
		time.Sleep(time.Millisecond)
	}
	closed := make(chan error, 1)
	go func() { closed <- g.Close(ctx) }()
	for {
		g.mu.RLock()
		c := g.closed
		g.mu.RUnlock()
		if c {
			break
		}
		require.True(t, time.Now().Before(deadline), "Close did not begin")
		time.Sleep(time.Millisecond)
	}
	_, err = g.Ingest(ctx, []Event{{Tag: "a", Title: "late"}})
	require.True(t, errors.Is(err, ErrClosed))
	close(l.gate)
	for range 3 {
		require.NoError(t, <-results, "calls queued before Close are stored")
	}
	require.NoError(t, <-closed)
	require.Len(t, l.events, 3)
}
