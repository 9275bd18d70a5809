package matrix

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"time"

	"github.com/opsbot/opsbot/chat"
)

// Filters of /sync: the first sync only learns the rooms (what was said
// before the bot started is not answered); the next ones get every event.
const (
	firstFilter = `{"room":{"timeline":{"limit":1}},"presence":{"not_types":["*"]}}`
	syncFilter  = `{"room":{"timeline":{"limit":100}},"presence":{"not_types":["*"]}}`
)

// Run logs in (or checks the access token), joins the configured rooms and
// long-polls /sync, delivering inbound messages until ctx ends. A failed
// /sync is retried with backoff from where it left off (the since token),
// so what was said meanwhile arrives afterwards. It returns early only on a
// permanent error (credentials refused).
func (a *Adapter) Run(ctx context.Context, in chan<- chat.Message) error {
	attempt := 0
	wait := func(err error) error {
		if errors.Is(err, chat.ErrPermanent) {
			a.log.Error("matrix: giving up", "err", err)
			return err
		}
		attempt++
		d, limited := chat.RetryAfter(err)
		if !limited || d <= 0 {
			d = backoff(attempt, a.cfg.ReconnectMin, a.cfg.ReconnectMax)
		}
		a.log.Warn("matrix: retrying", "err", err, "in", d)
		select {
		case <-a.clock.After(d):
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	for {
		err := a.authenticate(ctx)
		if err == nil {
			break
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if werr := wait(err); werr != nil {
			return werr
		}
	}
	attempt = 0
	a.log.Info("matrix: connected", "homeserver", a.cfg.Homeserver)
	since := ""
	pending := slices.Clone(a.cfg.Rooms) // configured rooms not joined yet
	var nextJoin time.Time
	for {
		// After the first sync, so that what is said once the bot is in a
		// room comes in the next ones; rooms that failed are tried again
		// every reconnect_max.
		if since != "" && len(pending) > 0 && !a.clock.Now().Before(nextJoin) {
			pending = a.joinAll(ctx, pending)
			nextJoin = a.clock.Now().Add(a.cfg.ReconnectMax)
		}
		resp, err := a.sync(ctx, since)
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if errors.Is(err, errUnauthorized) {
			err = fmt.Errorf("matrix: the access token was refused and no password is configured: %w: %w", chat.ErrPermanent, err)
		}
		if err != nil {
			if werr := wait(fmt.Errorf("matrix: sync: %w", err)); werr != nil {
				return werr
			}
			continue
		}
		attempt = 0
		for _, m := range a.process(ctx, resp, since == "") {
			select {
			case in <- m:
			case <-ctx.Done():
				return ctx.Err()
			}
		}
		since = resp.NextBatch
	}
}

// joinAll joins rooms and returns those it could not join.
func (a *Adapter) joinAll(ctx context.Context, rooms []string) []string {
	var failed []string
	for _, r := range rooms {
		if _, err := a.join(ctx, r); err != nil {
			if ctx.Err() != nil {
				return rooms
			}
			a.log.Warn("matrix: joining a room; trying again later", "room", r, "err", err)
			failed = append(failed, r)
		}
	}
	return failed
}

// authenticate logs in when there is no token, else checks it.
func (a *Adapter) authenticate(ctx context.Context) error {
	if a.accessToken() == "" {
		return a.login(ctx)
	}
	return a.whoami(ctx)
}

// backoff is the wait before the nth attempt in a row: min doubled each
// time up to max, less up to a fifth at random so that replicas spread out.
func backoff(n int, lo, hi time.Duration) time.Duration {
	d := lo
	for i := 1; i < n && d < hi; i++ {
		d *= 2
	}
	d = time.Duration(float64(min(d, hi)) * (1 - rand.Float64()/5))
	return max(lo, d)
}

// syncResponse is the part of a /sync answer the adapter reads.
type syncResponse struct {
	NextBatch string `json:"next_batch"`
	Rooms     struct {
		Join map[string]struct {
			Timeline struct {
				Events  []event `json:"events"`
				Limited bool    `json:"limited"`
			} `json:"timeline"`
			State struct {
				Events []event `json:"events"`
			} `json:"state"`
		} `json:"join"`
		Invite map[string]struct {
			InviteState struct {
				Events []event `json:"events"`
			} `json:"invite_state"`
		} `json:"invite"`
	} `json:"rooms"`
	AccountData struct {
		Events []event `json:"events"`
	} `json:"account_data"`
}

// event is a client event (room_id is left out in /sync).
type event struct {
	Type     string          `json:"type"`
	EventID  string          `json:"event_id"`
	Sender   string          `json:"sender"`
	StateKey *string         `json:"state_key"`
	Content  json.RawMessage `json:"content"`
}

func (a *Adapter) sync(ctx context.Context, since string) (*syncResponse, error) {
	q := url.Values{"filter": {syncFilter}, "timeout": {strconv.FormatInt(a.cfg.SyncTimeout.Milliseconds(), 10)}}
	if since == "" {
		q = url.Values{"filter": {firstFilter}, "timeout": {"0"}}
	} else {
		q.Set("since", since)
	}
	ctx, cancel := context.WithTimeout(ctx, a.cfg.SyncTimeout+a.cfg.PostTimeout)
	defer cancel()
	var resp syncResponse
	if err := a.call(ctx, request{method: "GET", path: "/_matrix/client/v3/sync", query: q, auth: true}, &resp); err != nil {
		return nil, err
	}
	if resp.NextBatch == "" {
		return nil, errors.New("the answer has no next_batch")
	}
	return &resp, nil
}

// join joins a room by ID or alias and returns its ID.
func (a *Adapter) join(ctx context.Context, room string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, a.cfg.PostTimeout)
	defer cancel()
	var out struct {
		RoomID string `json:"room_id"`
	}
	if err := a.call(ctx, request{method: "POST", path: path("/_matrix/client/v3/join/", room), body: map[string]any{}, auth: true}, &out); err != nil {
		return "", fmt.Errorf("matrix: join %s: %w", room, err)
	}
	a.mu.Lock()
	a.room(out.RoomID).joined = true
	if room != out.RoomID {
		a.aliases[room] = out.RoomID
	}
	a.mu.Unlock()
	return out.RoomID, nil
}
