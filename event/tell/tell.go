// Package tell sends events to opsbot's ingest API, spooling them locally
// when the server can't take them, as `opsbot tell` does: one file per
// event, written atomically (a temp file renamed into place), sent in order
// by the next run.
package tell

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"github.com/opsbot/opsbot/event"
)

// Exit statuses of `opsbot tell`.
const (
	ExitSent     = 0
	ExitRejected = 1
	ExitSpooled  = 75 // EX_TEMPFAIL
)

// ErrRejected is a 4xx answer: the event (or the token) is at fault, and
// sending it again would not help.
var ErrRejected = errors.New("rejected")

// RejectedError is the server's answer to a refused event.
type RejectedError struct {
	Code int
	Msg  string
}

func (e *RejectedError) Error() string { return fmt.Sprintf("rejected (%d): %s", e.Code, e.Msg) }

// Is makes errors.Is(err, ErrRejected) true.
func (e *RejectedError) Is(target error) bool { return target == ErrRejected }

// Client posts events to a server.
type Client struct {
	URL   string // the server's base URL: http://opsbot:8080
	Token string
	HTTP  *http.Client
}

// Send posts one event and returns its ID. An error that is not a
// *RejectedError means "try again later" (unreachable, 5xx, 429).
func (c *Client) Send(ctx context.Context, e event.Event) (string, error) {
	body, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("encode event: %w", err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimRight(c.URL, "/")+"/api/v1/events", bytes.NewReader(body))
	if err != nil {
		return "", fmt.Errorf("%w: %v", ErrRejected, err)
	}
	req.Header.Set("Content-Type", "application/json")
	if c.Token != "" {
		req.Header.Set("Authorization", "Bearer "+c.Token)
	}
	hc := c.HTTP
	if hc == nil {
		hc = &http.Client{Timeout: 15 * time.Second}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", fmt.Errorf("send: %w", err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	var ans struct {
		IDs   []string `json:"ids"`
		Error string   `json:"error"`
	}
	_ = json.Unmarshal(raw, &ans)
	switch {
	case resp.StatusCode == http.StatusAccepted && len(ans.IDs) == 1:
		return ans.IDs[0], nil
	case resp.StatusCode >= 500, resp.StatusCode == http.StatusTooManyRequests, resp.StatusCode == http.StatusRequestTimeout:
		return "", fmt.Errorf("server answered %d: %s", resp.StatusCode, orText(ans.Error, raw))
	case resp.StatusCode >= 400:
		return "", &RejectedError{Code: resp.StatusCode, Msg: orText(ans.Error, raw)}
	}
	return "", fmt.Errorf("unexpected answer %d: %s", resp.StatusCode, orText(ans.Error, raw))
}

func orText(msg string, raw []byte) string {
	if msg != "" {
		return msg
	}
	return strings.TrimSpace(string(raw))
}

// Spool is a directory of events waiting to be sent, one JSON file each,
// named so that they sort in the order they were spooled.
type Spool struct {
	Dir string
	Now func() time.Time
}

// DefaultDir is $XDG_STATE_HOME/opsbot/spool, or ~/.local/state/opsbot/spool.
func DefaultDir() (string, error) {
	if d := os.Getenv("XDG_STATE_HOME"); d != "" {
		return filepath.Join(d, "opsbot", "spool"), nil
	}
	home, err := os.UserHomeDir()
	if err != nil {
		return "", fmt.Errorf("spool directory: %w", err)
	}
	return filepath.Join(home, ".local", "state", "opsbot", "spool"), nil
}

