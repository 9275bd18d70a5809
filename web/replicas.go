package web

import (
	"context"
	"fmt"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// With several replicas behind a load balancer (PostgreSQL), a browser's
// events stream and its messages may reach different replicas. Every replica
// therefore follows the shared history:
//
//   - it pushes to its browsers the messages and edits other replicas wrote
//     (the hub only sees this process's writes), reading the last
//     followWindow of history every followEvery;
//   - it hands the bot the users' messages that no replica has handled: not
//     yet claimed (the replica that stored one died before handing it on),
//     or claimed by a replica that died before replying (a stale claim);
//     the inbound claims (package inbound) make sure one replica handles
//     each.
const (
	followEvery  = 200 * time.Millisecond
	followWindow = 30 * time.Second
	sweepEvery   = 2 * time.Second
	sweepWindow  = 15 * time.Minute
)

// SetReplicated makes the adapter follow the shared history (replicas);
// claimStale is how old an unfinished claim must be to be taken over.
func (a *Adapter) SetReplicated(claimStale time.Duration) {
	a.replicated, a.claimStale = true, claimStale
}

// follow runs the two loops until ctx ends.
func (a *Adapter) follow(ctx context.Context, in chan<- chat.Message) {
	lastSweep := time.Time{}
	for {
		select {
		case <-ctx.Done():
			return
		case <-time.After(followEvery):
		}
		if err := a.pushOthers(ctx); err != nil && ctx.Err() == nil {
			a.m.log.Warn("web chat: follow the history", "err", err)
		}
		if time.Since(lastSweep) >= sweepEvery {
			lastSweep = time.Now()
			if err := a.sweep(ctx, in); err != nil && ctx.Err() == nil {
				a.m.log.Warn("web chat: unhandled messages", "err", err)
			}
		}
	}
}

// pushOthers pushes the recent messages and edits this process has not
// (a.local: what it pushed, by ID, with the edit time pushed).
// The first call only records what is there (browsers load the history).
func (a *Adapter) pushOthers(ctx context.Context) error {
	since := a.m.clk.Now().Add(-followWindow).UnixMilli()
	rows, err := a.m.st.DB().QueryContext(ctx, `SELECT `+messageCols+` FROM web_messages
		WHERE created >= $1 OR edited >= $1 ORDER BY id`, since)
	if err != nil {
		return fmt.Errorf("read history: %w", err)
	}
	var msgs []message
	for rows.Next() {
		msg, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return err
		}
		msgs = append(msgs, msg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	prime := !a.primed
	a.primed = true
	for _, msg := range msgs {
		if prime {
			a.markLocal(msg)
			continue
		}
		edited := int64(0)
		if !msg.Edited.IsZero() {
			edited = msg.Edited.UnixMilli()
		}
		last, known := a.local[msg.ID]
		switch {
		case !known:
			a.m.push(msg, false)
			if edited != 0 {
				a.m.push(msg, true)
			}
		case edited > last:
			a.m.push(msg, true)
		}
	}
	return nil
}

// markLocal records a push this process made. Called with a.mu held.
func (a *Adapter) markLocal(msg message) {
	if a.local == nil {
		a.local = map[int64]int64{}
	}
	e := int64(0)
	if !msg.Edited.IsZero() {
		e = msg.Edited.UnixMilli()
	}
	a.local[msg.ID] = e
	if len(a.local) > 40000 {
		cut := msg.ID - 20000
		for id := range a.local {
			if id < cut {
				delete(a.local, id)
			}
		}
	}
}

// sweep hands the bot the users' messages no replica has handled.
func (a *Adapter) sweep(ctx context.Context, in chan<- chat.Message) error {
	now := a.m.clk.Now()
	rows, err := a.m.st.DB().QueryContext(ctx, `SELECT `+prefixed("m.", messageCols)+` FROM web_messages m
		LEFT JOIN inbound_claims c ON c.adapter = $1 AND c.message_id = $2 || CAST(m.id AS TEXT)
		WHERE m.bot = FALSE AND m.created >= $3 AND m.created < $4
		  AND (c.message_id IS NULL OR (c.done = FALSE AND c.claimed < $5))
		ORDER BY m.id`, Name, msgPrefix, now.Add(-sweepWindow).UnixMilli(), now.Add(-sweepEvery).UnixMilli(), now.Add(-a.claimStale).UnixMilli())
	if err != nil {
		return fmt.Errorf("find unhandled messages: %w", err)
	}
	var msgs []message
	for rows.Next() {
		msg, err := scanMessage(rows)
		if err != nil {
			rows.Close()
			return err
		}
		msgs = append(msgs, msg)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return err
	}
	for _, msg := range msgs {
		if !a.handOn(msg.ID, now) {
			continue // handed to this replica's bot lately: still in its queue
		}
		a.m.log.Debug("web chat: handing on a message no replica has handled yet", "id", msg.ID, "room", msg.Room)
		select {
		case in <- a.chatMessage(msg, nil):
		case <-ctx.Done():
			return nil
		}
	}
	return nil
}

// handOn reports whether a message should be handed to the bot now: not if
// this replica handed it on within the claim's stale time (it waits in the
// bot's queue; handing it again would only fill the queue with duplicates
// under a backlog). It records the hand-over.
func (a *Adapter) handOn(id int64, now time.Time) bool {
	a.handedMu.Lock()
	defer a.handedMu.Unlock()
	if a.handed == nil {
		a.handed = map[int64]time.Time{}
	}
	if at, ok := a.handed[id]; ok && now.Sub(at) < a.claimStale {
		return false
	}
	a.handed[id] = now
	if len(a.handed) > 10000 {
		for k, at := range a.handed {
			if now.Sub(at) > sweepWindow {
				delete(a.handed, k)
			}
		}
	}
	return true
}

func prefixed(p, cols string) string {
	out := ""
	for i, c := range splitCols(cols) {
		if i > 0 {
			out += ", "
		}
		out += p + c
	}
	return out
}

func splitCols(cols string) []string {
	var out []string
	start := 0
	for i := 0; i <= len(cols); i++ {
		if i == len(cols) || cols[i] == ',' {
			c := cols[start:i]
			for len(c) > 0 && c[0] == ' ' {
				c = c[1:]
			}
			out = append(out, c)
			start = i + 1
		}
	}
	return out
}

// msgPrefix starts the chat.Message ID of a web message: "web-42".
const msgPrefix = "web-"

// chatMessage is a stored user message as the bot receives it.
func (a *Adapter) chatMessage(msg message, action *chat.Action) chat.Message {
	cm := chat.Message{
		ID:     msgPrefix + strconv.FormatInt(msg.ID, 10),
		Room:   webRoom(msg.Room),
		From:   chat.Identity{Adapter: Name, ID: msg.Author, Name: msg.Author},
		Text:   msg.Post.Text,
		Action: action,
		Direct: !a.m.cfg.AddressRequired,
	}
	if msg.Thread != 0 {
		t := strconv.FormatInt(msg.Thread, 10)
		cm.Thread = chat.Ref{Room: cm.Room, ID: t, Thread: t}
	}
	return cm
}
