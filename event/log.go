package event

import (
	"context"
	"time"
)

// Stored is an event with its position in the stream.
type Stored struct {
	Seq int64 `json:"seq"`
	Event
}

// Filter narrows a query of the event log. Zero fields match everything.
type Filter struct {
	TagPattern string // a tag pattern as for Match ("deploy.*", "alert.**")
	Source     string
	Label      map[string]string // every label must be equal
	Text       string            // substring of title or text, case-insensitive
	Since      time.Time
	Until      time.Time
	Limit      int   // default 100
	Before     int64 // page: events with Seq < Before
}

// Log is the durable stream of events: an event is in the log before it is
// acknowledged to whoever sent it and before anything reacts to it.
type Log interface {
	// Append stores events durably and returns them with their IDs (assigned
	// when empty) and sequence numbers, in order.
	Append(ctx context.Context, events []Event) ([]Stored, error)
	// After returns up to limit events with Seq > seq, in order: how durable
	// consumers (the notify pipeline) read the stream from their cursor.
	After(ctx context.Context, seq int64, limit int) ([]Stored, error)
	// Query returns events matching f, newest first.
	Query(ctx context.Context, f Filter) ([]Stored, error)
}

// Ingester takes events in: validates, appends to the log (batched), and
// then lets subscribers react. Sources (the HTTP API, webhooks, `opsbot
// tell`, monitors, the scheduler, modules) all go through it.
type Ingester interface {
	Ingest(ctx context.Context, events []Event) ([]Stored, error)
}
