package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/opsbot/opsbot/event"
	"github.com/opsbot/opsbot/event/tell"
)

// TellCmd sends an ops message (an event) to opsbot's API, spooling it
// locally when the server can't take it. See docs/tell.md.
type TellCmd struct {
	URL         string            `name:"url" help:"opsbot's URL." env:"OPSBOT_URL" default:"http://127.0.0.1:8080"`
	Token       string            `name:"token" help:"API token with the scope events:write (better from OPSBOT_TOKEN)." env:"OPSBOT_TOKEN"`
	Tag         string            `name:"tag" help:"Dotted lowercase tag, e.g. backup.failed (required unless --flush)."`
	Severity    string            `name:"severity" help:"info, warning or critical." default:"info" enum:"info,warning,critical"`
	Status      string            `name:"status" help:"firing or resolved." default:"firing" enum:"firing,resolved"`
	Room        string            `name:"room" help:"Room to post in (else the routes decide)."`
	Label       map[string]string `name:"label" help:"A label k=v (repeatable)." mapsep:"none"`
	Link        []string          `name:"link" help:"A link URL (repeatable)." sep:"none"`
	Fingerprint string            `name:"fingerprint" help:"Identifies the alert across firing and resolved."`
	Title       string            `name:"title" help:"Title (default: the text's first line)."`
	Source      string            `name:"source" help:"Source of the event." default:"tell"`
	Flush       bool              `name:"flush" help:"Only send the spooled messages."`
	Timeout     time.Duration     `name:"timeout" help:"Time limit of each request." default:"15s"`
	Text        string            `arg:"" optional:"" help:"The message, or - to read it from stdin."`
}

func (c *TellCmd) Run(ctx context.Context) error {
	dir, err := tell.DefaultDir()
	if err != nil {
		return err
	}
	spool := &tell.Spool{Dir: dir}
	client := &tell.Client{URL: c.URL, Token: c.Token, HTTP: &http.Client{Timeout: c.Timeout}}
	var e *event.Event
	if !c.Flush {
		ev, err := c.event(os.Stdin)
		if err != nil {
			return &exitError{code: tell.ExitRejected, err: err}
		}
		e = &ev
	} else if c.Tag != "" || c.Text != "" {
		return &exitError{code: tell.ExitRejected, err: errors.New("--flush sends the spool only: give no --tag nor text")}
	}
	res, err := tell.Run(ctx, client, spool, e)
	if err != nil {
		return err
	}
	for _, id := range res.Sent {
		fmt.Println(id)
	}
	for _, r := range res.Rejected {
		fmt.Fprintln(os.Stderr, "opsbot tell:", r)
	}
	if res.Auth != nil {
		fmt.Fprintln(os.Stderr, "opsbot tell:", res.Auth, "(the spool is kept)")
	}
	switch code := res.Code(); code {
	case tell.ExitSpooled:
		return &exitError{code: code, err: fmt.Errorf("spooled in %s (%d waiting): %v; `opsbot tell --flush` sends them", dir, res.Spooled, res.Err)}
	case tell.ExitRejected:
		return &exitError{code: code, err: errors.New("rejected")}
	}
	return nil
}

// event builds the event from the flags, checked as the server would, so
// that an invalid message is refused now rather than spooled.
func (c *TellCmd) event(stdin io.Reader) (event.Event, error) {
	if c.Tag == "" {
		return event.Event{}, errors.New("--tag is required")
	}
	text := c.Text
	if text == "-" {
		b, err := io.ReadAll(io.LimitReader(stdin, event.MaxText+1))
		if err != nil {
			return event.Event{}, fmt.Errorf("read stdin: %w", err)
		}
		text = strings.TrimRight(string(b), "\n")
	}
	e := event.Event{Tag: c.Tag, Severity: event.Severity(c.Severity), Status: event.Status(c.Status), Title: c.Title,
		Text: text, Labels: c.Label, Room: c.Room, Fingerprint: c.Fingerprint, Source: c.Source}
	for _, l := range c.Link {
		e.Links = append(e.Links, event.Link{URL: l})
	}
	now := time.Now()
	e.ID = event.NewID(now) // the server's retry protection: a resend is not stored twice
	// The time is now, when it happened, even if the event is sent later from the spool.
	evs := []event.Event{e}
	if err := event.NormalizeAll(evs, now, false); err != nil {
		return event.Event{}, err
	}
	return evs[0], nil
}