// Put writes e to the spool atomically: a temp file, synced, renamed into
// place, and the directory synced. A reader never sees a partial file.
func (s *Spool) Put(e event.Event) (string, error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	data, err := json.Marshal(e)
	if err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	now := time.Now
	if s.Now != nil {
		now = s.Now
	}
	name := fmt.Sprintf("%020d-%s.json", now().UnixNano(), e.ID)
	tmp, err := os.CreateTemp(s.Dir, ".tmp-*")
	if err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return "", fmt.Errorf("spool: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return "", fmt.Errorf("spool: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	path := filepath.Join(s.Dir, name)
	if err := os.Rename(tmp.Name(), path); err != nil {
		return "", fmt.Errorf("spool: %w", err)
	}
	if d, err := os.Open(s.Dir); err == nil {
		_ = d.Sync()
		d.Close()
	}
	return path, nil
}

// List is the spooled files, oldest first (temp files are not listed).
func (s *Spool) List() ([]string, error) {
	ents, err := os.ReadDir(s.Dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	var out []string
	for _, e := range ents {
		if e.Type().IsRegular() && strings.HasSuffix(e.Name(), ".json") && !strings.HasPrefix(e.Name(), ".") {
			out = append(out, filepath.Join(s.Dir, e.Name()))
		}
	}
	sort.Strings(out)
	return out, nil
}

// Lock takes an exclusive lock on the spool (waiting for another `tell`
// that is flushing), so that two runs don't send the same file; unlock
// releases it.
func (s *Spool) Lock() (unlock func(), err error) {
	if err := os.MkdirAll(s.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(s.Dir, ".lock"), os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, fmt.Errorf("spool: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		f.Close()
		return nil, fmt.Errorf("spool: lock: %w", err)
	}
	return func() { _ = unix.Flock(int(f.Fd()), unix.LOCK_UN); f.Close() }, nil
}

// Result is what a run did.
type Result struct {
	Sent     []string // IDs sent (spooled ones first)
	Spooled  int      // files left in the spool
	Rejected []error  // events the server refused (moved to the spool's rejected/ directory)
	Auth     error    // the token was refused (401/403): the spool is kept
	Err      error    // the last reason to spool
}

// Code is the exit status: 1 when something was rejected, else 75 when
// something is left in the spool, else 0.
func (r Result) Code() int {
	switch {
	case len(r.Rejected) > 0 || r.Auth != nil:
		return ExitRejected
	case r.Spooled > 0:
		return ExitSpooled
	}
	return ExitSent
}

// Run sends the spool, in order, then e (when not nil); whatever can't be
// sent now (unreachable, 5xx) is spooled, and e goes behind the spool so
// order is kept. A 401/403 stops the run with the spool kept; another 4xx
// rejects that one event (a spooled one is moved to rejected/).
func Run(ctx context.Context, c *Client, s *Spool, e *event.Event) (Result, error) {
	var res Result
	unlock, err := s.Lock()
	if err != nil {
		return res, err
	}
	defer unlock()
	files, err := s.List()
	if err != nil {
		return res, err
	}
	blocked := false // the server can't take events now: spool the rest
	for _, f := range files {
		if blocked {
			break
		}
		data, err := os.ReadFile(f)
		if err != nil {
			return res, fmt.Errorf("spool: %w", err)
		}
		var se event.Event
		if err := json.Unmarshal(data, &se); err != nil {
			res.Rejected = append(res.Rejected, fmt.Errorf("%s: not an event: %w", filepath.Base(f), err))
			if err := reject(f); err != nil {
				return res, err
			}
			continue
		}
		id, err := c.Send(ctx, se)
		var rej *RejectedError
		switch {
		case err == nil:
			res.Sent = append(res.Sent, id)
			if err := os.Remove(f); err != nil {
				return res, fmt.Errorf("spool: %w", err)
			}
		case errors.As(err, &rej) && (rej.Code == http.StatusUnauthorized || rej.Code == http.StatusForbidden):
			res.Auth = err
			blocked = true
		case errors.As(err, &rej):
			res.Rejected = append(res.Rejected, fmt.Errorf("spooled event %s: %w", se.ID, err))
			if err := reject(f); err != nil {
				return res, err
			}
		default:
			res.Err = err
			blocked = true
		}
	}
	if e != nil {
		if blocked && res.Auth != nil {
			res.Rejected = append(res.Rejected, res.Auth)
		} else if !blocked {
			id, err := c.Send(ctx, *e)
			switch {
			case err == nil:
				res.Sent = append(res.Sent, id)
			case errors.Is(err, ErrRejected):
				res.Rejected = append(res.Rejected, err)
			default:
				res.Err = err
				blocked = true
			}
		}
		if blocked && res.Auth == nil {
			if _, err := s.Put(*e); err != nil {
				return res, err
			}
		}
	}
	left, err := s.List()
	if err != nil {
		return res, err
	}
	res.Spooled = len(left)
	return res, nil
}

// reject moves a spooled file the server refused to the rejected/ directory.
func reject(f string) error {
	dir := filepath.Join(filepath.Dir(f), "rejected")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	if err := os.Rename(f, filepath.Join(dir, filepath.Base(f))); err != nil {
		return fmt.Errorf("spool: %w", err)
	}
	return nil
}
