package outbox

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// The states of a post in the outbox.
const (
	StateQueued  = "queued"
	StateSending = "sending"
	StateSent    = "sent"
	StateFailed  = "failed"
)

// Entry is a post in the outbox, for the console and the CLI.
type Entry struct {
	ID   int64     `json:"id"`
	Room chat.Room `json:"room"`
	// Op is post, thread (Target is the parent) or update (Target is the post changed).
	Op     string    `json:"op"`
	Target *chat.Ref `json:"target,omitempty"`
	Post   chat.Post `json:"post"`
	State  string    `json:"state"`
	// Attempts counts every try; Errors the failed ones.
	Attempts int       `json:"attempts"`
	Errors   int       `json:"errors"`
	Enqueued time.Time `json:"enqueued"`
	Finished time.Time `json:"finished,omitzero"`
	// Ref is the delivered post (state sent).
	Ref chat.Ref `json:"ref,omitzero"`
	// Error is the last delivery error.
	Error string `json:"error,omitempty"`
}

type scanner interface{ Scan(dest ...any) error }

func scanEntry(s scanner) (Entry, error) {
	var (
		e                  Entry
		target, post, ref  string
		enqueued, finished int64
	)
	err := s.Scan(&e.ID, &e.Room.Adapter, &e.Room.ID, &e.Room.Name, &e.Op, &target, &post, &e.State,
		&e.Attempts, &e.Errors, &enqueued, &finished, &ref, &e.Error)
	if err != nil {
		return e, err
	}
	e.Enqueued = time.UnixMilli(enqueued)
	if finished != 0 {
		e.Finished = time.UnixMilli(finished)
	}
	if target != "" {
		e.Target = &chat.Ref{}
		if err := json.Unmarshal([]byte(target), e.Target); err != nil {
			return e, fmt.Errorf("post %d: decode target: %w", e.ID, err)
		}
	}
	if err := json.Unmarshal([]byte(post), &e.Post); err != nil {
		return e, fmt.Errorf("post %d: decode post: %w", e.ID, err)
	}
	if ref != "" {
		if err := json.Unmarshal([]byte(ref), &e.Ref); err != nil {
			return e, fmt.Errorf("post %d: decode ref: %w", e.ID, err)
		}
	}
	return e, nil
}

// entry reads row id.
func (o *Outbox) entry(ctx context.Context, id int64) (Entry, error) {
	e, err := scanEntry(o.db.QueryRowContext(ctx, rowSQL, id))
	if err != nil {
		return e, wrap(fmt.Sprintf("read post %d", id), err)
	}
	return e, nil
}

// Entry returns the post with the given ID (a provisional Ref's number).
func (o *Outbox) Entry(ctx context.Context, id int64) (Entry, error) { return o.entry(ctx, id) }

// Failed lists the posts the outbox gave up on, newest first, at most limit
// (0: 100).
func (o *Outbox) Failed(ctx context.Context, limit int) ([]Entry, error) {
	if limit <= 0 {
		limit = 100
	}
	rows, err := o.db.QueryContext(ctx, failedSQL, limit)
	if err != nil {
		return nil, wrap("list failed", err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		e, err := scanEntry(rows)
		if err != nil {
			return nil, wrap("list failed", err)
		}
		out = append(out, e)
	}
	return out, wrap("list failed", rows.Err())
}

// Requeue puts a failed post back in its room's queue, with its failures
// forgotten. It reports false when id names no failed post.
func (o *Outbox) Requeue(ctx context.Context, id int64) (bool, error) {
	e, err := o.entry(ctx, id)
	if noRow(err) {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ok, err := exec(ctx, o.db, requeueSQL, o.clock.Now().UnixMilli(), id)
	if err != nil {
		return false, wrap(fmt.Sprintf("requeue post %d", id), err)
	}
	if ok {
		o.kick(roomKey{e.Room.Adapter, e.Room.ID})
	}
	return ok, nil
}
